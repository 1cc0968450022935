// Изоляция тестов на общем Redis (CONVENTIONS «Real dependencies in tests»): у каждого прогона свой
// префикс ключей, после прогона его ключи удаляются.
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import type { RedisNodeAddress } from './redis-cluster.js';

/** Единственное место, где тесты адаптеров читают окружение для Redis. */
export function testRedisUrl(): string {
  return process.env['ARTSTORE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
}

export function uniqueTestPrefix(label: string): string {
  return `artstore:t:${label}:${randomBytes(6).toString('hex')}:`;
}

/** Префикс — часть glob-шаблона MATCH: его спецсимволы экранируются. */
const matchPrefix = (prefix: string): string => `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;

const sum = (numbers: number[]): number => numbers.reduce((a, b) => a + b, 0);

/** SCAN + удаление по одному узлу: без блокирующего KEYS на общем сервере. */
async function deleteOnNode(
  node: Redis,
  prefix: string,
  unlink: (keys: string[]) => Promise<number>,
): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', matchPrefix(prefix), 'COUNT', 500);
    if (keys.length > 0) deleted += await unlink(keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}

/**
 * Удаляет все ключи с префиксом и возвращает их число. target — URL standalone Redis или узлы Redis
 * Cluster: в кластере SCAN обходит только свой узел, поэтому проходятся все мастера, а ключи удаляются
 * по одному — UNLINK нескольких ключей из разных слотов кластер отвергает (CROSSSLOT).
 */
export async function deleteKeysWithPrefix(
  target: string | readonly RedisNodeAddress[],
  prefix: string,
): Promise<number> {
  if (typeof target === 'string') {
    const client = new Redis(target);
    try {
      return await deleteOnNode(client, prefix, (keys) => client.unlink(...keys));
    } finally {
      await client.quit();
    }
  }
  const cluster = new Cluster([...target]);
  try {
    // Список мастеров известен после загрузки карты слотов; PING ждёт её.
    await cluster.ping();
    const counts = await Promise.all(
      cluster
        .nodes('master')
        .map((node) =>
          deleteOnNode(node, prefix, async (keys) =>
            sum(await Promise.all(keys.map((key) => node.unlink(key)))),
          ),
        ),
    );
    return sum(counts);
  } finally {
    await cluster.quit();
  }
}
