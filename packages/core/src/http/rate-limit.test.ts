// Ограничение частоты (SPEC AD-11) без общего хранилища: ключ адреса, проверка параметров, поведение
// при недоступном хранилище, параметры из конфигурации. Бюджеты и блокировка над Redis и координацией
// в процессе — rateLimitContract в тестах адаптеров.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { loadConfig } from '../config.js';
import { isArtError } from '../errors.js';
import { createLogger } from '../logger.js';
import type { Coordination } from '../ports/coordination.js';
import { serverOptionsFrom } from '../runtime.js';
import { assertTooMany, startLimitedApp } from '../testing/rate-limit-contract.js';
import {
  addressKey,
  createLocalRateLimitStore,
  createRateLimiter,
  type RateLimitStore,
} from './rate-limit.js';

describe('addressKey', () => {
  it('IPv4 — как есть, IPv4 в IPv6 — как IPv4, IPv6 — сеть /64', () => {
    assert.equal(addressKey('203.0.113.5'), '203.0.113.5');
    assert.equal(addressKey('::ffff:203.0.113.5'), '203.0.113.5');
    assert.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0db8:0001:0002:ffff::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  });

  it('адреса одной сети /64 делят бюджет, соседняя сеть — нет', async () => {
    const { app, hit } = await startLimitedApp(createLocalRateLimitStore(), { maxAnonymous: 2 });
    try {
      assert.equal((await hit({ ip: '2001:db8:1:2::a' })).statusCode, 200);
      assert.equal((await hit({ ip: '2001:db8:1:2:ffff::b' })).statusCode, 200);
      assertTooMany(await hit({ ip: '2001:db8:1:2::c' }), 'RATE_LIMITED', 60);
      assert.equal((await hit({ ip: '2001:db8:1:3::a' })).statusCode, 200);
    } finally {
      await app.close();
    }
  });
});

describe('createRateLimiter: параметры', () => {
  it('нецелые и неположительные бюджеты, окно и срок блокировки — CONFIG_INVALID', () => {
    const base = {
      store: createLocalRateLimitStore(),
      windowMs: 1000,
      maxAnonymous: 1,
      maxAuthenticated: 1,
      maxAuthEndpoints: 1,
      blockAfter: 0,
      blockForMs: 1000,
      service: 's',
      logger: createLogger({ level: 'silent' }),
    };
    for (const bad of [
      { windowMs: 0 },
      { maxAnonymous: 1.5 },
      { maxAuthEndpoints: -1 },
      { blockForMs: 0 },
      { blockAfter: -1 },
    ]) {
      assert.throws(
        () => createRateLimiter({ ...base, ...bad, registry: new Registry() }),
        (error) => isArtError(error, 'CONFIG_INVALID'),
        JSON.stringify(bad),
      );
    }
    assert.ok(createRateLimiter({ ...base, registry: new Registry() }));
  });

  it('параметры сервера из конфигурации: значения по умолчанию; enabled: false или без координации — без ограничения', () => {
    const store = {} as Coordination;
    assert.deepEqual(serverOptionsFrom(loadConfig({ env: {} }), store).rateLimit, {
      store,
      windowMs: 60_000,
      maxAnonymous: 600,
      maxAuthenticated: 60_000,
      maxAuthEndpoints: 120,
      blockAfter: 5,
      blockForMs: 900_000,
    });
    const custom = loadConfig({
      env: { ARTSTORE_HTTP__RATE_LIMIT__WINDOW: '10s', ARTSTORE_HTTP__RATE_LIMIT__BLOCK_FOR: '1h' },
    });
    assert.equal(serverOptionsFrom(custom, store).rateLimit?.windowMs, 10_000);
    assert.equal(serverOptionsFrom(custom, store).rateLimit?.blockForMs, 3_600_000);
    assert.equal(
      serverOptionsFrom(loadConfig({ env: { ARTSTORE_HTTP__RATE_LIMIT__ENABLED: 'false' } }), store)
        .rateLimit,
      undefined,
    );
    assert.equal(serverOptionsFrom(loadConfig({ env: {} })).rateLimit, undefined);
  });
});

/** Хранилище, которое отказывает (или зависает) по требованию, и счётчик обращений к нему. */
function flakyStore(): RateLimitStore & { mode: 'ok' | 'fail' | 'hang'; calls: number } {
  const healthy = createLocalRateLimitStore();
  const state = {
    mode: 'ok' as 'ok' | 'fail' | 'hang',
    calls: 0,
    increment: (key: string, ttlMs: number) => guard(() => healthy.increment(key, ttlMs)),
    get: (key: string) => guard(() => healthy.get(key)),
    set: (...args: Parameters<RateLimitStore['set']>) => guard(() => healthy.set(...args)),
  };
  function guard<T>(operation: () => Promise<T>): Promise<T> {
    state.calls++;
    if (state.mode === 'fail') return Promise.reject(new Error('ECONNREFUSED'));
    if (state.mode === 'hang') return new Promise<T>(() => undefined);
    return operation();
  }
  return state;
}

describe('createRateLimiter: общее хранилище недоступно', () => {
  it('субъекты токенов проходят без счёта, адреса считаются в памяти экземпляра; warn один раз, метрика на каждый запрос', async () => {
    const store = flakyStore();
    const { app, log, hit } = await startLimitedApp(store, { maxAnonymous: 2, maxAuthenticated: 1 });
    try {
      assert.equal((await hit({ ip: '192.0.2.1' })).statusCode, 200);
      store.mode = 'fail';
      // Счёт в памяти начинается заново: общий бюджет недоступен, а не обнулён навсегда.
      assert.deepEqual(
        await Promise.all([1, 2, 3].map(async () => (await hit({ ip: '192.0.2.1' })).statusCode)).then((s) =>
          s.sort(),
        ),
        [200, 200, 429],
      );
      for (let i = 0; i < 5; i++) {
        const response = await hit({ ip: '192.0.2.1', url: '/api/things', token: 'good-alice' });
        assert.equal(response.statusCode, 200, 'бюджет субъекта 1, но без хранилища он не ограничен');
        assert.equal(response.headers['ratelimit-limit'], undefined);
      }
      const warnings = log
        .text()
        .split('\n')
        .filter((line) => line.includes('"rate_limit_store_unavailable"'));
      assert.equal(warnings.length, 1, log.text());
      assert.match(warnings[0]!, /ECONNREFUSED/);
      const metrics = (await app.inject({ url: '/metrics' })).body;
      assert.match(metrics, /artstore_rate_limit_store_unavailable_total\{[^}]*mode="local"[^}]*\} 3\n/);
      assert.match(metrics, /artstore_rate_limit_store_unavailable_total\{[^}]*mode="fail_open"[^}]*\} 5\n/);
    } finally {
      await app.close();
    }
  });

  it('зависшее хранилище ждут не дольше storeTimeoutMs; после трёх отказов подряд его не ждут вовсе', async () => {
    const store = flakyStore();
    store.mode = 'hang';
    const { app, hit } = await startLimitedApp(store, { storeTimeoutMs: 100 });
    try {
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        assert.equal((await hit({ ip: '192.0.2.2' })).statusCode, 200);
        const ms = performance.now() - started;
        assert.ok(ms >= 90 && ms < 2000, `запрос ${i + 1}: ${ms.toFixed(0)} мс`);
      }
      const callsBefore = store.calls;
      const started = performance.now();
      assert.equal(
        (await hit({ ip: '192.0.2.2' })).statusCode,
        429,
        'бюджет адреса 3 — дальше счёт в памяти',
      );
      assert.ok(performance.now() - started < 90, 'автомат разомкнут: хранилище не ждём');
      assert.equal(store.calls, callsBefore, 'к разомкнутому хранилищу не обращаемся');
    } finally {
      await app.close();
    }
  });
});
