// SQL кеша SE. Кеш пишется только после attr-файла (SPEC SE-4) и всегда может быть перестроен из attr.
import type { Database } from '@artstore/core';
import type { ChangeEntry } from '@artstore/contracts';
import { attrDigest, recordFromAttr, type AttrRecord } from '../domain/attr.js';

export function createFileCache(db: Database, prefix: string) {
  const table = `${prefix}files`;
  return {
    /**
     * Вставка/обновление с новым номером изменения. Номер берётся под транзакционной блокировкой:
     * изменения фиксируются строго в порядке номеров, и читатель ленты не пропустит «запоздавший» номер.
     */
    async upsert(attr: AttrRecord): Promise<number> {
      return db.transaction(async (tx) => {
        await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`${prefix}change_seq`]);
        const { rows } = await tx.query<{ change_seq: string | number }>(
          `insert into ${table} (id, element_id, path, original_name, content_type, size, sha256, status, created_at,
             created_by, updated_at, retention_until, metadata, version, attr, attr_digest, change_seq)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, nextval('${prefix}change_seq'))
           on conflict (id) do update set path = excluded.path, original_name = excluded.original_name,
             content_type = excluded.content_type, size = excluded.size, sha256 = excluded.sha256, status = excluded.status,
             updated_at = excluded.updated_at, retention_until = excluded.retention_until, metadata = excluded.metadata,
             version = excluded.version, attr = excluded.attr, attr_digest = excluded.attr_digest, change_seq = excluded.change_seq
           returning change_seq`,
          [
            attr.id, attr.element_id, attr.path, attr.original_name, attr.content_type, attr.size, attr.sha256, attr.status,
            attr.created_at, attr.created_by, attr.updated_at, attr.retention_until, JSON.stringify(attr.metadata),
            attr.version, JSON.stringify(attr), attrDigest(attr),
          ],
        );
        return Number(rows[0]!.change_seq);
      });
    },

    async get(id: string): Promise<AttrRecord | undefined> {
      const { rows } = await db.query<{ attr: AttrRecord }>(`select attr from ${table} where id = $1`, [id]);
      return rows[0]?.attr;
    },

    async changes(after: number, limit: number): Promise<ChangeEntry[]> {
      const { rows } = await db.query<{ attr: AttrRecord; change_seq: string | number }>(
        `select attr, change_seq from ${table} where change_seq > $1 order by change_seq limit $2`,
        [after, limit],
      );
      return rows.map((row) => ({ seq: Number(row.change_seq), record: recordFromAttr(row.attr) }));
    },

    /** Отпечатки attr всех строк — для сверки с attr-файлами (SPEC SE-6). */
    async digests(): Promise<Map<string, string | null>> {
      const { rows } = await db.query<{ id: string; attr_digest: string | null }>(`select id, attr_digest from ${table}`);
      return new Map(rows.map((row) => [row.id, row.attr_digest]));
    },

    /** Удаляет строку, у которой больше нет attr-файла (сирота кеша). */
    async remove(id: string): Promise<void> {
      await db.query(`delete from ${table} where id = $1`, [id]);
    },

    async usedBytes(): Promise<number> {
      const { rows } = await db.query<{ used: string | number }>(
        `select coalesce(sum(size), 0) as used from ${table} where status = 'active'`,
      );
      return Number(rows[0]?.used ?? 0);
    },
  };
}
export type FileCache = ReturnType<typeof createFileCache>;
