import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { JwtVerifier } from '../auth/jwt-verifier.js';
import { createPrincipal, type Principal } from '../auth/principal.js';
import { ArtError, type Problem } from '../errors.js';
import { createLogger } from '../logger.js';
import { createServer, type ServerOptions } from './server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ALLOWED_ORIGIN = 'https://ui.artstore.test';

function principal(subject: string, mustChangePassword = false): Principal {
  return createPrincipal({
    subject,
    username: subject,
    kind: 'user',
    roles: ['reader'],
    mustChangePassword,
    tokenId: 'j',
    token: subject,
  });
}

/** Заглушка проверки токенов: «good» и «pending» — известные токены, остальное — 401. */
const verifier: JwtVerifier = {
  verify: (token) => {
    if (token === 'good') return Promise.resolve(principal('user-1'));
    if (token === 'pending') return Promise.resolve(principal('user-2', true));
    return Promise.reject(new ArtError('AUTH_TOKEN_INVALID', 'stub: неизвестный токен'));
  },
};

/** Строки журнала в памяти: проверяем формат журнала запросов (SPEC X-4). */
function captureLog(): { lines: Record<string, unknown>[]; destination: Writable } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, destination };
}

async function makeApp(
  options: Partial<ServerOptions> = {},
  lines?: ReturnType<typeof captureLog>,
): Promise<FastifyInstance> {
  const log = lines ?? captureLog();
  const { app } = await createServer({
    service: 'test-service',
    logger: createLogger({ service: 'test-service', level: 'debug', destination: log.destination }),
    verifier,
    corsOrigins: [ALLOWED_ORIGIN],
    jsonBodyLimit: 1024,
    ...options,
  });
  app.get('/api/boom', () => {
    throw new Error('password=hunter2 at db.connect');
  });
  app.get('/api/forbidden', () => {
    throw new ArtError('FORBIDDEN', 'Нужно разрешение files:delete', {
      extra: { permission: 'files:delete' },
    });
  });
  app.get('/api/me', (request) => ({ subject: request.principal?.subject }));
  app.post(
    '/api/items',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string', minLength: 1 } },
        },
      },
    },
    (request) => ({ created: (request.body as { name: string }).name }),
  );
  app.post('/api/password', { config: { allowPendingPasswordChange: true } }, (request) => ({
    subject: request.principal?.subject,
  }));
  app.get('/api/open', { config: { public: true } }, (request) => ({ principal: request.principal ?? null }));
  app.get('/api/param/:id', { config: { public: true } }, (request) => request.params);
  app.get('/api/throws-string', { config: { public: true } }, () => {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- проверяем именно бросок не-Error
    throw 'secret string';
  });
  return app;
}

interface ReadyBody {
  status: string;
  service: string;
  checks: Record<
    'database' | 'redis' | 'sync' | 'hanging',
    { status: 'ok' | 'fail'; detail?: unknown; error?: string; ms: number }
  >;
}

interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, unknown> | undefined>;
  security: unknown;
}

function assertProblem(
  response: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
  code: string,
): Problem {
  assert.equal(response.statusCode, status);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const body = response.json() as Problem;
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.equal(body.type, `urn:artstore:error:${code}`);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.equal(body.request_id, response.headers['x-request-id'], 'request_id тела = заголовку');
  assert.ok(!('stack' in body), 'стек клиенту не отдаётся');
  return body;
}

describe('createServer: problem+json (SPEC X-8)', () => {
  let app: FastifyInstance;
  const log = captureLog();
  before(async () => {
    app = await makeApp({}, log);
  });
  after(async () => {
    await app.close();
  });

  it('ArtError → полный problem+json с instance без строки запроса и extra-полями', async () => {
    const response = await app.inject({
      url: '/api/forbidden?token=secret',
      headers: { authorization: 'Bearer good' },
    });
    const body = assertProblem(response, 403, 'FORBIDDEN');
    assert.deepEqual(Object.keys(body).sort(), [
      'code',
      'detail',
      'instance',
      'permission',
      'request_id',
      'status',
      'title',
      'type',
    ]);
    assert.equal(body.instance, '/api/forbidden');
    assert.equal(body.detail, 'Нужно разрешение files:delete');
    assert.equal(body.permission, 'files:delete');
  });

  it('обычная ошибка → 500 INTERNAL_ERROR без сообщения и стека; в журнале — полностью', async () => {
    const response = await app.inject({ url: '/api/boom', headers: { authorization: 'Bearer good' } });
    assertProblem(response, 500, 'INTERNAL_ERROR');
    assert.doesNotMatch(response.body, /hunter2|db\.connect|server\.test|\bat /);
    const line = log.lines.find(
      (l) => l.msg === 'request_failed' && l.request_id === response.headers['x-request-id'],
    );
    assert.ok(line, 'ошибка 5xx записана в журнал');
    assert.match(JSON.stringify(line.err), /hunter2/);
  });

  it('некорректный JSON и пустое JSON-тело → 400 MALFORMED_JSON', async () => {
    const headers = { authorization: 'Bearer good', 'content-type': 'application/json' };
    assertProblem(
      await app.inject({ method: 'POST', url: '/api/items', headers, payload: '{"name":' }),
      400,
      'MALFORMED_JSON',
    );
    assertProblem(
      await app.inject({ method: 'POST', url: '/api/items', headers, payload: '' }),
      400,
      'MALFORMED_JSON',
    );
  });

  it('нарушение схемы → 400 VALIDATION_FAILED с перечнем ошибок', async () => {
    const headers = { authorization: 'Bearer good' };
    const response = await app.inject({
      method: 'POST',
      url: '/api/items',
      headers,
      payload: { name: '', extra: 1 },
    });
    const body = assertProblem(response, 400, 'VALIDATION_FAILED');
    assert.ok(Array.isArray(body.errors) && body.errors.length > 0, JSON.stringify(body));
    const ok = await app.inject({ method: 'POST', url: '/api/items', headers, payload: { name: 'x' } });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { created: 'x' });
  });

  it('неподдерживаемый Content-Type → 415, слишком большое тело → 413', async () => {
    const headers = { authorization: 'Bearer good', 'content-type': 'application/xml' };
    assertProblem(
      await app.inject({ method: 'POST', url: '/api/items', headers, payload: '<a/>' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    const big = { name: 'x'.repeat(2048) };
    assertProblem(
      await app.inject({
        method: 'POST',
        url: '/api/items',
        headers: { authorization: 'Bearer good' },
        payload: big,
      }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('неизвестный маршрут → 404 NOT_FOUND и без токена, и с плохим токеном', async () => {
    for (const headers of [{}, { authorization: 'Bearer nonsense' }, { authorization: 'Basic eDp5' }]) {
      const response = await app.inject({ method: 'POST', url: '/api/nope?x=1', headers });
      const body = assertProblem(response, 404, 'NOT_FOUND');
      assert.equal(body.instance, '/api/nope');
    }
    assertProblem(await app.inject({ method: 'DELETE', url: '/api/me' }), 404, 'NOT_FOUND');
  });

  it('ошибки маршрутизатора (битое %-кодирование, слишком длинный параметр) — тоже problem+json', async () => {
    for (const url of ['/api/items/%zz', '/%', `/api/param/${'a'.repeat(300)}`]) {
      const response = await app.inject({ url, headers: { 'x-request-id': 'router-1' } });
      const body = assertProblem(response, 400, 'VALIDATION_FAILED');
      assert.equal(body.request_id, 'router-1');
      assert.equal(response.headers['x-content-type-options'], 'nosniff', 'заголовки безопасности и здесь');
      assert.equal(response.headers['cache-control'], 'no-store');
    }
  });

  it('брошенная не-Error (строка) и ошибка с чужим statusCode → 500 INTERNAL_ERROR', async () => {
    assertProblem(await app.inject({ url: '/api/throws-string' }), 500, 'INTERNAL_ERROR');
  });
});

describe('createServer: аутентификация', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await makeApp();
  });
  after(async () => {
    await app.close();
  });

  it('нет токена → 401 AUTH_TOKEN_MISSING; не Bearer или пустой Bearer → 401 AUTH_TOKEN_INVALID', async () => {
    assertProblem(await app.inject({ url: '/api/me' }), 401, 'AUTH_TOKEN_MISSING');
    assertProblem(
      await app.inject({ url: '/api/me', headers: { authorization: '' } }),
      401,
      'AUTH_TOKEN_MISSING',
    );
    for (const authorization of [
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer ',
      'Bearer a b',
      'Token good',
      'good',
    ]) {
      assertProblem(
        await app.inject({ url: '/api/me', headers: { authorization } }),
        401,
        'AUTH_TOKEN_INVALID',
      );
    }
  });

  it('ошибка проверки токена доходит до клиента как есть; верный токен даёт принципала', async () => {
    const rejected = assertProblem(
      await app.inject({ url: '/api/me', headers: { authorization: 'Bearer other' } }),
      401,
      'AUTH_TOKEN_INVALID',
    );
    assert.equal(rejected.detail, 'stub: неизвестный токен');
    const ok = await app.inject({ url: '/api/me', headers: { authorization: 'bearer good' } });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { subject: 'user-1' });
  });

  it('публичный маршрут не требует токена и не разбирает его', async () => {
    const response = await app.inject({ url: '/api/open', headers: { authorization: 'Bearer good' } });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { principal: null });
    for (const url of ['/health/live', '/health/ready', '/metrics', '/openapi.json']) {
      assert.equal((await app.inject({ url })).statusCode, 200, url);
    }
    assert.equal(
      (await app.inject({ method: 'HEAD', url: '/health/live' })).statusCode,
      200,
      'HEAD-маршрут наследует public',
    );
  });

  it('пароль не сменён → 403 PASSWORD_CHANGE_REQUIRED везде, кроме allowPendingPasswordChange', async () => {
    const headers = { authorization: 'Bearer pending' };
    assertProblem(await app.inject({ url: '/api/me', headers }), 403, 'PASSWORD_CHANGE_REQUIRED');
    assertProblem(
      await app.inject({ method: 'POST', url: '/api/items', headers, payload: { name: 'x' } }),
      403,
      'PASSWORD_CHANGE_REQUIRED',
    );
    const allowed = await app.inject({ method: 'POST', url: '/api/password', headers });
    assert.equal(allowed.statusCode, 200);
    assert.deepEqual(allowed.json(), { subject: 'user-2' });
    assertProblem(await app.inject({ method: 'POST', url: '/api/password' }), 401, 'AUTH_TOKEN_MISSING');
  });

  it('без verifier закрытые маршруты недоступны (503), публичные работают', async () => {
    const bare = await makeApp({ verifier: undefined });
    try {
      assertProblem(
        await bare.inject({ url: '/api/me', headers: { authorization: 'Bearer good' } }),
        503,
        'SERVICE_UNAVAILABLE',
      );
      assertProblem(await bare.inject({ url: '/api/me' }), 401, 'AUTH_TOKEN_MISSING');
      assert.equal((await bare.inject({ url: '/health/live' })).statusCode, 200);
    } finally {
      await bare.close();
    }
  });
});

describe('createServer: request id, заголовки безопасности, CORS', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await makeApp();
  });
  after(async () => {
    await app.close();
  });

  it('x-request-id клиента возвращается, недопустимый или отсутствующий — заменяется UUID', async () => {
    const echoed = await app.inject({ url: '/health/live', headers: { 'x-request-id': 'req-123.abc:9_Z' } });
    assert.equal(echoed.headers['x-request-id'], 'req-123.abc:9_Z');
    const generated = await app.inject({ url: '/health/live' });
    assert.match(String(generated.headers['x-request-id']), UUID);
    for (const bad of ['has space', 'x'.repeat(129), 'a"b', 'ид-запроса', '']) {
      const response = await app.inject({ url: '/health/live', headers: { 'x-request-id': bad } });
      assert.match(String(response.headers['x-request-id']), UUID, JSON.stringify(bad));
    }
    const a = await app.inject({ url: '/health/live' });
    const b = await app.inject({ url: '/health/live' });
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
    const problem = assertProblem(
      await app.inject({ url: '/api/me', headers: { 'x-request-id': 'trace-me' } }),
      401,
      'AUTH_TOKEN_MISSING',
    );
    assert.equal(problem.request_id, 'trace-me');
  });

  it('заголовки безопасности на успешных ответах, ошибках и 404', async () => {
    const responses = [
      await app.inject({ url: '/health/live' }),
      await app.inject({ url: '/api/me' }),
      await app.inject({ url: '/nowhere' }),
      await app.inject({ url: '/api/boom', headers: { authorization: 'Bearer good' } }),
    ];
    for (const response of responses) {
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.equal(response.headers['x-frame-options'], 'DENY');
      assert.equal(response.headers['referrer-policy'], 'no-referrer');
      assert.equal(response.headers['cross-origin-opener-policy'], 'same-origin');
      assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
      assert.equal(response.headers['cache-control'], 'no-store');
    }
  });

  it('CORS: разрешённый источник получает access-control-allow-origin, прочие — нет', async () => {
    const allowed = await app.inject({ url: '/health/live', headers: { origin: ALLOWED_ORIGIN } });
    assert.equal(allowed.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
    assert.equal(allowed.headers['access-control-allow-credentials'], 'true');
    assert.match(String(allowed.headers['access-control-expose-headers']), /x-request-id/);
    for (const origin of [
      'https://evil.test',
      `${ALLOWED_ORIGIN}.evil.test`,
      'null',
      ALLOWED_ORIGIN.toUpperCase(),
    ]) {
      const denied = await app.inject({ url: '/health/live', headers: { origin } });
      assert.equal(denied.headers['access-control-allow-origin'], undefined, origin);
    }
    assert.equal(
      (await app.inject({ url: '/health/live' })).headers['access-control-allow-origin'],
      undefined,
    );
  });

  it('CORS preflight: без токена, разрешённому источнику — методы и заголовки, чужому — ничего', async () => {
    const preflight = (origin: string) =>
      app.inject({
        method: 'OPTIONS',
        url: '/api/items',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
    const allowed = await preflight(ALLOWED_ORIGIN);
    assert.equal(allowed.statusCode, 204);
    assert.equal(allowed.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
    assert.match(String(allowed.headers['access-control-allow-methods']), /POST/);
    assert.equal(allowed.headers['access-control-max-age'], '600');
    // Чужому источнику — явный отказ problem+json без единого заголовка CORS (SPEC AD-11).
    for (const origin of ['https://evil.test', 'null', `${ALLOWED_ORIGIN}.evil.test`]) {
      const denied = await preflight(origin);
      assertProblem(denied, 403, 'CORS_ORIGIN_DENIED');
      assert.equal(denied.headers['access-control-allow-origin'], undefined, origin);
      assert.equal(denied.headers['access-control-allow-methods'], undefined, origin);
      assert.equal(denied.headers['access-control-allow-credentials'], undefined, origin);
    }
  });

  it('CORS строгий: разрешённому источнику — ровно его origin, никогда *; Vary: Origin; заголовки ограничения частоты и tus видны', async () => {
    const allowed = await app.inject({ url: '/api/me', headers: { origin: ALLOWED_ORIGIN, authorization: 'Bearer good' } });
    assert.equal(allowed.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
    assert.equal(allowed.headers['access-control-allow-credentials'], 'true');
    assert.match(String(allowed.headers.vary), /origin/i, 'кеши не смешивают ответы разным источникам');
    const exposed = String(allowed.headers['access-control-expose-headers']).split(/,\s*/);
    const tus = ['location', 'tus-resumable', 'upload-offset', 'upload-length', 'upload-expires', 'artstore-file-id'];
    for (const header of ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', ...tus]) {
      assert.ok(exposed.includes(header), header);
    }
    // Даже «*» в списке не открывает доступ всем: сравнение с источником — точное.
    const wildcard = await makeApp({ corsOrigins: ['*'] });
    try {
      const response = await wildcard.inject({ url: '/health/live', headers: { origin: 'https://evil.test' } });
      assert.equal(response.headers['access-control-allow-origin'], undefined);
      assert.equal(response.headers['access-control-allow-credentials'], undefined);
    } finally {
      await wildcard.close();
    }
  });
});

describe('createServer: /health, /metrics, /openapi.json (SPEC X-2, X-3, X-9)', () => {
  it('/health/live — 200 без проверок зависимостей', async () => {
    const app = await makeApp({ readiness: { db: () => Promise.reject(new Error('down')) } });
    try {
      const response = await app.inject({ url: '/health/live' });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(response.json(), { status: 'ok', service: 'test-service' });
    } finally {
      await app.close();
    }
  });

  it('/health/ready: все проверки прошли — 200 с подробностями по каждой', async () => {
    const app = await makeApp({
      readiness: {
        database: () => Promise.resolve({ version: 16 }),
        redis: () => Promise.resolve(undefined),
      },
    });
    try {
      const response = await app.inject({ url: '/health/ready' });
      assert.equal(response.statusCode, 200);
      const body = response.json<ReadyBody>();
      assert.equal(body.status, 'ready');
      assert.equal(body.service, 'test-service');
      assert.deepEqual(body.checks.database.detail, { version: 16 });
      assert.equal(body.checks.database.status, 'ok');
      assert.equal(body.checks.redis.status, 'ok');
      assert.ok(!('detail' in body.checks.redis));
      assert.equal(typeof body.checks.redis.ms, 'number');
    } finally {
      await app.close();
    }
  });

  it('/health/ready: упавшая, бросившая синхронно и зависшая проверки — 503 с причиной каждой', async () => {
    const app = await makeApp({
      readinessTimeoutMs: 50,
      readiness: {
        database: () => Promise.resolve('ok'),
        redis: () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')),
        sync: () => {
          throw new Error('не настроено');
        },
        hanging: () => new Promise(() => {}),
      },
    });
    try {
      const started = performance.now();
      const response = await app.inject({ url: '/health/ready' });
      assert.ok(performance.now() - started < 2000, 'зависшая проверка ограничена таймаутом');
      assert.equal(response.statusCode, 503);
      const body = response.json<ReadyBody>();
      assert.equal(body.status, 'not_ready');
      assert.equal(body.checks.database.status, 'ok');
      assert.deepEqual(
        [body.checks.redis.status, body.checks.redis.error],
        ['fail', 'ECONNREFUSED 127.0.0.1:6379'],
      );
      assert.deepEqual([body.checks.sync.status, body.checks.sync.error], ['fail', 'не настроено']);
      assert.equal(body.checks.hanging.status, 'fail');
      assert.match(body.checks.hanging.error ?? '', /hanging: нет ответа за 50 мс/);
      assert.ok(body.checks.hanging.ms >= 45, `ms=${body.checks.hanging.ms}`);
    } finally {
      await app.close();
    }
  });

  it('/metrics: гистограмма HTTP с шаблоном маршрута после запроса; процессные метрики', async () => {
    const app = await makeApp();
    try {
      await app.inject({ url: '/api/me?x=1', headers: { authorization: 'Bearer good' } });
      await app.inject({ url: '/nowhere/123' });
      const response = await app.inject({ url: '/metrics' });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^text\/plain/);
      const text = response.body;
      assert.match(text, /# TYPE artstore_http_request_duration_seconds histogram/);
      const bucket = /artstore_http_request_duration_seconds_count\{[^}]*route="\/api\/me"[^}]*\} (\d+)/.exec(
        text,
      );
      assert.ok(
        bucket,
        text
          .split('\n')
          .filter((l) => l.includes('http_request'))
          .join('\n'),
      );
      assert.equal(bucket[1], '1');
      assert.match(
        text,
        /artstore_http_request_duration_seconds_count\{[^}]*method="GET"[^}]*status_code="200"/,
      );
      assert.match(
        text,
        /route="unmatched"[^}]*status_code="404"/,
        'путь неизвестного маршрута не становится меткой',
      );
      assert.doesNotMatch(text, /nowhere/);
      assert.match(text, /service="test-service"/);
      assert.match(text, /artstore_process_cpu_user_seconds_total/);
    } finally {
      await app.close();
    }
  });

  it('/metrics закрыт токеном при publicMetrics: false', async () => {
    const app = await makeApp({ publicMetrics: false });
    try {
      assertProblem(await app.inject({ url: '/metrics' }), 401, 'AUTH_TOKEN_MISSING');
      assert.equal(
        (await app.inject({ url: '/metrics', headers: { authorization: 'Bearer good' } })).statusCode,
        200,
      );
    } finally {
      await app.close();
    }
  });

  it('/openapi.json перечисляет зарегистрированные маршруты, но не служебные', async () => {
    const app = await makeApp({ version: '9.9.9' });
    try {
      const response = await app.inject({ url: '/openapi.json' });
      assert.equal(response.statusCode, 200);
      const doc = response.json<OpenApiDoc>();
      assert.equal(doc.openapi, '3.1.0');
      assert.equal(doc.info.title, 'ArtStore test-service');
      assert.equal(doc.info.version, '9.9.9');
      assert.ok(doc.paths['/api/items']?.post, Object.keys(doc.paths).join(', '));
      assert.ok(doc.paths['/api/me']?.get);
      assert.equal(doc.paths['/health/ready'], undefined);
      assert.equal(doc.paths['/metrics'], undefined);
      assert.deepEqual(doc.security, [{ bearer: [] }]);
    } finally {
      await app.close();
    }
  });
});

describe('createServer: журнал запросов (SPEC X-4)', () => {
  it('одна строка на запрос: request_id, trace_id, путь без строки запроса; служебные — debug', async () => {
    const log = captureLog();
    const app = await makeApp({}, log);
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      await app.inject({
        url: '/api/me?token=secret-link',
        headers: {
          authorization: 'Bearer good',
          'x-request-id': 'log-1',
          traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        },
      });
      await app.inject({ url: '/health/live', headers: { 'x-request-id': 'log-2' } });
      await app.inject({
        url: '/health/ready',
        headers: { 'x-request-id': 'log-3', traceparent: 'garbage' },
      });
      const completed = log.lines.filter((l) => l.msg === 'request_completed');
      assert.equal(log.lines.filter((l) => l.request_id === 'log-1').length, 1, 'одна строка на запрос');
      const api = completed.find((l) => l.request_id === 'log-1');
      assert.ok(api);
      assert.equal(api.level, 'info');
      assert.equal(api.trace_id, traceId);
      assert.equal(api.path, '/api/me');
      assert.equal(api.method, 'GET');
      assert.equal(api.status, 200);
      assert.equal(typeof api.ms, 'number');
      assert.equal(api.service, 'test-service');
      assert.doesNotMatch(JSON.stringify(log.lines), /secret-link|Bearer good/);
      assert.equal(completed.find((l) => l.request_id === 'log-2')?.level, 'debug');
      const ready = completed.find((l) => l.request_id === 'log-3');
      assert.equal(ready?.level, 'debug');
      assert.ok(!('trace_id' in ready), 'некорректный traceparent не даёт trace_id');
      assert.ok(!log.lines.some((l) => l.msg === 'incoming request' || l.msg === 'request completed'));
    } finally {
      await app.close();
    }
  });

  it('ошибки 4xx служебных маршрутов не прячутся на debug', async () => {
    const log = captureLog();
    const app = await makeApp({ publicMetrics: false }, log);
    try {
      await app.inject({ url: '/metrics', headers: { 'x-request-id': 'm-1' } });
      const line = log.lines.find((l) => l.msg === 'request_completed' && l.request_id === 'm-1');
      assert.equal(line?.level, 'info');
      assert.equal(line.status, 401);
    } finally {
      await app.close();
    }
  });
});

/** Сырой HTTP/1.1-запрос: fetch и inject не доходят до ограничений парсера Node. */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => resolve(data));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' && data ? resolve(data) : reject(error),
    );
    socket.write(request);
  });
}

describe('createServer: слишком большие заголовки (реальный сокет)', () => {
  it('заголовки сверх maxHeaderSize → 431 problem+json; обычный запрос проходит', async () => {
    const app = await makeApp({ maxHeaderSize: 4096 });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as { port: number };
      const ok = await rawRequest(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(ok, /^HTTP\/1\.1 200 /);
      const huge = await rawRequest(
        port,
        `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8192)}\r\n\r\n`,
      );
      assert.match(huge, /^HTTP\/1\.1 431 /);
      assert.match(huge, /content-type: application\/problem\+json/i);
      const body = JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4)) as Problem;
      assert.equal(body.status, 431);
      assert.equal(body.code, 'HEADERS_TOO_LARGE');
      const malformed = await rawRequest(port, 'NOT-HTTP\r\n\r\n');
      assert.match(malformed, /^HTTP\/1\.1 400 /);
      assert.equal(
        (JSON.parse(malformed.slice(malformed.indexOf('\r\n\r\n') + 4)) as Problem).code,
        'VALIDATION_FAILED',
      );
    } finally {
      await app.close();
    }
  });
});

describe('createServer: остановка при зависшем соединении', () => {
  it('клиент прислал половину запроса и замолчал: close() закрывает соединение после shutdownGraceMs', async () => {
    const app = await makeApp({ shutdownGraceMs: 300 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    // Заголовки с длиной тела и часть тела: для Node это незавершённый запрос, а не простаивающее соединение.
    socket.write('POST /api/boom HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nчасть');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await app.close();
    const took = performance.now() - started;
    await closed;
    assert.ok(took >= 250 && took < 3000, `остановка заняла ${took.toFixed(0)} мс`);
  });
});

describe('createServer: адрес клиента за доверенным прокси', () => {
  it('X-Forwarded-For учитывается только от прокси из trustedProxies', async () => {
    for (const [trustedProxies, expected] of [
      [['127.0.0.1'], '203.0.113.7'],
      [[], '127.0.0.1'],
    ] as const) {
      const app = await makeApp({ trustedProxies });
      app.get('/api/ip', { config: { public: true } }, (request) => ({ ip: request.ip }));
      try {
        const response = await app.inject({ url: '/api/ip', headers: { 'x-forwarded-for': '203.0.113.7' } });
        assert.deepEqual(response.json(), { ip: expected }, `trustedProxies ${JSON.stringify(trustedProxies)}`);
      } finally {
        await app.close();
      }
    }
  });
});
