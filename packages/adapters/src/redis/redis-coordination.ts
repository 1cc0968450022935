// Координация поверх Redis (SPEC §1, HA-4, HA-5): standalone или Redis Cluster через ioredis.
// Все ключи и каналы получают keyPrefix, чтобы несколько установок (и тестовые прогоны)
// делили один Redis.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Cluster, Redis } from 'ioredis';
import { ArtError, type Coordination, type Lease, type SetOptions, type Unsubscribe } from '@artstore/core';

export interface RedisCoordinationOptions {
  /** redis://… для standalone Redis; ровно одно из url / cluster. */
  url?: string;
  /** Стартовые узлы Redis Cluster (HA-5). */
  cluster?: { host: string; port: number }[];
  keyPrefix: string;
  /** Ошибки соединений (ioredis сам переподключается) и исключения обработчиков подписок. */
  onError?: (error: unknown) => void;
}

type Client = Redis | Cluster;

/**
 * Команды pub/sub. Standalone — обычные PUBLISH/SUBSCRIBE: сервер один, порядок сохраняется, годится и
 * Redis 6. В Redis Cluster обычный PUBLISH ioredis шлёт на случайный мастер, а шина кластера пересылает
 * его остальным узлам: каждый подписчик получает каждое сообщение, но сообщения одного издателя,
 * ушедшие на разные мастера, приходят переставленными (замерено: ≈ 4 % инверсий на 3 000 сообщений),
 * а контракт порта требует порядок. Поэтому в кластере — сегментированный pub/sub Redis 7
 * (SPUBLISH/SSUBSCRIBE): канал, как ключ, принадлежит слоту; публикация и подписки канала идут на мастер
 * этого слота, и каждый подписчик получает каждое сообщение канала в порядке публикации, а шина не
 * рассылает его по всем шардам. После failover или переноса слота подписка переходит к новому владельцу
 * (ioredis shardedSubscribers и повтор SSUBSCRIBE по таймеру) — это проверяет redis-coordination.cluster.test.ts; сообщение,
 * опубликованное в момент переключения, может потеряться, как и при переподключении к standalone, —
 * клиенты обнаружения страхуются перечитыванием ключа по таймеру (SPEC AD-8). Имена ключей и каналов
 * от режима не зависят.
 */
interface PubSub {
  readonly event: 'message' | 'smessage';
  publish(client: Client, channel: string, message: string): Promise<unknown>;
  subscribe(client: Client, channel: string): Promise<unknown>;
  unsubscribe(client: Client, channel: string): Promise<unknown>;
}

const classicPubSub: PubSub = {
  event: 'message',
  publish: (client, channel, message) => client.publish(channel, message),
  subscribe: (client, channel) => client.subscribe(channel),
  unsubscribe: (client, channel) => client.unsubscribe(channel),
};

/** Как часто подписчик кластера повторяет SSUBSCRIBE своих каналов (восстановление после failover). */
const RESUBSCRIBE_INTERVAL_MS = 2000;

const shardedPubSub: PubSub = {
  event: 'smessage',
  publish: (client, channel, message) => client.spublish(channel, message),
  subscribe: (client, channel) => client.ssubscribe(channel),
  unsubscribe: (client, channel) => client.sunsubscribe(channel),
};

// Аренда: значение «owner|token» с PX ttl и отдельный счётчик выдач (без TTL, чтобы токен не
// откатывался при истечении аренды). Токен берётся INCR только при НОВОЙ выдаче; повторный
// захват тем же владельцем, пока аренда жива, продлевает её с прежним токеном — владение не
// менялось. После истечения тот же владелец получает новый, больший токен.
// Владелец выделяется по последнему '|': токен — только цифры, а в owner '|' допустим.
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local owner, token = string.match(cur, '^(.*)|(%d+)$')
  if owner ~= ARGV[1] then return nil end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(token)
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return token
`;
// Продление и освобождение — compare-and-set/compare-and-delete по «owner|token»: старый
// владелец, чья аренда истекла и перешла к другому, не может продлить или удалить чужую.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

// Счётчик окна (SPEC AD-11): INCR и TTL одним скриптом — между ними не вклинится чужой запрос, и ключ
// не останется без срока. TTL ставится только ключу без него (первое увеличение), окно не сдвигается.
const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

interface Script {
  lua: string;
  sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

const scripts = { acquire: script(ACQUIRE), renew: script(RENEW), release: script(RELEASE), increment: script(INCREMENT) };

function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs должен быть целым числом > 0, получено ${ttlMs}`);
}

function assertLeaseName(name: string): void {
  // Имя — hash tag «{name}» ключей аренды. Пустое или начинающееся с '}' дало бы пустой тег: Redis Cluster
  // хеширует тогда ключ целиком, значение и счётчик попадают в разные слоты, и скрипт получает CROSSSLOT.
  // Отказ — в любом режиме, чтобы имя, работающее со standalone Redis, не сломалось в кластере.
  if (name.length === 0 || name.startsWith('}'))
    throw new RangeError(`Имя аренды не может быть пустым или начинаться с '}', получено '${name}'`);
}

/**
 * QUIT — только на готовом соединении. Пока Redis недоступен, QUIT встал бы в очередь переподключения
 * и держал остановку сервиса до исчерпания попыток (десятки секунд); disconnect закрывает сразу.
 */
async function shutdown(c: Client): Promise<void> {
  if (c.status === 'ready') await c.quit();
  else c.disconnect();
}

export function createRedisCoordination(options: RedisCoordinationOptions): Coordination {
  const { url, cluster, keyPrefix, onError } = options;
  if ((url === undefined) === (cluster === undefined)) {
    throw new ArtError('CONFIG_INVALID', 'Координация Redis: нужно указать ровно одно из url или cluster');
  }
  if (cluster?.length === 0) throw new ArtError('CONFIG_INVALID', 'Координация Redis: список узлов кластера пуст');
  if (keyPrefix.length === 0) throw new ArtError('CONFIG_INVALID', 'Координация Redis: keyPrefix не может быть пустым');

  const pubsub = url !== undefined ? classicPubSub : shardedPubSub;
  // shardedSubscribers — по соединению на мастер для SSUBSCRIBE; нужно только подписчику.
  const connect = (subscriber: boolean): Client => {
    const c = url !== undefined ? new Redis(url) : new Cluster(cluster ?? [], { shardedSubscribers: subscriber });
    if (onError !== undefined) c.on('error', onError);
    return c;
  };
  const client = connect(false);
  // Соединение в режиме подписки не выполняет обычных команд, поэтому для pub/sub нужно отдельное;
  // создаётся при первой подписке.
  let subscriber: Client | undefined;
  let resubscribeTimer: NodeJS.Timeout | undefined;
  const handlers = new Map<string, Set<(message: string) => void>>();
  const channelPrefix = `${keyPrefix}ch:`;
  let closed = false;

  function getSubscriber(): Client {
    if (subscriber === undefined) {
      const sub = connect(true);
      sub.on(pubsub.event, (channel: string, message: string) => {
        const set = handlers.get(channel.slice(channelPrefix.length));
        if (set === undefined) return;
        for (const handler of [...set]) {
          try {
            handler(message);
          } catch (error) {
            onError?.(error);
          }
        }
      });
      subscriber = sub;
      // Кластер: после failover ioredis (shardedSubscribers) не всегда подписывается у нового мастера слота —
      // замерено: в 2 из 6 прогонов теста failover подписка не вернулась и за 30 с. Повторный SSUBSCRIBE
      // всех каналов по таймеру идёт к текущему владельцу слота; для живой подписки он ничего не меняет.
      if (pubsub === shardedPubSub) {
        resubscribeTimer = setInterval(() => {
          for (const channel of handlers.keys()) {
            pubsub.subscribe(sub, channelPrefix + channel).catch((error: unknown) => onError?.(error));
          }
        }, RESUBSCRIBE_INTERVAL_MS);
        resubscribeTimer.unref();
      }
    }
    return subscriber;
  }

  async function run(s: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // После рестарта или failover кэш скриптов на узле пуст — отправляем текст целиком.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await client.eval(s.lua, keys.length, ...keys, ...args);
    }
  }

  const kvKey = (key: string): string => `${keyPrefix}kv:${key}`;
  // Значение и счётчик аренды — в одном слоте кластера благодаря hash tag (HA-5): Lua-скрипт
  // может трогать только ключи одного слота.
  const leaseKey = (name: string): string => `${keyPrefix}lease:{${name}}`;
  const epochKey = (name: string): string => `${keyPrefix}lease:{${name}}:epoch`;
  const leaseValue = (lease: Lease): string => `${lease.owner}|${lease.token}`;

  return {
    kind: 'redis',

    async publish(channel, message) {
      await pubsub.publish(client, channelPrefix + channel, message);
    },

    async subscribe(channel, handler) {
      let set = handlers.get(channel);
      if (set === undefined) {
        set = new Set();
        handlers.set(channel, set);
      }
      set.add(handler);
      try {
        // Ждём подтверждения SUBSCRIBE: после него сообщения гарантированно дойдут.
        await pubsub.subscribe(getSubscriber(), channelPrefix + channel);
      } catch (error) {
        set.delete(handler);
        throw error;
      }
      const unsubscribe: Unsubscribe = async () => {
        const current = handlers.get(channel);
        if (current === undefined || !current.delete(handler) || current.size > 0) return;
        handlers.delete(channel);
        await pubsub.unsubscribe(getSubscriber(), channelPrefix + channel);
      };
      return unsubscribe;
    },

    async get(key) {
      return await client.get(kvKey(key));
    },

    async set(key, value, opts: SetOptions = {}) {
      const k = kvKey(key);
      let reply: string | null;
      if (opts.ttlMs !== undefined) {
        assertTtl(opts.ttlMs);
        reply = opts.ifAbsent === true ? await client.set(k, value, 'PX', opts.ttlMs, 'NX') : await client.set(k, value, 'PX', opts.ttlMs);
      } else {
        reply = opts.ifAbsent === true ? await client.set(k, value, 'NX') : await client.set(k, value);
      }
      return reply === 'OK';
    },

    async delete(key) {
      await client.del(kvKey(key));
    },

    async increment(key, ttlMs) {
      assertTtl(ttlMs);
      // Один ключ — один слот кластера: скрипт допустим и в Redis Cluster (HA-5).
      const [count, ttl] = (await run(scripts.increment, [kvKey(key)], [ttlMs])) as [number, number];
      return { count, ttlMs: ttl };
    },

    async acquireLease(name, owner, ttlMs) {
      assertLeaseName(name);
      assertTtl(ttlMs);
      // Отсчёт срока — от момента ДО отправки запроса: локальный дедлайн тогда не позже
      // серверного истечения PX (SPEC SE-12).
      const acquiredAt = performance.now();
      const token = await run(scripts.acquire, [leaseKey(name), epochKey(name)], [owner, ttlMs]);
      if (token === null) return null;
      return { name, owner, token: Number(token), ttlMs, acquiredAt };
    },

    async renewLease(lease) {
      const acquiredAt = performance.now();
      const renewed = await run(scripts.renew, [leaseKey(lease.name)], [leaseValue(lease), lease.ttlMs]);
      return renewed === 1 ? { ...lease, acquiredAt } : null;
    },

    async releaseLease(lease) {
      await run(scripts.release, [leaseKey(lease.name)], [leaseValue(lease)]);
    },

    async ping() {
      // У Cluster ping уходит на один из узлов — для проверки готовности этого достаточно.
      await client.ping();
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(resubscribeTimer);
      handlers.clear();
      await Promise.all([shutdown(client), subscriber && shutdown(subscriber)]);
    },
  };
}
