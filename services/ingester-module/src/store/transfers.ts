// Журнал координатора переноса (SPEC IN-6) в БД ingester: только SQL. Смысл состояний — в
// domain/transfer-coordinator.ts. Каждый переход условен по owner: экземпляр, у которого перенос забрало
// восстановление (молчал дольше stale_after), уже не может его менять.
import type { TransactionStep } from '@artstore/contracts';
import { ArtError, type AuditActor, type Database } from '@artstore/core';
import { createStaleRowsStore, journalColumns, type JournalRow, type StaleRowsStore } from './stale-rows.js';

export const TRANSFER_ACTIVE = ['started', 'preparing', 'prepared', 'committing', 'aborting'] as const;
export const TRANSFER_FINISHED = ['committed', 'aborted'] as const;
export type TransferState = (typeof TRANSFER_ACTIVE)[number] | (typeof TRANSFER_FINISHED)[number];

export interface TransferRow extends JournalRow {
  source: string;
  target: string;
  state: TransferState;
  sha256: string;
  size: number;
}

export interface NewTransfer {
  id: string;
  file_id: string;
  source: string;
  target: string;
  owner: string;
  actor: AuditActor;
  ip: string | null;
  request_id: string | null;
  sha256: string;
  size: number;
  step: TransactionStep;
}

const TABLE = 'ingester_transfers';

function parse(row: Record<string, unknown>): TransferRow {
  return {
    ...(row as unknown as TransferRow),
    ...journalColumns(row),
    size: Number(row.size),
  };
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === '23505';
}

export function createTransferStore(db: Database) {
  const stale: StaleRowsStore<TransferRow> = createStaleRowsStore(
    db,
    { table: TABLE, activeStates: TRANSFER_ACTIVE, finishedStates: TRANSFER_FINISHED },
    parse,
  );

  async function activeFor(fileId: string): Promise<TransferRow | undefined> {
    const { rows } = await db.query(`select * from ${TABLE} where file_id = $1 and state = any($2::text[])`, [
      fileId,
      [...TRANSFER_ACTIVE],
    ]);
    return rows[0] === undefined ? undefined : parse(rows[0]);
  }

  return {
    stale,
    /** Запись started; у файла уже есть незавершённый перенос — TRANSFER_IN_PROGRESS (уникальный индекс). */
    async insert(transfer: NewTransfer): Promise<void> {
      try {
        await db.query(
          `insert into ${TABLE} (id, file_id, source, target, state, owner, heartbeat_at, started_at, updated_at, steps,
             actor, ip, request_id, sha256, size)
           values ($1, $2, $3, $4, 'started', $5, now(), now(), now(), $6::jsonb, $7::jsonb, $8, $9, $10, $11)`,
          [
            transfer.id,
            transfer.file_id,
            transfer.source,
            transfer.target,
            transfer.owner,
            JSON.stringify([transfer.step]),
            JSON.stringify(transfer.actor),
            transfer.ip,
            transfer.request_id,
            transfer.sha256,
            transfer.size,
          ],
        );
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        const running = await activeFor(transfer.file_id);
        throw new ArtError('TRANSFER_IN_PROGRESS', `Файл ${transfer.file_id} уже переносится`, {
          extra: { transfer_id: running?.id ?? null },
        });
      }
    },
    /** Переход с новым шагом; false — перенос уже не этого экземпляра (его забрал другой). */
    async transition(
      id: string,
      owner: string,
      change: { state: TransferState; step: TransactionStep; error?: string },
    ): Promise<boolean> {
      const { rowCount } = await db.query(
        `update ${TABLE} set state = $3, steps = steps || $4::jsonb, updated_at = now(), heartbeat_at = now(),
           error = coalesce($5, error)
         where id = $1 and owner = $2`,
        [id, owner, change.state, JSON.stringify([change.step]), change.error ?? null],
      );
      return rowCount === 1;
    },
    get: (id: string) => stale.get(id),
    list: (filter: { state?: string; limit: number }) => stale.list(filter),
  };
}
export type TransferStore = ReturnType<typeof createTransferStore>;
