// Кеш чтений индекса (SPEC QR-5): LRU в процессе → общий слой в координации (Redis, ключи с TTL) → PostgreSQL.
//
// Инвалидация — «поколение индекса»: счётчик в координации, который follower увеличивает ПОСЛЕ коммита каждой
// пачки изменений. Ключ кеша содержит поколение, прочитанное ДО чтения из БД, поэтому значение под поколением g
// собрано из состояния индекса не старше g; после изменения все экземпляры query читают g+1 и промахиваются.
// Цена — один GET счётчика в координации на каждое чтение, в том числе при попадании в LRU: без него второй
// экземпляр не узнал бы об изменении сразу (pub/sub теряет сообщения и приходит с задержкой).
import type { Coordination, Logger } from '@artstore/core';
import { Counter, type Registry } from 'prom-client';
import type { FileIndex } from '../store/file-index.js';
import { Lru } from './lru.js';

export const INDEX_GENERATION_KEY = 'query:index:generation';
const CACHE_KEY_PREFIX = 'query:cache:';
/**
 * TTL счётчика поколения (increment ставит его один раз). Он на порядки дольше TTL записей кеша: пока счётчик
 * после истечения не наберёт заново прежнее значение, записи старого цикла давно истекли.
 */
const GENERATION_TTL_MS = 30 * 24 * 3600 * 1000;

export type CacheName = 'file' | 'search';

export interface RecordCacheOptions {
  coordination: Coordination;
  registry: Registry;
  logger: Logger;
  /** Записей в LRU процесса; 0 — слой выключен. */
  localEntries: number;
  /** Срок жизни записи в обоих слоях. */
  ttlMs: number;
}

export function createRecordCache(options: RecordCacheOptions) {
  const { coordination, logger } = options;
  const local = new Lru<unknown>(options.localEntries, options.ttlMs);
  const requests = new Counter({
    name: 'artstore_query_cache_requests_total',
    help: 'Обращения к кешу query по слоям (local — LRU процесса, shared — координация); доля попаданий = hit / (hit + miss)',
    labelNames: ['cache', 'layer', 'result'] as const,
    registers: [options.registry],
  });
  let lastGeneration = 0;

  async function generation(): Promise<number> {
    const value = Number((await coordination.get(INDEX_GENERATION_KEY)) ?? 0);
    // Счётчик уменьшился — координация его потеряла (перезапуск Redis без сохранения): старые ключи LRU могли бы
    // совпасть с новыми номерами, поэтому слой процесса сбрасывается.
    if (value < lastGeneration) local.clear();
    lastGeneration = value;
    return value;
  }

  return {
    /**
     * Значение по ключу из кеша или из load(). undefined (нет записи) не кешируется. Права кешем не решаются:
     * вызывающий проверяет их на каждом запросе после выборки (SPEC QR-8).
     */
    async cached<T>(
      cache: CacheName,
      key: string,
      load: () => Promise<T | undefined>,
    ): Promise<T | undefined> {
      let g: number;
      try {
        g = await generation();
      } catch (error) {
        // Без поколения нельзя доказать свежесть — читаем из БД мимо кеша, координация не роняет чтения.
        requests.inc({ cache, layer: 'shared', result: 'error' });
        logger.warn({ err: error }, 'query_cache_generation_failed');
        return load();
      }
      const fullKey = `${CACHE_KEY_PREFIX}${cache}:${g}:${key}`;
      const inProcess = local.get(fullKey) as T | undefined;
      requests.inc({ cache, layer: 'local', result: inProcess === undefined ? 'miss' : 'hit' });
      if (inProcess !== undefined) return inProcess;

      const shared = await coordination.get(fullKey).catch(() => null);
      if (shared !== null) {
        requests.inc({ cache, layer: 'shared', result: 'hit' });
        const value = JSON.parse(shared) as T;
        local.set(fullKey, value);
        return value;
      }
      requests.inc({ cache, layer: 'shared', result: 'miss' });
      const value = await load();
      if (value === undefined) return value;
      local.set(fullKey, value);
      await coordination
        .set(fullKey, JSON.stringify(value), { ttlMs: options.ttlMs })
        .catch((error: unknown) => {
          logger.warn({ err: error }, 'query_cache_store_failed');
        });
      return value;
    },

    /** Новое поколение индекса: вызывать после коммита изменения индекса, до того как его увидят читатели. */
    async invalidate(): Promise<void> {
      await coordination.increment(INDEX_GENERATION_KEY, GENERATION_TTL_MS);
    },
  };
}
export type RecordCache = ReturnType<typeof createRecordCache>;

/** Индекс, чья запись о файле читается через кеш (GET /api/files/:id и выдача байтов). */
export function withCachedRecords(index: FileIndex, cache: RecordCache): FileIndex {
  return { ...index, get: (id) => cache.cached('file', id, () => index.get(id)) };
}
