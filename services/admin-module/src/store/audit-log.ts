// Журнал аудита в БД admin-module (SPEC AD-9): записи строго по порядку seq, каждая несёт хеш
// предыдущей. Добавление — под транзакционной блокировкой: два экземпляра admin не разорвут цепочку.
import type { Database } from '@artstore/core';

export interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** Хеш «до первой записи»: начало цепочки. */
export const GENESIS_HASH = '0'.repeat(64);

interface RawRow extends Omit<AuditRow, 'seq' | 'at'> {
  seq: string | number;
  at: Date | string;
}

const toRow = (row: RawRow): AuditRow => ({
  ...row,
  seq: Number(row.seq),
  at: new Date(row.at).toISOString(),
});

export function createAuditLogStore(db: Database) {
  return {
    /**
     * Добавляет запись: seq и предыдущий хеш читаются под блокировкой, хеш считает seal по ним.
     */
    async append(
      entry: Omit<AuditRow, 'seq' | 'prev_hash' | 'hash'>,
      seal: (row: Omit<AuditRow, 'hash'>) => string,
    ): Promise<AuditRow> {
      return db.transaction(async (tx) => {
        await tx.query("select pg_advisory_xact_lock(hashtext('admin_audit_log'))");
        const { rows } = await tx.query<{ seq: string | number; hash: string }>(
          'select seq, hash from admin_audit_log order by seq desc limit 1',
        );
        const last = rows[0];
        const unsealed = {
          ...entry,
          seq: last === undefined ? 1 : Number(last.seq) + 1,
          prev_hash: last?.hash ?? GENESIS_HASH,
        };
        const row: AuditRow = { ...unsealed, hash: seal(unsealed) };
        await tx.query(
          `insert into admin_audit_log (seq, at, actor, action, target, details, prev_hash, hash) values ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            row.seq,
            row.at,
            row.actor,
            row.action,
            row.target,
            JSON.stringify(row.details),
            row.prev_hash,
            row.hash,
          ],
        );
        return row;
      });
    },
    async page(after: number, limit: number): Promise<AuditRow[]> {
      const { rows } = await db.query<RawRow>(
        'select seq, at, actor, action, target, details, prev_hash, hash from admin_audit_log where seq > $1 order by seq limit $2',
        [after, limit],
      );
      return rows.map(toRow);
    },
  };
}
export type AuditLogStore = ReturnType<typeof createAuditLogStore>;
