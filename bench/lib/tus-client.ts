// Клиент tus 1.0 для бенчмарка: creation (`POST /api/uploads`) и последовательные `PATCH` кусками
// заданного размера из потока — то, что делает любой tus-клиент при отправке файла с начала. Куски
// собираются из потока по одному: в памяти не больше одного куска.
import http from 'node:http';
import type { Readable } from 'node:stream';

export interface TusUploadOptions {
  base: string;
  token: string;
  name: string;
  size: number;
  chunkSize: number;
  body: Readable;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, agent }, resolve);
    request.once('error', reject);
    request.end(body);
  });
}

async function drain(response: http.IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of response) text += String(chunk);
  return text;
}

/** Куски ровно по chunkSize (последний — остаток) из потока тела. */
async function* chunks(body: Readable, chunkSize: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const piece of body) {
    let rest = piece as Buffer;
    while (length + rest.length >= chunkSize) {
      const take = chunkSize - length;
      yield Buffer.concat([...pending, rest.subarray(0, take)]);
      rest = rest.subarray(take);
      pending = [];
      length = 0;
    }
    if (rest.length > 0) {
      pending.push(rest);
      length += rest.length;
    }
  }
  if (length > 0) yield Buffer.concat(pending);
}

/** Загружает файл по tus; возвращает принятый объём (последний Upload-Offset) и id файла. */
export async function tusUpload(options: TusUploadOptions): Promise<{ size: number; id: string }> {
  const auth = { authorization: `Bearer ${options.token}`, 'tus-resumable': '1.0.0' };
  const created = await send(new URL('/api/uploads', options.base), 'POST', {
    ...auth,
    'upload-length': String(options.size),
    'upload-metadata': `filename ${Buffer.from(options.name).toString('base64')}`,
  });
  const createdText = await drain(created);
  const location = created.headers.location;
  if (created.statusCode !== 201 || location === undefined) {
    throw new Error(`tus: создание загрузки: HTTP ${created.statusCode} ${createdText.slice(0, 300)}`);
  }
  const url = new URL(location, options.base);
  let offset = 0;
  let id = '';
  for await (const chunk of chunks(options.body, options.chunkSize)) {
    const response = await send(
      url,
      'PATCH',
      { ...auth, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
      chunk,
    );
    const text = await drain(response);
    if (response.statusCode !== 204)
      throw new Error(`tus: PATCH @${offset}: HTTP ${response.statusCode} ${text.slice(0, 300)}`);
    offset = Number(response.headers['upload-offset']);
    id = String(response.headers['artstore-file-id'] ?? id);
  }
  if (id === '') throw new Error('tus: последний PATCH не вернул Artstore-File-Id');
  return { size: offset, id };
}
