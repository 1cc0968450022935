// Счётчики популярных запросов для подсказок (SPEC QR-3). Поиск только увеличивает счётчик в памяти,
// а в БД счётчики уходят пачкой раз в flushMs одним upsert: синхронная запись на каждый поиск
// добавила бы к нему круг до БД и конкуренцию за горячие строки частых запросов. Цена — счётчики,
// накопленные за последние flushMs, теряются при аварийной остановке; для подсказок это не важно.
import type { Database, Logger } from '@artstore/core';

/** Больше разных ключей за один интервал не копим: поток уникальных запросов не раздует память. */
const MAX_PENDING = 10_000;
/** Длинные запросы — не подсказки, а вставленный текст; их не считаем. */
export const MAX_POPULAR_QUERY_LENGTH = 128;

/** Нормализованный вид запроса: регистр и пробелы не делают запрос «другим». */
export function normalizeQuery(q: string): string {
  return q.trim().toLowerCase().replace(/\s+/g, ' ');
}

export interface PopularQueries {
  /** Запрос дал результаты на этих SE. */
  record(query: string, elements: Iterable<string>): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createPopularQueries(
  db: Database,
  options: { flushMs: number; logger?: Logger },
): PopularQueries {
  const pending = new Map<string, { element: string; query: string; hits: number }>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  async function flush(): Promise<void> {
    timer = undefined;
    if (pending.size === 0) return;
    const batch = [...pending.values()];
    pending.clear();
    await db.query(
      `insert into query_popular (element_id, query, hits, last_at)
       select e, q, h, now() from unnest($1::text[], $2::text[], $3::bigint[]) as u(e, q, h)
       on conflict (element_id, query) do update set hits = query_popular.hits + excluded.hits, last_at = excluded.last_at`,
      [batch.map((b) => b.element), batch.map((b) => b.query), batch.map((b) => b.hits)],
    );
  }

  function flushInBackground(): void {
    flush().catch((error: unknown) => options.logger?.warn({ err: error }, 'popular_queries_flush_failed'));
  }

  return {
    record(query, elements) {
      const normalized = normalizeQuery(query);
      if (closed || normalized === '' || normalized.length > MAX_POPULAR_QUERY_LENGTH) return;
      for (const element of elements) {
        const key = `${element}\u0000${normalized}`;
        const entry = pending.get(key);
        if (entry) entry.hits++;
        else if (pending.size < MAX_PENDING) pending.set(key, { element, query: normalized, hits: 1 });
      }
      // unref: таймер не держит процесс; при остановке остаток сбрасывает close().
      timer ??= setTimeout(flushInBackground, options.flushMs).unref();
    },
    flush,
    async close() {
      closed = true;
      clearTimeout(timer);
      await flush();
    },
  };
}
