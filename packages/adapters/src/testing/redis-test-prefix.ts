// Изоляция тестов на общем Redis (CONVENTIONS «Real dependencies in tests»): у каждого прогона свой
// префикс ключей, после прогона его ключи удаляются.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** Единственное место, где тесты адаптеров читают окружение для Redis. */
export function testRedisUrl(): string {
  return process.env['ARTSTORE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
}

export function uniqueTestPrefix(label: string): string {
  return `artstore:t:${label}:${randomBytes(6).toString('hex')}:`;
}

/** Удаляет все ключи с префиксом (SCAN + UNLINK: без блокирующего KEYS на общем сервере). Возвращает их число. */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<number> {
  const client = new Redis(url);
  try {
    // Префикс — часть glob-шаблона MATCH: его спецсимволы экранируются.
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length > 0) deleted += await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    return deleted;
  } finally {
    await client.quit();
  }
}
