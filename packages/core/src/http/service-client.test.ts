import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { isArtError, PROBLEM_CONTENT_TYPE, type ErrorCode } from '../errors.js';
import { createServiceClient, type ServiceClient, type ServiceClientOptions } from './service-client.js';

interface TestServer {
  url: string;
  connections: number;
  requests: IncomingMessage[];
  close(): Promise<void>;
}

async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  const server: Server = createServer((req, res) => {
    state.requests.push(req);
    handler(req, res);
  });
  const state: TestServer = {
    url: '',
    connections: 0,
    requests: [],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** Сервер и клиент, которые закрываются в любом исходе теста. */
async function withClient(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: Partial<ServiceClientOptions>,
  body: (client: ServiceClient, server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startServer(handler);
  const client = createServiceClient({ baseUrl: server.url, name: 'se-test', ...options });
  try {
    await body(client, server);
  } finally {
    await client.close();
    await server.close();
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
): void {
  res.writeHead(status, { 'content-type': contentType });
  res.end(JSON.stringify(body));
}

function problem(
  res: ServerResponse,
  status: number,
  code: string,
  extra: Record<string, unknown> = {},
): void {
  sendJson(
    res,
    status,
    { type: `urn:artstore:error:${code}`, title: 't', status, code, detail: `upstream ${code}`, ...extra },
    PROBLEM_CONTENT_TYPE,
  );
}

const withCode = (code: ErrorCode) => (error: unknown) => isArtError(error, code);

void describe('service client', () => {
  void it('держит keep-alive: пять вызовов — одно соединение; токен, requestId, query и префикс пути', async () => {
    await withClient(
      (req, res) =>
        sendJson(res, 200, {
          url: req.url,
          auth: req.headers.authorization,
          rid: req.headers['x-request-id'],
        }),
      // Одно соединение в пуле: без keep-alive каждый вызов всё равно открывал бы новое.
      { getToken: () => Promise.resolve('tok-1'), maxConnections: 1 },
      async (client, server) => {
        const prefixed = createServiceClient({
          baseUrl: `${server.url}/api/`,
          name: 'se-test',
          getToken: () => Promise.resolve('tok-1'),
        });
        try {
          const first = await prefixed.json<{ url: string; auth: string; rid: string }>('GET', '/files', {
            query: { q: 'отчёт', limit: 5, skip: undefined },
            requestId: 'req-42',
          });
          assert.deepEqual(first, {
            url: '/api/files?q=%D0%BE%D1%82%D1%87%D1%91%D1%82&limit=5',
            auth: 'Bearer tok-1',
            rid: 'req-42',
          });
        } finally {
          await prefixed.close();
        }
        const before = server.connections;
        for (let i = 0; i < 5; i++) await client.json('GET', '/ping');
        assert.equal(server.connections - before, 1);
      },
    );
  });

  void it('таймаут заголовков и общий срок → UPSTREAM_TIMEOUT; отмена вызывающим автомат не трогает', async () => {
    await withClient(
      () => undefined,
      { headersTimeoutMs: 100, breaker: { failureThreshold: 3, resetTimeoutMs: 60_000 } },
      async (client) => {
        await assert.rejects(client.json('GET', '/hang'), withCode('UPSTREAM_TIMEOUT'));
        await assert.rejects(client.json('GET', '/hang', { timeoutMs: 50 }), withCode('UPSTREAM_TIMEOUT'));
        const controller = new AbortController();
        const pending = client.json('GET', '/hang', { signal: controller.signal });
        controller.abort();
        await assert.rejects(pending, { name: 'AbortError' });
        // Два таймаута — отказы, отмена — нет: третьего отказа не было, автомат замкнут.
        assert.equal(client.circuitState, 'closed');
        await assert.rejects(client.json('GET', '/hang'), withCode('UPSTREAM_TIMEOUT'));
        assert.equal(client.circuitState, 'open');
      },
    );
  });

  void it('закрытый порт → UPSTREAM_UNAVAILABLE', async () => {
    const server = await startServer(() => undefined);
    await server.close();
    const client = createServiceClient({ baseUrl: server.url, name: 'se-gone' });
    try {
      await assert.rejects(
        client.json('GET', '/x'),
        (e) => withCode('UPSTREAM_UNAVAILABLE')(e) && String(e).includes('se-gone'),
      );
    } finally {
      await client.close();
    }
  });

  void it('закрытый клиент (SE ушёл из документа обнаружения) → UPSTREAM_UNAVAILABLE, тело-поток не тронуто', async () => {
    const server = await startServer((_req, res) => sendJson(res, 200, {}));
    const client = createServiceClient({ baseUrl: server.url, name: 'se-retired' });
    try {
      await client.close();
      const body = Readable.from([Buffer.from('байты')]);
      await assert.rejects(client.json('POST', '/x', { body }), withCode('UPSTREAM_UNAVAILABLE'));
      assert.equal(body.readableDidRead, false, 'тело читалось — отдать его другому SE уже нельзя');
    } finally {
      await server.close();
    }
  });

  void it('автомат: размыкается после N отказов, отвечает сразу без обращения к сервису, восстанавливается', async () => {
    let now = 0;
    let healthy = false;
    const changes: string[] = [];
    await withClient(
      (_req, res) => (healthy ? sendJson(res, 200, { ok: true }) : problem(res, 500, 'INTERNAL_ERROR')),
      {
        breaker: {
          failureThreshold: 3,
          resetTimeoutMs: 1000,
          now: () => now,
          onStateChange: (s) => changes.push(s),
        },
      },
      async (client, server) => {
        for (let i = 0; i < 3; i++)
          await assert.rejects(client.json('GET', '/x'), withCode('INTERNAL_ERROR'));
        assert.equal(client.circuitState, 'open');
        await assert.rejects(client.json('GET', '/x'), withCode('CIRCUIT_OPEN'));
        assert.equal(server.requests.length, 3, 'разомкнутый автомат не обращается к сервису');

        healthy = true;
        now += 1000;
        assert.deepEqual(await client.json('GET', '/x'), { ok: true });
        assert.equal(client.circuitState, 'closed');
        assert.deepEqual(changes, ['open', 'half-open', 'closed']);
      },
    );
  });

  void it('4xx не размыкает автомат; код upstream из каталога сохраняется, чужой — UPSTREAM_UNAVAILABLE', async () => {
    await withClient(
      (req, res) => {
        if (req.url === '/missing') problem(res, 404, 'FILE_NOT_FOUND', { file_id: 'f-1' });
        else if (req.url === '/range') {
          res.setHeader('content-range', 'bytes */10');
          problem(res, 416, 'RANGE_NOT_SATISFIABLE');
        } else if (req.url === '/foreign') problem(res, 409, 'SOMETHING_ELSE');
        else sendJson(res, 200, { ok: true });
      },
      { breaker: { failureThreshold: 1, resetTimeoutMs: 60_000 } },
      async (client) => {
        for (let i = 0; i < 3; i++) {
          await assert.rejects(
            client.json('GET', '/missing'),
            (e) =>
              withCode('FILE_NOT_FOUND')(e) &&
              e.message === 'upstream FILE_NOT_FOUND' &&
              e.extra?.file_id === 'f-1',
          );
        }
        await assert.rejects(
          client.stream('GET', '/range'),
          (e) => withCode('RANGE_NOT_SATISFIABLE')(e) && e.headers?.['content-range'] === 'bytes */10',
        );
        await assert.rejects(
          client.json('GET', '/foreign'),
          (e) => withCode('UPSTREAM_UNAVAILABLE')(e) && e.extra?.upstream_status === 409,
        );
        assert.equal(client.circuitState, 'closed');
        const proxied = await client.stream('GET', '/ok');
        assert.equal(proxied.status, 200);
        assert.equal(Buffer.concat(await proxied.body.toArray()).toString(), '{"ok":true}');
        const raw = await client.request('GET', '/missing');
        assert.equal(raw.status, 404);
        await finished(raw.body.resume());
      },
    );
  });

  void it('потоковая выгрузка 50 MiB: sha256 совпадает на сервере, backpressure соблюдён', async () => {
    const size = 50 * 1024 * 1024;
    let received = 0;
    await withClient(
      (req, res) => {
        const hash = createHash('sha256');
        req.on('data', (chunk: Buffer) => {
          received += chunk.length;
          hash.update(chunk);
        });
        req.on('end', () => sendJson(res, 201, { sha256: hash.digest('hex'), size: received }));
      },
      {},
      async (client) => {
        const hash = createHash('sha256');
        let maxLead = 0;
        function* chunks(): Generator<Buffer> {
          for (let sent = 0, i = 0; sent < size; sent += 64 * 1024, i++) {
            // Источник не должен убегать от сервера дальше буферов сокета и потоков.
            maxLead = Math.max(maxLead, sent - received);
            const chunk = Buffer.alloc(64 * 1024, i % 251);
            hash.update(chunk);
            yield chunk;
          }
        }
        const result = await client.json<{ sha256: string; size: number }>('PUT', '/upload', {
          body: Readable.from(chunks()),
          headers: { 'content-length': String(size) },
        });
        assert.deepEqual(result, { sha256: hash.digest('hex'), size });
        assert.ok(maxLead < 16 * 1024 * 1024, `источник опередил сервер на ${maxLead} байт`);
      },
    );
  });

  void it('idempotent GET повторяется один раз после обрыва соединения; без флага — нет', async () => {
    let dropNext = true;
    await withClient(
      (req, res) => {
        if (dropNext) {
          dropNext = false;
          req.socket.destroy();
        } else sendJson(res, 200, { ok: true });
      },
      {},
      async (client, server) => {
        assert.deepEqual(await client.json('GET', '/x', { idempotent: true }), { ok: true });
        assert.equal(server.requests.length, 2);
        dropNext = true;
        await assert.rejects(client.json('GET', '/x'), withCode('UPSTREAM_UNAVAILABLE'));
        assert.equal(server.requests.length, 3);
        await assert.rejects(client.json('POST', '/x', { idempotent: true, body: {} }), TypeError);
      },
    );
  });
});
