// Эталон для отношений: голый node:http без фреймворка, авторизации, индекса и метаданных.
// Загрузка — тело потоком в файл и fsync в конце (иначе сравнение с SE, который делает fsync,
// было бы нечестным); выдача — файл потоком с диска. Запускается отдельным процессом, чтобы не
// делить цикл событий с клиентом и чтобы его RSS был виден отдельно.
// Аргументы: <порт> <каталог данных>. Готовность: GET /health → 200.
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const [portArgument, dataDir] = process.argv.slice(2);
if (!portArgument || !dataDir) {
  console.error('использование: baseline-server.ts <порт> <каталог данных>');
  process.exit(2);
}

let counter = 0;

async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (request.method === 'GET' && url.pathname === '/health') {
    response.end('ok');
    return;
  }
  if (request.method === 'POST' && url.pathname === '/api/files') {
    const id = String(++counter);
    // flush: true — fsync перед закрытием дескриптора; так же пишет байты LocalFsBlobStore.
    const sink = createWriteStream(join(dataDir!, id), { flags: 'wx', flush: true });
    await pipeline(request, sink);
    const size = sink.bytesWritten;
    const body = JSON.stringify({ files: [{ id, size }] });
    response.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
    return;
  }
  const content = /^\/api\/files\/(\d+)\/content$/.exec(url.pathname);
  if (request.method === 'GET' && content) {
    const path = join(dataDir!, content[1]!);
    const info = await stat(path).catch(() => undefined);
    if (!info) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': info.size });
    await pipeline(createReadStream(path), response);
    return;
  }
  response.writeHead(404).end();
}

const server = http.createServer({ keepAliveTimeout: 75_000 }, (request, response) => {
  handle(request, response).catch((error: unknown) => {
    if (response.headersSent) response.destroy(error as Error);
    else response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(String(error));
  });
});
server.listen(Number(portArgument), '127.0.0.1');
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
