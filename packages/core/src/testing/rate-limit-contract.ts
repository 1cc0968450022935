// Контрактный набор ограничения частоты запросов (SPEC AD-11) поверх реализации порта Coordination:
// сервер createServer с настоящим счётом в Redis или в процессе — бюджеты, заголовки, блокировка и
// общий бюджет экземпляров. Запускается из тестов адаптеров для каждой реализации.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { JwtVerifier } from '../auth/jwt-verifier.js';
import { createPrincipal } from '../auth/principal.js';
import { ArtError, type Problem } from '../errors.js';
import { createServer } from '../http/server.js';
import type { RateLimitPolicy, RateLimitStore } from '../http/rate-limit.js';
import type { CoordinationFactory } from './coordination-contract.js';
import { createMemoryLogger, type MemoryLogger } from './memory-logger.js';

/** Токен «good-<субъект>» — проверенный токен этого субъекта; прочие — 401. */
const verifier: JwtVerifier = {
  verify: (token) =>
    token.startsWith('good-')
      ? Promise.resolve(
          createPrincipal({
            subject: token.slice(5),
            username: token,
            kind: 'user',
            roles: ['reader'],
            mustChangePassword: false,
            tokenId: token,
            token,
          }),
        )
      : Promise.reject(new ArtError('AUTH_TOKEN_INVALID', 'stub: неизвестный токен')),
};

const RELAXED: RateLimitPolicy = {
  windowMs: 60_000,
  maxAnonymous: 3,
  maxAuthenticated: 5,
  maxAuthEndpoints: 2,
  blockAfter: 0,
  blockForMs: 60_000,
};

export interface LimitedApp {
  app: FastifyInstance;
  log: MemoryLogger;
  /** Запрос с адреса ip (через доверенный прокси) и, если задан, токеном «good-<subject>» или любым. */
  hit: (options: {
    ip: string;
    url?: string;
    method?: 'GET' | 'POST';
    token?: string;
  }) => Promise<LightMyRequestResponse>;
}

/**
 * Сервер с ограничением частоты над store: закрытый /api/things, открытый /api/open, вход /api/auth/login
 * и JWKS. Имя сервиса — часть ключей счёта: экземпляры с одним именем делят бюджет.
 */
export async function startLimitedApp(
  store: RateLimitStore,
  policy: Partial<RateLimitPolicy> & { service?: string; storeTimeoutMs?: number } = {},
): Promise<LimitedApp> {
  const log = createMemoryLogger('info');
  const { service = `svc-${randomUUID()}`, ...limits } = policy;
  const { app } = await createServer({
    service,
    logger: log.logger,
    verifier,
    trustedProxies: ['127.0.0.1'],
    rateLimit: { store, ...RELAXED, ...limits },
  });
  app.get('/api/things', () => ({ ok: true }));
  app.get('/api/open', { config: { public: true } }, () => ({ ok: true }));
  app.post('/api/auth/login', { config: { public: true } }, () => ({ ok: true }));
  app.get('/.well-known/jwks.json', { config: { public: true } }, () => ({ keys: [] }));
  return {
    app,
    log,
    hit: ({ ip, url = '/api/open', method = 'GET', token }) =>
      app.inject({
        method,
        url,
        headers: {
          'x-forwarded-for': ip,
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
      }),
  };
}

/** Ответ 429 с этим кодом: problem+json, Retry-After в пределах maxSeconds и то же число в теле. */
export function assertTooMany(
  response: LightMyRequestResponse,
  code: 'RATE_LIMITED' | 'CLIENT_BLOCKED',
  maxSeconds: number,
): number {
  assert.equal(response.statusCode, 429, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const problem = response.json<Problem>();
  assert.equal(problem.code, code);
  const retryAfter = Number(response.headers['retry-after']);
  assert.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxSeconds,
    `Retry-After ${String(response.headers['retry-after'])}`,
  );
  assert.equal(problem.retry_after_seconds, retryAfter);
  return retryAfter;
}

const statuses = async (requests: (() => Promise<LightMyRequestResponse>)[]): Promise<number[]> => {
  const result: number[] = [];
  for (const request of requests) result.push((await request()).statusCode);
  return result;
};
const times = <T>(n: number, fn: () => T): T[] => Array.from({ length: n }, fn);

export function rateLimitContract(name: string, factory: CoordinationFactory): void {
  void describe(`Ограничение частоты запросов над координацией: ${name}`, () => {
    const opened: { close(): Promise<void> }[] = [];
    const open = async (policy?: Parameters<typeof startLimitedApp>[1]): Promise<LimitedApp> => {
      const store = await factory();
      opened.push(store);
      const limited = await startLimitedApp(store, policy);
      opened.push(limited.app);
      return limited;
    };
    afterEach(async () => {
      for (const handle of opened.splice(0).reverse()) await handle.close();
    });

    void it('N запросов адреса проходят с RateLimit-заголовками, N+1-й — 429 RATE_LIMITED; у другого адреса и у субъекта токена свои бюджеты', async () => {
      const { hit } = await open();
      for (const remaining of [2, 1, 0]) {
        const response = await hit({ ip: '203.0.113.1' });
        assert.equal(response.statusCode, 200);
        assert.equal(response.headers['ratelimit-limit'], '3');
        assert.equal(response.headers['ratelimit-remaining'], String(remaining));
        const reset = Number(response.headers['ratelimit-reset']);
        assert.ok(reset >= 1 && reset <= 60, `RateLimit-Reset ${reset}`);
      }
      const limited = await hit({ ip: '203.0.113.1' });
      assertTooMany(limited, 'RATE_LIMITED', 60);
      assert.equal(limited.headers['ratelimit-remaining'], '0');
      assert.equal((await hit({ ip: '203.0.113.2' })).statusCode, 200, 'другой адрес — свой бюджет');
      // С проверенным токеном бюджет — на субъект, а не на адрес, и свой размер.
      const subjectRuns = await statuses(
        times(6, () => () => hit({ ip: '203.0.113.1', url: '/api/things', token: 'good-alice' })),
      );
      assert.deepEqual(subjectRuns, [200, 200, 200, 200, 200, 429]);
      assert.equal((await hit({ ip: '203.0.113.1', url: '/api/things', token: 'good-bob' })).statusCode, 200);
      assert.equal(
        (await hit({ ip: '203.0.113.9', url: '/api/things', token: 'good-alice' })).statusCode,
        429,
        'смена адреса не обнуляет бюджет субъекта',
      );
    });

    void it('точки /api/auth/*: отдельный, более строгий бюджет на адрес — и с токеном', async () => {
      const { hit } = await open();
      const login = (token?: string) => () =>
        hit({ ip: '198.51.100.7', url: '/api/auth/login', method: 'POST', token });
      assert.deepEqual(await statuses([login(), login(), login()]), [200, 200, 429]);
      assert.equal((await login('good-alice')()).statusCode, 429, 'токен не даёт обойти бюджет входа');
      assert.equal((await hit({ ip: '198.51.100.7' })).statusCode, 200, 'прочие маршруты — в своём бюджете');
    });

    void it('отказ в токене расходует бюджет адреса: перебор токенов упирается в 429', async () => {
      const { hit } = await open();
      const guess = () => hit({ ip: '198.51.100.8', url: '/api/things', token: `guess-${randomUUID()}` });
      assert.deepEqual(await statuses(times(4, () => guess)), [401, 401, 401, 429]);
    });

    void it('health, metrics и JWKS не ограничиваются и не расходуют бюджет', async () => {
      const { hit } = await open();
      for (const url of ['/health/live', '/health/ready', '/metrics', '/.well-known/jwks.json']) {
        const runs = await Promise.all(times(8, () => hit({ ip: '198.51.100.9', url })));
        assert.deepEqual(
          runs.map((r) => r.statusCode),
          Array<number>(8).fill(200),
          url,
        );
        assert.equal(runs[0]!.headers['ratelimit-limit'], undefined, url);
      }
      assert.equal((await hit({ ip: '198.51.100.9' })).headers['ratelimit-remaining'], '2');
    });

    void it('два экземпляра сервиса над одним хранилищем делят бюджет', async () => {
      const service = `svc-${randomUUID()}`;
      const [a, b] = [await open({ service }), await open({ service })];
      const runs = await statuses([a, b, a, b].map((s) => () => s.hit({ ip: '192.0.2.10' })));
      assert.deepEqual(runs, [200, 200, 200, 429]);
      assert.equal((await a.hit({ ip: '192.0.2.10' })).statusCode, 429);
    });

    void it('превышение в block_after окнах — CLIENT_BLOCKED на block_for даже в пределах бюджета, потом доступ открыт; блокировка в журнале один раз и в метриках', async () => {
      const windowMs = 500;
      const blockForMs = 2500;
      const { app, log, hit } = await open({ windowMs, maxAnonymous: 2, blockAfter: 2, blockForMs });
      const ip = '192.0.2.77';
      assert.deepEqual(await statuses(times(2, () => () => hit({ ip }))), [200, 200]);
      assertTooMany(await hit({ ip }), 'RATE_LIMITED', 1);
      await sleep(windowMs + 50);
      // Второе окно с превышением: блокировка — тем же запросом, что превысил бюджет.
      assert.deepEqual(await statuses(times(2, () => () => hit({ ip }))), [200, 200]);
      const blockedAt = performance.now();
      assert.ok(assertTooMany(await hit({ ip }), 'CLIENT_BLOCKED', 3) >= 2);
      assertTooMany(await hit({ ip }), 'CLIENT_BLOCKED', 3);
      assert.equal((await hit({ ip: '192.0.2.78' })).statusCode, 200, 'блокировка — только этого клиента');

      await sleep(windowMs + 50);
      // Новое окно, первый запрос — в пределах бюджета, но клиент ещё заблокирован.
      assertTooMany(await hit({ ip }), 'CLIENT_BLOCKED', 3);
      await sleep(Math.max(0, blockedAt + blockForMs + 150 - performance.now()));
      assert.equal((await hit({ ip })).statusCode, 200, 'по истечении block_for доступ открыт');

      const blockedLines = log
        .text()
        .split('\n')
        .filter((line) => line.includes('"rate_limit_blocked"'));
      assert.equal(blockedLines.length, 1, log.text());
      assert.match(blockedLines[0]!, /"client":"ip:192\.0\.2\.77"/);
      const metrics = (await app.inject({ url: '/metrics' })).body;
      assert.match(metrics, /artstore_rate_limit_blocks_total\{[^}]*scope="anonymous"[^}]*\} 1\n/);
      assert.match(metrics, /artstore_rate_limit_rejected_total\{[^}]*reason="blocked"[^}]*\} 3\n/);
      assert.match(metrics, /artstore_rate_limit_rejected_total\{[^}]*reason="limit"[^}]*\} 1\n/);
    });
  });
}
