// Ограничение частоты запросов с временной блокировкой (SPEC AD-11). Счёт — фиксированное окно на
// клиента: increment порта координации (Redis в production — общий бюджет всех экземпляров сервиса,
// in-process во встроенном режиме). Клиент — субъект проверенного токена, иначе адрес (request.ip, за
// доверенными прокси — из X-Forwarded-For). Подробности и выбор значений — docs/security.md.
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { withTimeout } from '../concurrency/with-timeout.js';
import { ArtError } from '../errors.js';
import type { Coordination, CounterValue } from '../ports/coordination.js';
import { createCircuitBreaker, type CircuitPermit } from './circuit-breaker.js';

/** Всё, что ограничителю нужно от хранилища, — подмножество порта координации. */
export type RateLimitStore = Pick<Coordination, 'increment' | 'get' | 'set'>;

export type RateLimitScope = 'anonymous' | 'authenticated' | 'auth_endpoint';

export interface RateLimitPolicy {
  windowMs: number;
  maxAnonymous: number;
  maxAuthenticated: number;
  maxAuthEndpoints: number;
  /** После скольких окон с превышением клиент блокируется на blockForMs; 0 — не блокировать. */
  blockAfter: number;
  blockForMs: number;
}

export interface RateLimitOptions extends RateLimitPolicy {
  store: RateLimitStore;
  /** Сколько ждать хранилище, прежде чем решать без него. */
  storeTimeoutMs?: number;
}

export interface RateLimiter {
  /** Учитывает запрос; сверх бюджета — ArtError RATE_LIMITED или CLIENT_BLOCKED. */
  check(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

// Служебные маршруты не ограничиваются: их опрашивают балансировщики, Prometheus и проверяющие токены
// сервисы (SPEC AD-4, X-2, X-3). Сравнивается шаблон маршрута, а не сырой путь: %-кодированный путь
// к тому же маршруту не обходит правило.
const EXEMPT_ROUTES = new Set(['/health/live', '/health/ready', '/metrics', '/.well-known/jwks.json']);
// Вход, обновление токена, client_credentials, второй фактор (SPEC AD-3, AD-6): цель перебора — свой
// бюджет на адрес, строже прочих.
const AUTH_ROUTE_PREFIX = '/api/auth/';
const STORE_TIMEOUT_MS = 250;
// Хранилище недоступно три раза подряд — следующие 5 с запросы не ждут его таймаута.
const STORE_FAILURE_THRESHOLD = 3;
const STORE_RETRY_MS = 5000;

export function createRateLimiter(
  options: RateLimitOptions & { service: string; logger: Logger; registry: Registry },
): RateLimiter {
  const { service, logger, store, windowMs, blockAfter, blockForMs } = options;
  assertPolicy(options);
  const budget: Record<RateLimitScope, number> = {
    anonymous: options.maxAnonymous,
    authenticated: options.maxAuthenticated,
    auth_endpoint: options.maxAuthEndpoints,
  };
  const registers = [options.registry];
  const rejected = new Counter({
    name: 'artstore_rate_limit_rejected_total',
    help: 'Запросы, отклонённые ограничением частоты (reason: limit — сверх бюджета окна, blocked — клиент заблокирован)',
    labelNames: ['scope', 'reason'] as const,
    registers,
  });
  const blocks = new Counter({
    name: 'artstore_rate_limit_blocks_total',
    help: 'Временные блокировки клиентов за повторные превышения',
    labelNames: ['scope'] as const,
    registers,
  });
  const degraded = new Counter({
    name: 'artstore_rate_limit_store_unavailable_total',
    help: 'Запросы, учтённые без общего хранилища (mode: fail_open — пропущены, local — счёт в памяти экземпляра)',
    labelNames: ['mode'] as const,
    registers,
  });
  let lastStoreError: unknown;
  const breaker = createCircuitBreaker({
    target: 'rate-limit-store',
    failureThreshold: STORE_FAILURE_THRESHOLD,
    resetTimeoutMs: STORE_RETRY_MS,
    onStateChange: (state, previous) => {
      // Один warn на сбой: пробные вызовы половинного состояния, снова упавшие, его не повторяют.
      if (state === 'open' && previous === 'closed')
        logger.warn({ err: lastStoreError }, 'rate_limit_store_unavailable');
      if (state === 'closed') logger.info('rate_limit_store_recovered');
    },
  });
  const local = createLocalRateLimitStore();

  async function consume(on: RateLimitStore, scope: RateLimitScope, client: string): Promise<Decision> {
    const blockKey = `ratelimit:${service}:block:${client}`;
    // Два независимых обращения одновременно: к Redis они уходят одной пачкой, без второго круга.
    const [blockedUntil, window] = await Promise.all([
      on.get(blockKey),
      on.increment(`ratelimit:${service}:${scope}:${client}`, windowMs),
    ]);
    if (blockedUntil !== null) return { blockedMs: Number(blockedUntil) - Date.now(), window };
    // Превышение засчитывается окну один раз — первым запросом сверх бюджета (INCR атомарен и на
    // нескольких экземплярах); счёт превышений живёт (blockAfter + 1) окон с первого.
    if (blockAfter > 0 && window.count === budget[scope] + 1) {
      const strikes = await on.increment(
        `ratelimit:${service}:strikes:${client}`,
        (blockAfter + 1) * windowMs,
      );
      if (strikes.count >= blockAfter) {
        const until = Date.now() + blockForMs;
        // ifAbsent: из одновременных запросов (и экземпляров) блокировку ставит и сообщает о ней один.
        if (await on.set(blockKey, String(until), { ttlMs: blockForMs, ifAbsent: true })) {
          logger.warn(
            { client, scope, strikes: strikes.count, block_for_ms: blockForMs },
            'rate_limit_blocked',
          );
          blocks.inc({ scope });
        }
        return { blockedMs: blockForMs, window };
      }
    }
    return { window };
  }

  async function consumeShared(scope: RateLimitScope, client: string): Promise<Decision | undefined> {
    let permit: CircuitPermit;
    try {
      permit = breaker.acquire();
    } catch {
      return undefined;
    }
    try {
      const decision = await withTimeout(
        consume(store, scope, client),
        options.storeTimeoutMs ?? STORE_TIMEOUT_MS,
        'хранилище ограничения частоты',
      );
      permit.success();
      return decision;
    } catch (error) {
      lastStoreError = error;
      permit.failure();
      return undefined;
    }
  }

  return {
    async check(request, reply) {
      const route = request.routeOptions.url;
      if (route !== undefined && EXEMPT_ROUTES.has(route)) return;
      const principal = request.principal;
      const scope: RateLimitScope = route?.startsWith(AUTH_ROUTE_PREFIX)
        ? 'auth_endpoint'
        : principal
          ? 'authenticated'
          : 'anonymous';
      const client =
        scope === 'authenticated' && principal ? `sub:${principal.subject}` : `ip:${addressKey(request.ip)}`;
      let decision = await consumeShared(scope, client);
      if (decision === undefined) {
        // Общее хранилище недоступно. Свои пользователи и сервисы проходят: сервисы продолжают работу
        // без Redis (SPEC AD-8), а их бюджет — страховка от сбившегося клиента, не от атаки. Анонимный
        // трафик и точки входа — то, куда идут перебор и флуд: их считает память экземпляра.
        degraded.inc({ mode: scope === 'authenticated' ? 'fail_open' : 'local' });
        if (scope === 'authenticated') return;
        decision = await consume(local, scope, client);
      }
      const limit = budget[scope];
      const resetSeconds = Math.ceil(decision.window.ttlMs / 1000);
      void reply.headers({
        'ratelimit-limit': String(limit),
        'ratelimit-remaining': String(Math.max(0, limit - decision.window.count)),
        'ratelimit-reset': String(resetSeconds),
      });
      if (decision.blockedMs !== undefined) {
        rejected.inc({ scope, reason: 'blocked' });
        throw tooMany(
          'CLIENT_BLOCKED',
          Math.max(1, Math.ceil(decision.blockedMs / 1000)),
          'Клиент временно заблокирован за повторные превышения',
        );
      }
      if (decision.window.count > limit) {
        rejected.inc({ scope, reason: 'limit' });
        throw tooMany('RATE_LIMITED', resetSeconds, `Не больше ${limit} запросов за ${windowMs} мс`);
      }
    },
  };
}

interface Decision {
  window: CounterValue;
  /** Клиент заблокирован ещё на столько мс. */
  blockedMs?: number;
}

function tooMany(code: 'RATE_LIMITED' | 'CLIENT_BLOCKED', retryAfter: number, detail: string): ArtError {
  return new ArtError(code, `${detail}; повторите через ${retryAfter} с`, {
    headers: { 'retry-after': String(retryAfter) },
    extra: { retry_after_seconds: retryAfter },
  });
}

function assertPolicy(policy: RateLimitPolicy): void {
  const positive = [
    'windowMs',
    'maxAnonymous',
    'maxAuthenticated',
    'maxAuthEndpoints',
    'blockForMs',
  ] as const;
  for (const field of positive) {
    if (!Number.isSafeInteger(policy[field]) || policy[field] <= 0) {
      throw new ArtError(
        'CONFIG_INVALID',
        `Ограничение частоты: ${field} должен быть целым > 0, получено ${policy[field]}`,
      );
    }
  }
  if (!Number.isSafeInteger(policy.blockAfter) || policy.blockAfter < 0) {
    throw new ArtError(
      'CONFIG_INVALID',
      `Ограничение частоты: blockAfter должен быть целым ≥ 0, получено ${policy.blockAfter}`,
    );
  }
}

/**
 * Ключ адреса: IPv4 — как есть (и IPv4, отображённый в IPv6); IPv6 — сеть /64: столько клиент получает
 * от провайдера, и смена адреса внутри неё не даёт нового бюджета.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIP(ip) !== 6) return ip;
  const [head = '', tail] = ip.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

// Предел записей счёта в памяти: перебор с множества адресов во время сбоя Redis не съест память.
const LOCAL_MAX_KEYS = 100_000;

/**
 * Счёт в памяти экземпляра — только пока общее хранилище недоступно. Та же семантика increment/get/set
 * с TTL, что у порта; реализация координации в процессе живёт в adapters, а core от них не зависит.
 */
export function createLocalRateLimitStore(): RateLimitStore {
  const entries = new Map<string, { value: string; expiresAt: number }>();

  function live(key: string, now: number) {
    const entry = entries.get(key);
    if (entry !== undefined && entry.expiresAt <= now) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  }

  function put(key: string, value: string, expiresAt: number, now: number): void {
    if (entries.size >= LOCAL_MAX_KEYS && !entries.has(key)) {
      for (const [k, entry] of entries) if (entry.expiresAt <= now) entries.delete(k);
      // Просроченных нет — вытесняется самая старая запись (Map хранит порядок вставки).
      if (entries.size >= LOCAL_MAX_KEYS) entries.delete(entries.keys().next().value!);
    }
    entries.set(key, { value, expiresAt });
  }

  return {
    increment(key, ttlMs) {
      const now = performance.now();
      const entry = live(key, now);
      const count = (entry === undefined ? 0 : Number(entry.value)) + 1;
      const expiresAt = entry?.expiresAt ?? now + ttlMs;
      put(key, String(count), expiresAt, now);
      return Promise.resolve({ count, ttlMs: Math.ceil(expiresAt - now) });
    },
    get(key) {
      return Promise.resolve(live(key, performance.now())?.value ?? null);
    },
    set(key, value, options = {}) {
      const now = performance.now();
      if (options.ifAbsent === true && live(key, now) !== undefined) return Promise.resolve(false);
      put(key, value, options.ttlMs === undefined ? Number.POSITIVE_INFINITY : now + options.ttlMs, now);
      return Promise.resolve(true);
    },
  };
}
