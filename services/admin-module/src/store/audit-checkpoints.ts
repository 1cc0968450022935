// Подписанные контрольные точки журнала аудита (SPEC AD-9, BY-8): одна на номер записи. Два
// экземпляра admin, подписавшие одну и ту же голову, не создают двух точек — вторая вставка
// пропускается. UPDATE и DELETE отвергает БД (миграция 0008).
import type { Queryable } from '@artstore/core';

export interface AuditCheckpoint {
  /** Номер записи, на которой стоит точка, и её хеш. */
  seq: number;
  hash: string;
  /** Сколько записей в цепочке на момент точки (при целой цепочке равно seq). */
  count: number;
  created_at: string;
  kid: string;
  /** Ed25519 над каноническим JSON остальных полей, base64url. */
  signature: string;
}

interface RawCheckpoint extends Omit<AuditCheckpoint, 'seq' | 'count' | 'created_at'> {
  seq: string | number;
  count: string | number;
  created_at: Date | string;
}

const toCheckpoint = (row: RawCheckpoint): AuditCheckpoint => ({
  ...row,
  seq: Number(row.seq),
  count: Number(row.count),
  created_at: new Date(row.created_at).toISOString(),
});

const SELECT = 'select seq, hash, count, created_at, kid, signature from admin_audit_checkpoints';

export function createAuditCheckpointStore(db: Queryable) {
  return {
    /** false — точка на этом номере уже есть (её поставил другой экземпляр). */
    async insert(checkpoint: AuditCheckpoint): Promise<boolean> {
      const { rowCount } = await db.query(
        `insert into admin_audit_checkpoints (seq, hash, count, created_at, kid, signature)
         values ($1, $2, $3, $4, $5, $6) on conflict (seq) do nothing`,
        [checkpoint.seq, checkpoint.hash, checkpoint.count, checkpoint.created_at, checkpoint.kid, checkpoint.signature],
      );
      return rowCount === 1;
    },
    async page(after: number, limit: number): Promise<AuditCheckpoint[]> {
      const { rows } = await db.query<RawCheckpoint>(`${SELECT} where seq > $1 order by seq limit $2`, [after, limit]);
      return rows.map(toCheckpoint);
    },
    async latest(): Promise<AuditCheckpoint | null> {
      const { rows } = await db.query<RawCheckpoint>(`${SELECT} order by seq desc limit 1`);
      return rows[0] === undefined ? null : toCheckpoint(rows[0]);
    },
  };
}
export type AuditCheckpointStore = ReturnType<typeof createAuditCheckpointStore>;
