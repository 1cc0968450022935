// Журнал аудита в БД admin-module (SPEC AD-9): записи строго по порядку seq, каждая несёт хеш
// предыдущей. Добавление — под транзакционной блокировкой: два экземпляра admin не разорвут цепочку,
// и под ней же проверяется event_id — событие, доставленное очередью повторно, второй раз не пишется.
// Порядок записей — порядок вызовов append.
import { createGroupBatcher, type Database, type Queryable } from '@artstore/core';

export interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  /** Поля событий от сервисов (миграция 0008); у записей до неё — null. */
  event_id: string | null;
  service: string | null;
  actor_name: string | null;
  outcome: string | null;
  ip: string | null;
  request_id: string | null;
  prev_hash: string;
  hash: string;
}

export type AuditEntry = Omit<AuditRow, 'seq' | 'prev_hash' | 'hash'>;

/** Хеш «до первой записи»: начало цепочки. */
export const GENESIS_HASH = '0'.repeat(64);

const COLUMNS = [
  'seq',
  'at',
  'actor',
  'action',
  'target',
  'details',
  'event_id',
  'service',
  'actor_name',
  'outcome',
  'ip',
  'request_id',
  'prev_hash',
  'hash',
] as const satisfies readonly (keyof AuditRow)[];
const SELECT = `select ${COLUMNS.join(', ')} from admin_audit_log`;

interface RawRow extends Omit<AuditRow, 'seq' | 'at'> {
  seq: string | number;
  at: Date | string;
}

const toRow = (row: RawRow): AuditRow => ({
  ...row,
  seq: Number(row.seq),
  at: new Date(row.at).toISOString(),
});

/** Последняя запись — голова цепочки. */
async function headOf(q: Queryable): Promise<{ seq: number; hash: string } | null> {
  const { rows } = await q.query<{ seq: string | number; hash: string }>('select seq, hash from admin_audit_log order by seq desc limit 1');
  return rows[0] === undefined ? null : { seq: Number(rows[0].seq), hash: rows[0].hash };
}

type Seal = (row: Omit<AuditRow, 'hash'>) => string;
type Appended = { row: AuditRow; duplicate: boolean };

/** Наибольшая пачка одной транзакции: блокировка цепочки не держится дольше, чем нужно на сотню строк. */
const MAX_BATCH = 100;

export function createAuditLogStore(db: Database) {
  // Групповая фиксация: записи, пришедшие, пока идёт транзакция, уходят следующей одной транзакцией —
  // параллельные события платят за одну блокировку и один fsync, а не каждое за свой.
  const appendBatch = createGroupBatcher<{ entry: AuditEntry; seal: Seal }, Appended>(
    (items) =>
      db.transaction(async (tx) => {
        await tx.query("select pg_advisory_xact_lock(hashtext('admin_audit_log'))");
        let last = await headOf(tx);
        const results: Appended[] = [];
        for (const { entry, seal } of items) {
          if (entry.event_id !== null) {
            const { rows } = await tx.query<RawRow>(`${SELECT} where event_id = $1`, [entry.event_id]);
            if (rows[0] !== undefined) {
              results.push({ row: toRow(rows[0]), duplicate: true });
              continue;
            }
          }
          const unsealed = { ...entry, seq: (last?.seq ?? 0) + 1, prev_hash: last?.hash ?? GENESIS_HASH };
          const row: AuditRow = { ...unsealed, hash: seal(unsealed) };
          await tx.query(
            `insert into admin_audit_log (${COLUMNS.join(', ')}) values (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
            COLUMNS.map((column) => (column === 'details' ? JSON.stringify(row.details) : row[column])),
          );
          last = row;
          results.push({ row, duplicate: false });
        }
        return results;
      }),
    { maxBatch: MAX_BATCH },
  );

  return {
    /**
     * Добавляет запись: seq и предыдущий хеш читаются под блокировкой, хеш считает seal по ним.
     * Запись с уже известным event_id не добавляется — возвращается прежняя (duplicate).
     */
    append: (entry: AuditEntry, seal: Seal): Promise<Appended> => appendBatch({ entry, seal }),
    async page(after: number, limit: number): Promise<AuditRow[]> {
      const { rows } = await db.query<RawRow>(`${SELECT} where seq > $1 order by seq limit $2`, [after, limit]);
      return rows.map(toRow);
    },
    head: () => headOf(db),
  };
}
export type AuditLogStore = ReturnType<typeof createAuditLogStore>;
