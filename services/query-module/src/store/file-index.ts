// SQL глобального индекса query-module.
import type { Database } from '@artstore/core';
import type { ChangeEntry, FileRecord } from '@artstore/contracts';

/** Курсор ленты SE в индексе; epoch и sweep_pending — перестроение с нуля (mark-and-sweep). */
export interface IndexCursor {
  last_seq: number;
  epoch: number;
  sweep_pending: boolean;
}

export function createFileIndex(db: Database) {
  return {
    async cursor(elementId: string): Promise<IndexCursor> {
      const { rows } = await db.query<{ last_seq: string | number; epoch: string | number; sweep_pending: boolean }>(
        'select last_seq, epoch, sweep_pending from query_cursors where element_id = $1',
        [elementId],
      );
      const row = rows[0];
      return row
        ? { last_seq: Number(row.last_seq), epoch: Number(row.epoch), sweep_pending: row.sweep_pending }
        : { last_seq: 0, epoch: 0, sweep_pending: false };
    },

    /** Курсоры всех SE, известных индексу (прогресс перестроения). */
    async cursors(): Promise<Map<string, IndexCursor>> {
      const { rows } = await db.query<{ element_id: string; last_seq: string | number; epoch: string | number; sweep_pending: boolean }>(
        'select element_id, last_seq, epoch, sweep_pending from query_cursors order by element_id',
      );
      return new Map(rows.map((r) => [r.element_id, { last_seq: Number(r.last_seq), epoch: Number(r.epoch), sweep_pending: r.sweep_pending }]));
    },

    /**
     * Пачка изменений и новый курсор — в одной транзакции: индекс и курсор не расходятся. Строки помечаются эпохой
     * курсора; если эпоха в БД уже другая (перестроение сбросило курсор после чтения пачки), пачка не применяется —
     * false, вызывающий перечитывает курсор.
     */
    async apply(elementId: string, changes: readonly ChangeEntry[], lastSeq: number, epoch: number): Promise<boolean> {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query<{ epoch: string | number }>('select epoch from query_cursors where element_id = $1 for update', [
          elementId,
        ]);
        if (rows[0] && Number(rows[0].epoch) !== epoch) return false;
        for (const { seq, record } of changes) {
          await tx.query(
            `insert into query_files (id, element_id, name, content_type, size, sha256, status, created_at, updated_at, record, change_seq, index_epoch)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             on conflict (id) do update set element_id = excluded.element_id, name = excluded.name,
               content_type = excluded.content_type, size = excluded.size, sha256 = excluded.sha256, status = excluded.status,
               updated_at = excluded.updated_at, record = excluded.record, change_seq = excluded.change_seq,
               index_epoch = excluded.index_epoch
             -- Запись того же SE решает только номер изменения: несколько экземпляров query применяют одну ленту,
             -- и пачка, прочитанная раньше, может прийти после более новой — старая active не воскрешает удалённый
             -- файл. После переноса (SPEC IN-6) один id есть на двух SE, их ленты приходят в любом порядке: запись
             -- другого SE заменяет строку, только если она активна, а строка нет, или обе равны и она новее.
             where case when query_files.element_id = excluded.element_id
                     then excluded.change_seq >= query_files.change_seq
                     else (excluded.status = 'active') > (query_files.status = 'active')
                       or ((excluded.status = 'active') = (query_files.status = 'active') and excluded.updated_at >= query_files.updated_at)
                   end`,
            [
              record.id, elementId, record.name, record.content_type, record.size, record.sha256, record.status,
              record.created_at, record.updated_at, JSON.stringify(record), seq, epoch,
            ],
          );
        }
        await tx.query(
          `insert into query_cursors (element_id, last_seq, updated_at, epoch) values ($1, $2, now(), $3)
           on conflict (element_id) do update set last_seq = greatest(query_cursors.last_seq, excluded.last_seq), updated_at = now()`,
          [elementId, lastSeq, epoch],
        );
        return true;
      });
    },

    /**
     * Начало перестроения с нуля (SPEC QR-1): курсоры SE — в 0 с новой общей эпохой. Строки индекса остаются и
     * отвечают поиску, пока ленты применяются заново; их удалит sweep.
     */
    async reset(elementIds: readonly string[]): Promise<{ epoch: number; elements: string[] }> {
      // Только SE, которым кто-то следует: курсор SE, выведенного из состава, дочитать и убрать некому —
      // перестроение никогда бы не закончилось.
      const { rows } = await db.query<{ element_id: string; epoch: string | number }>(
        `update query_cursors set last_seq = 0, sweep_pending = true, updated_at = now(),
           epoch = (select coalesce(max(epoch), 0) + 1 from query_cursors)
         where element_id = any($1::text[])
         returning element_id, epoch`,
        [elementIds],
      );
      return { epoch: Number(rows[0]?.epoch ?? 0), elements: rows.map((r) => r.element_id).sort() };
    },

    /**
     * Завершение перестроения SE, чья лента дочитана в эпохе epoch: удаляет его строки, не обновлённые в этой
     * эпохе (файлов больше нет в ленте). null — эпоха уже сменилась или уборка сделана; иначе — число удалённых.
     */
    async sweep(elementId: string, epoch: number): Promise<number | null> {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query<{ epoch: string | number; sweep_pending: boolean }>(
          'select epoch, sweep_pending from query_cursors where element_id = $1 for update',
          [elementId],
        );
        if (!rows[0] || Number(rows[0].epoch) !== epoch || !rows[0].sweep_pending) return null;
        const deleted = await tx.query('delete from query_files where element_id = $1 and index_epoch < $2', [elementId, epoch]);
        await tx.query('update query_cursors set sweep_pending = false, updated_at = now() where element_id = $1', [elementId]);
        return deleted.rowCount;
      });
    },

    async get(id: string): Promise<FileRecord | undefined> {
      const { rows } = await db.query<{ record: FileRecord }>('select record from query_files where id = $1', [id]);
      return rows[0]?.record;
    },
  };
}
export type FileIndex = ReturnType<typeof createFileIndex>;
