// Источники GET /api/transactions ingester (SPEC AD-10): саги загрузки (IN-4), переносы (IN-6). Каждый
// журнал — поставщик; новый добавляется одной строкой в main.ts.
import type { TransactionStep, TransactionView } from '@artstore/contracts';
import { ArtError, type AuditEventInput } from '@artstore/core';
import type { JournalRow } from '../store/stale-rows.js';

/** Транзакция и SE, которых она касается: по ним пользователь с грантом на SE видит только своё (AD-5). */
export type ScopedTransaction = TransactionView & { elements: readonly string[] };

export interface TransactionsFilter {
  /** Без state — только незавершённые. */
  state?: string;
  limit: number;
}

export type TransactionProvider = (filter: TransactionsFilter) => Promise<ScopedTransaction[]>;

/** Шаг журнала (TransactionStep) с текущим временем. */
export const step = (name: string, state: string, error?: string): TransactionStep => ({
  name,
  state,
  at: new Date().toISOString(),
  ...(error === undefined ? {} : { error }),
});

/** Причина для шага и поля error журнала: код и текст ошибки из каталога или сообщение. */
export const describe = (error: unknown): string =>
  error instanceof ArtError
    ? `${error.code}: ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);

/** Строка журнала в общем виде обзора транзакций; source — экземпляр-хозяин, если он есть. */
export function journalTransaction(
  kind: string,
  row: JournalRow & { state: string },
  elements: readonly string[],
): ScopedTransaction {
  return {
    id: row.id,
    kind,
    service: 'ingester-module',
    source: row.owner ?? 'ingester-module',
    state: row.state,
    started_at: row.started_at,
    updated_at: row.updated_at,
    file_id: row.file_id,
    steps: row.steps,
    ...(row.error === null ? {} : { error: row.error }),
    elements,
  };
}

/** Кто заказал работу журнала — для события аудита (заказавший, его адрес и запрос). */
export function journalAuditContext(
  row: Pick<JournalRow, 'actor' | 'ip' | 'request_id'>,
): Pick<AuditEventInput, 'actor' | 'ip' | 'request_id'> {
  return {
    actor: row.actor,
    ...(row.ip === null ? {} : { ip: row.ip }),
    ...(row.request_id === null ? {} : { request_id: row.request_id }),
  };
}
