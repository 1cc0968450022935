// Инструменты e2e-тестов ingester: ingester отдельным процессом `artstore start ingester-module` перед
// SE-процессами (se-crash-kit.ts) и загрузка телом-генератором, которая знает, сколько уже отправила.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { freePort, type CleanupStack, type TestTokenIssuer } from '@artstore/core/testing';
import { stringify } from 'yaml';
import { spawnService, waitServiceReady, type ServiceProcess } from './harness.js';

export interface IngesterProcess {
  url: string;
  process: ServiceProcess;
}

/** ingester со статическим списком SE (обнаружение без admin-module, SPEC AD-8) на своей PGlite. */
export async function startIngesterProcess(
  issuer: TestTokenIssuer,
  elements: { id: string; url: string; priority?: number }[],
  cleanup: CleanupStack,
  /** Ключи конфигурации поверх стандартных (например, database). */
  overrides: Record<string, unknown> = {},
): Promise<IngesterProcess> {
  const workDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-ingester-'));
  cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = join(workDir, 'ingester.yaml');
  await writeFile(
    configFile,
    stringify({
      data_dir: join(workDir, 'data'),
      log: { level: 'warn' },
      services: { ingester: { host: '127.0.0.1', port } },
      auth: { jwt: issuer.jwtConfig },
      storage_elements: elements,
      ...overrides,
    }),
  );
  const process = spawnService('ingester-module', configFile, { cwd: workDir, cleanup });
  await waitServiceReady(url, process);
  return { url, process };
}

export interface StreamedUpload {
  status: number;
  body: string;
  /** sha256 всех отправленных байтов. */
  sha256: string;
}

/**
 * Сырая загрузка `POST /api/files` телом-генератором (повтор одного случайного блока 256 КиБ — в памяти
 * клиента ничего не копится); onSent — сколько байтов уже отдано. Ответ приходит как есть (и 5xx);
 * обрыв соединения — тоже ответ (status 0), а не исключение.
 */
export function uploadStream(
  url: string,
  token: string,
  size: number,
  options: { name?: string; onSent?: (sent: number) => void } = {},
): Promise<StreamedUpload> {
  let sent = 0;
  const block = randomBytes(256 * 1024);
  const hash = createHash('sha256');
  const body = new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const piece = block.subarray(0, Math.min(block.length, size - sent));
      sent += piece.length;
      hash.update(piece);
      options.onSent?.(sent);
      this.push(piece);
    },
  });
  return new Promise((resolve) => {
    const done = (status: number, text: string) =>
      resolve({ status, body: text, sha256: hash.copy().digest('hex') });
    const request = http.request(`${url}/api/files?name=${encodeURIComponent(options.name ?? 'big.bin')}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        'content-length': String(size),
      },
    });
    request.once('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (d: string) => (text += d));
      response.once('end', () => done(response.statusCode ?? 0, text));
      response.once('error', () => done(response.statusCode ?? 0, text));
    });
    request.once('error', (error) => done(0, error.message));
    body.pipe(request);
  });
}
