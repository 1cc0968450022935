// Журнал саг загрузки (SPEC IN-4) в БД ingester: только SQL. Переходы состояний и их смысл — в
// domain/upload-saga.ts. Каждое изменение строки — условное по owner: экземпляр, у которого сагу забрали
// (молчал дольше stale_after), уже не может её менять.
import type { TransactionStep } from '@artstore/contracts';
import type { AuditActor, Database } from '@artstore/core';
import {
  createStaleRowsStore,
  journalColumns,
  json,
  type JournalRow,
  type StaleRowsStore,
} from './stale-rows.js';

// reserved и stored новые саги не пишут (ADR 0016), но строки прежних версий восстановление решает.
export const UPLOAD_SAGA_ACTIVE = ['reserved', 'transferring', 'stored', 'compensating'] as const;
export const UPLOAD_SAGA_FINISHED = ['completed', 'compensated', 'failed'] as const;
export type UploadSagaState = (typeof UPLOAD_SAGA_ACTIVE)[number] | (typeof UPLOAD_SAGA_FINISHED)[number];

/** Что SE вернул о принятом файле — для события аудита, если сагу доводит другой экземпляр. */
export interface StoredFileSummary {
  name: string;
  size: number;
  sha256: string;
}

export interface UploadSagaRow extends JournalRow {
  element_id: string | null;
  state: UploadSagaState;
  name: string;
  record: StoredFileSummary | null;
}

const TABLE = 'ingester_upload_sagas';

function parse(row: Record<string, unknown>): UploadSagaRow {
  return {
    ...(row as unknown as UploadSagaRow),
    ...journalColumns(row),
    record: row.record === null ? null : json<StoredFileSummary>(row.record),
  };
}

/**
 * Первая запись саги (ADR 0016): `transferring` — когда начинается первая попытка передачи, или сразу
 * `compensated` — если до SE дело не дошло. Отдельной строки `reserved` нет: лишний круг к БД на загрузку.
 */
export interface NewUploadSaga {
  id: string;
  file_id: string;
  state: 'transferring' | 'compensated';
  owner: string;
  element_id: string | null;
  actor: AuditActor;
  ip: string | null;
  request_id: string | null;
  name: string;
  steps: TransactionStep[];
  error: string | null;
}

export interface SagaTransition {
  state: UploadSagaState;
  /** Шаги дописываются одним оператором (завершение: transfer:<se> done и complete done). */
  steps: TransactionStep[];
  element_id?: string;
  record?: StoredFileSummary;
  error?: string;
}

export function createUploadSagaStore(db: Database) {
  const stale: StaleRowsStore<UploadSagaRow> = createStaleRowsStore(
    db,
    { table: TABLE, activeStates: UPLOAD_SAGA_ACTIVE, finishedStates: UPLOAD_SAGA_FINISHED },
    parse,
  );
  return {
    stale,
    async insert(saga: NewUploadSaga): Promise<void> {
      await db.query(
        `insert into ${TABLE} (id, file_id, state, owner, element_id, heartbeat_at, started_at, updated_at, steps, actor, ip, request_id, name, error)
         values ($1, $2, $3, $4, $5, now(), now(), now(), $6::jsonb, $7::jsonb, $8, $9, $10, $11)`,
        [
          saga.id,
          saga.file_id,
          saga.state,
          saga.owner,
          saga.element_id,
          JSON.stringify(saga.steps),
          JSON.stringify(saga.actor),
          saga.ip,
          saga.request_id,
          saga.name,
          saga.error,
        ],
      );
    },
    /** Переход с новым шагом; false — сага уже не этого экземпляра (её забрал другой). */
    async transition(id: string, owner: string, change: SagaTransition): Promise<boolean> {
      const { rowCount } = await db.query(
        `update ${TABLE} set state = $3, steps = steps || $4::jsonb, updated_at = now(), heartbeat_at = now(),
           element_id = coalesce($5, element_id), record = coalesce($6::jsonb, record), error = coalesce($7, error)
         where id = $1 and owner = $2`,
        [
          id,
          owner,
          change.state,
          JSON.stringify(change.steps),
          change.element_id ?? null,
          change.record === undefined ? null : JSON.stringify(change.record),
          change.error ?? null,
        ],
      );
      return rowCount === 1;
    },
    get: (id: string) => stale.get(id),
    list: (filter: { state?: string; limit: number }) => stale.list(filter),
  };
}
export type UploadSagaStore = ReturnType<typeof createUploadSagaStore>;
