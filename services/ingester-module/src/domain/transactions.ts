// Источники GET /api/transactions ingester (SPEC AD-10): саги загрузки (IN-4), переносы (IN-6). Каждый
// журнал — поставщик; новый добавляется одной строкой в main.ts.
import type { TransactionStep, TransactionView } from '@artstore/contracts';
import { ArtError } from '@artstore/core';

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

/** Общие колонки журналов ingester (store/stale-rows.ts и шаги TransactionStep). */
export interface JournalRow {
  id: string;
  file_id: string;
  state: string;
  owner: string | null;
  started_at: string;
  updated_at: string;
  steps: TransactionStep[];
  error: string | null;
}

/** Строка журнала в общем виде обзора транзакций; source — экземпляр-хозяин, если он есть. */
export function journalTransaction(
  kind: string,
  row: JournalRow,
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
