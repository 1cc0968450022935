// artstore upload | search | download — работа с файлами через точку входа.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FileRecord, SearchResponse, UploadResponse } from '@artstore/contracts';
import { CliError, type ApiClient } from '../client.js';
import { progressMeter } from '../progress.js';

export async function uploadFiles(
  client: ApiClient,
  paths: string[],
  options: { description?: string; tags?: string; storageElement?: string; contentType?: string },
): Promise<UploadResponse['files']> {
  const uploaded: UploadResponse['files'] = [];
  for (const path of paths) {
    const info = await stat(path);
    const query = new URLSearchParams({ name: basename(path) });
    if (options.description) query.set('description', options.description);
    if (options.tags) query.set('tags', options.tags);
    if (options.storageElement) query.set('storage_element', options.storageElement);
    const meter = progressMeter(basename(path), info.size);
    const source = createReadStream(path).pipe(meter);
    const response = await client.call('POST', `/api/files?${query.toString()}`, {
      body: source,
      headers: { 'content-type': options.contentType ?? 'application/octet-stream', 'content-length': String(info.size) },
    });
    meter.finish();
    const body = (await response.body.json()) as UploadResponse;
    uploaded.push(...body.files);
  }
  return uploaded;
}

export async function searchFiles(client: ApiClient, q: string, limit: number): Promise<SearchResponse> {
  return client.json<SearchResponse>('GET', `/api/search?${new URLSearchParams({ q, limit: String(limit) }).toString()}`);
}

/** Пишет во временный файл рядом и переименовывает, только если sha256 совпал с ETag записи. */
export async function downloadFile(client: ApiClient, id: string, output?: string): Promise<{ path: string; record: FileRecord }> {
  const record = await client.json<FileRecord>('GET', `/api/files/${encodeURIComponent(id)}`);
  const target = resolve(output ?? safeLocalName(record.name));
  const temp = `${target}.part-${process.pid}`;
  const response = await client.call('GET', `/api/files/${encodeURIComponent(id)}/content`);
  const length = Number(response.headers['content-length']);
  const meter = progressMeter(record.name, Number.isFinite(length) ? length : undefined);
  const hash = createHash('sha256');
  meter.on('data', (chunk: Buffer) => hash.update(chunk));
  try {
    await pipeline(response.body, meter, createWriteStream(temp, { flags: 'wx' }));
    meter.finish();
    const digest = hash.digest('hex');
    if (digest !== record.sha256) throw new CliError(`Контрольная сумма не совпала: ожидалось ${record.sha256}, получено ${digest}`);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return { path: target, record };
}

/** Имя для локального файла: без разделителей каталогов, чтобы имя с сервера не вывело запись за пределы каталога. */
function safeLocalName(name: string): string {
  // eslint-disable-next-line no-control-regex -- управляющие символы в имени файла и надо вырезать
  const cleaned = name.replace(/[/\\:*?"<>|\u0000-\u001f]/g, '_').replace(/^\.+/, '_');
  return cleaned === '' ? 'download' : cleaned;
}
