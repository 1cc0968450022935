// Координация внутри одного процесса (встроенный режим, SPEC §1) с той же семантикой, что у
// Redis-реализации: TTL, аренды с fencing-токеном, pub/sub с асинхронной доставкой.
// Время — монотонные часы performance.now(): перевод системных часов не продлевает и не
// обрывает аренду (SPEC SE-12).
import { performance } from 'node:perf_hooks';
import type { Coordination, Lease, SetOptions } from '@artstore/core';

interface Entry {
  value: string;
  /** performance.now(), после которого запись считается отсутствующей; undefined — бессрочно. */
  expiresAt: number | undefined;
}

// Подписка — отдельный объект, а не сама функция: один обработчик, подписанный через два
// дескриптора, — две независимые подписки.
interface Subscription {
  channel: string;
  handler: (message: string) => void;
}

interface LeaseEntry {
  owner: string;
  token: number;
  expiresAt: number;
}

/** Общее хранилище: несколько дескрипторов координации поверх него видят друг друга, как узлы одного Redis. */
export interface InProcessCoordinationStore {
  readonly kv: Map<string, Entry>;
  readonly leases: Map<string, LeaseEntry>;
  /** Последний выданный токен по имени аренды; переживает истечение аренды, как счётчик в Redis. */
  readonly epochs: Map<string, number>;
  readonly channels: Map<string, Set<Subscription>>;
  nextSweepAt: number;
}

export function createInProcessCoordinationStore(): InProcessCoordinationStore {
  return { kv: new Map(), leases: new Map(), epochs: new Map(), channels: new Map(), nextSweepAt: 0 };
}

// Просроченные ключи удаляются лениво при чтении и пачкой не чаще раза в секунду при записи —
// без таймеров, которые держали бы процесс.
const SWEEP_INTERVAL_MS = 1000;

function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs должен быть целым числом > 0, получено ${ttlMs}`);
}

function assertLeaseName(name: string): void {
  // Та же проверка, что в Redis-реализации: поведение не должно зависеть от выбранного движка.
  if (name.length === 0) throw new RangeError('Имя аренды не может быть пустым');
}

// Порт обещает Promise: исключение (закрытый дескриптор, неверный ttl) должно стать отказом
// промиса, а не синхронным throw.
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

export interface InProcessCoordinationOptions {
  /** Общее хранилище; без него дескриптор получает собственное. */
  store?: InProcessCoordinationStore;
  /** Исключения обработчиков подписок (как у Redis-реализации). */
  onError?: (error: unknown) => void;
}

export function createInProcessCoordination(options: InProcessCoordinationOptions = {}): Coordination {
  const { onError } = options;
  const store = options.store ?? createInProcessCoordinationStore();
  // Собственные подписки дескриптора: close() снимает только их, не трогая соседей по хранилищу.
  const own = new Set<Subscription>();
  let closed = false;

  function ensureOpen(): void {
    if (closed) throw new Error('Координация закрыта');
  }

  function live(key: string, now: number): Entry | undefined {
    const entry = store.kv.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= now) {
      store.kv.delete(key);
      return undefined;
    }
    return entry;
  }

  function sweep(now: number): void {
    if (now < store.nextSweepAt) return;
    store.nextSweepAt = now + SWEEP_INTERVAL_MS;
    for (const [key, entry] of store.kv) if (entry.expiresAt !== undefined && entry.expiresAt <= now) store.kv.delete(key);
    for (const [name, lease] of store.leases) if (lease.expiresAt <= now) store.leases.delete(name);
  }

  function liveLease(name: string, now: number): LeaseEntry | undefined {
    const lease = store.leases.get(name);
    return lease !== undefined && lease.expiresAt > now ? lease : undefined;
  }

  function unsubscribeOne(sub: Subscription): void {
    own.delete(sub);
    const set = store.channels.get(sub.channel);
    if (set === undefined) return;
    set.delete(sub);
    if (set.size === 0) store.channels.delete(sub.channel);
  }

  return {
    kind: 'in-process',

    publish: (channel, message) =>
      settle(() => {
        ensureOpen();
        // Доставка не внутри publish(), а следующим оборотом цикла событий — как из сети у Redis;
        // иначе встроенный режим прятал бы гонки, которые проявятся в production.
        for (const sub of store.channels.get(channel) ?? []) {
          setImmediate(() => {
            // Отписавшийся до доставки обработчик сообщения не получает.
            if (store.channels.get(channel)?.has(sub) !== true) return;
            try {
              sub.handler(message);
            } catch (error) {
              onError?.(error);
            }
          });
        }
      }),

    subscribe: (channel, handler) =>
      settle(() => {
        ensureOpen();
        let set = store.channels.get(channel);
        if (set === undefined) {
          set = new Set();
          store.channels.set(channel, set);
        }
        const sub: Subscription = { channel, handler };
        set.add(sub);
        own.add(sub);
        return () => settle(() => unsubscribeOne(sub));
      }),

    get: (key) =>
      settle(() => {
        ensureOpen();
        return live(key, performance.now())?.value ?? null;
      }),

    set: (key, value, opts: SetOptions = {}) =>
      settle(() => {
        ensureOpen();
        if (opts.ttlMs !== undefined) assertTtl(opts.ttlMs);
        const now = performance.now();
        sweep(now);
        if (opts.ifAbsent === true && live(key, now) !== undefined) return false;
        // Как SET в Redis: запись без ttlMs снимает прежний TTL.
        store.kv.set(key, { value, expiresAt: opts.ttlMs === undefined ? undefined : now + opts.ttlMs });
        return true;
      }),

    delete: (key) =>
      settle(() => {
        ensureOpen();
        store.kv.delete(key);
      }),

    increment: (key, ttlMs) =>
      settle(() => {
        ensureOpen();
        assertTtl(ttlMs);
        const now = performance.now();
        sweep(now);
        const entry = live(key, now);
        // Как INCR в Redis: нецелое значение — ошибка, а не молчаливый сброс счёта.
        if (entry !== undefined && !/^-?\d+$/.test(entry.value)) throw new RangeError(`Значение ключа ${key} — не целое число`);
        const count = (entry === undefined ? 0 : Number(entry.value)) + 1;
        const expiresAt = entry?.expiresAt ?? now + ttlMs;
        store.kv.set(key, { value: String(count), expiresAt });
        // Новый срок — ровно ttlMs: (now + ttlMs) - now в числах с плавающей точкой бывает на волос больше.
        return { count, ttlMs: entry?.expiresAt === undefined ? ttlMs : Math.ceil(expiresAt - now) };
      }),

    acquireLease: (name, owner, ttlMs) =>
      settle((): Lease | null => {
        ensureOpen();
        assertLeaseName(name);
        assertTtl(ttlMs);
        const now = performance.now();
        sweep(now);
        const current = liveLease(name, now);
        if (current !== undefined && current.owner !== owner) return null;
        // Семантика токена — как в Redis-скрипте: новый токен только при новой выдаче,
        // живая аренда того же владельца продлевается с прежним токеном.
        let token = current?.token;
        if (token === undefined) {
          token = (store.epochs.get(name) ?? 0) + 1;
          store.epochs.set(name, token);
        }
        store.leases.set(name, { owner, token, expiresAt: now + ttlMs });
        return { name, owner, token, ttlMs, acquiredAt: now };
      }),

    renewLease: (lease) =>
      settle((): Lease | null => {
        ensureOpen();
        const now = performance.now();
        const current = liveLease(lease.name, now);
        if (current?.owner !== lease.owner || current.token !== lease.token) return null;
        current.expiresAt = now + lease.ttlMs;
        return { ...lease, acquiredAt: now };
      }),

    releaseLease: (lease) =>
      settle(() => {
        ensureOpen();
        const current = liveLease(lease.name, performance.now());
        if (current?.owner === lease.owner && current.token === lease.token) store.leases.delete(lease.name);
      }),

    ping: () => settle(ensureOpen),

    close: () =>
      settle(() => {
        if (closed) return;
        closed = true;
        for (const sub of [...own]) unsubscribeOne(sub);
      }),
  };
}
