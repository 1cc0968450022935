// SQL глобального индекса query-module.
import type { Database, KeysetPosition } from '@artstore/core';
import type { ChangeEntry, FileRecord } from '@artstore/contracts';

export interface SearchPage {
  items: FileRecord[];
  total: number;
  next: KeysetPosition | null;
}

export function createFileIndex(db: Database) {
  return {
    async cursor(elementId: string): Promise<number> {
      const { rows } = await db.query<{ last_seq: string | number }>(
        'select last_seq from query_cursors where element_id = $1',
        [elementId],
      );
      return Number(rows[0]?.last_seq ?? 0);
    },

    /** Пачка изменений и новый курсор — в одной транзакции: индекс и курсор не расходятся. */
    async apply(elementId: string, changes: readonly ChangeEntry[], lastSeq: number): Promise<void> {
      await db.transaction(async (tx) => {
        for (const { seq, record } of changes) {
          await tx.query(
            `insert into query_files (id, element_id, name, content_type, size, sha256, status, created_at, updated_at, record, change_seq)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             on conflict (id) do update set element_id = excluded.element_id, name = excluded.name,
               content_type = excluded.content_type, size = excluded.size, sha256 = excluded.sha256, status = excluded.status,
               updated_at = excluded.updated_at, record = excluded.record, change_seq = excluded.change_seq
             -- После переноса (SPEC IN-6) один id есть на двух SE, их ленты приходят в любом порядке: запись
             -- другого SE заменяет строку, только если она активна, а строка нет, или обе равны и она новее.
             where query_files.element_id = excluded.element_id
               or (excluded.status = 'active') > (query_files.status = 'active')
               or ((excluded.status = 'active') = (query_files.status = 'active') and excluded.updated_at >= query_files.updated_at)`,
            [
              record.id, elementId, record.name, record.content_type, record.size, record.sha256, record.status,
              record.created_at, record.updated_at, JSON.stringify(record), seq,
            ],
          );
        }
        await tx.query(
          `insert into query_cursors (element_id, last_seq, updated_at) values ($1, $2, now())
           on conflict (element_id) do update set last_seq = greatest(query_cursors.last_seq, excluded.last_seq), updated_at = now()`,
          [elementId, lastSeq],
        );
      });
    },

    async get(id: string): Promise<FileRecord | undefined> {
      const { rows } = await db.query<{ record: FileRecord }>('select record from query_files where id = $1', [id]);
      return rows[0]?.record;
    },

    /**
     * Поиск по имени и описанию: полнотекстовый (русская и английская морфология) или подстрока имени.
     * Порядок — новые первыми, курсор — (created_at, id). Ранжирование, фильтры, подсказки — SPEC QR-2/QR-3.
     */
    async search(q: string, limit: number, after: KeysetPosition | null): Promise<SearchPage> {
      const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const match = `status = 'active' and ($1 = '' or search @@ websearch_to_tsquery('russian', $1)
        or search @@ websearch_to_tsquery('english', $1) or search @@ websearch_to_tsquery('simple', $1) or name ilike $2)`;
      const { rows } = await db.query<{ record: FileRecord; created_at: Date; id: string }>(
        `select record, created_at, id from query_files
         where ${match} and ($3::timestamptz is null or (created_at, id) < ($3::timestamptz, $4::uuid))
         order by created_at desc, id desc limit $5`,
        [q, pattern, after?.at ?? null, after?.id ?? null, limit + 1],
      );
      const { rows: count } = await db.query<{ n: number }>(`select count(*)::int as n from query_files where ${match}`, [q, pattern]);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map((r) => r.record),
        total: count[0]?.n ?? 0,
        next: rows.length > limit && last ? { at: last.created_at.toISOString(), id: last.id } : null,
      };
    },
  };
}
export type FileIndex = ReturnType<typeof createFileIndex>;
