// Обзор транзакций (SPEC AD-10): что сейчас в работе в любом сервисе — транзакции записи SE (WAL),
// саги загрузки и переносы ingester — в одном виде; admin-module собирает их в GET /api/transactions.

export interface TransactionStep {
  name: string;
  state: string;
  at: string;
  error?: string;
}

export interface TransactionView {
  /** Идентификатор в сервисе-источнике (tx WAL, id саги). */
  id: string;
  /** Что за транзакция: `se.put`, `se.update`, `se.delete`, `saga.upload`, `transfer` … */
  kind: string;
  /** Сервис, который её ведёт. */
  service: string;
  /** Экземпляр-источник: element_id SE, идентификатор экземпляра ingester. */
  source: string;
  /** `in_progress`, `compensating`, `committed`, `aborted`, `failed` … */
  state: string;
  started_at: string;
  updated_at: string;
  /** Файл, над которым идёт транзакция, если есть. */
  file_id?: string;
  steps: TransactionStep[];
  error?: string;
}

/** Ответ сервиса-источника (например, GET /api/transactions у SE). */
export interface SourceTransactions {
  service: string;
  source: string;
  transactions: TransactionView[];
}

/** Сводный ответ admin-module: недоступный источник виден явно, а не молча пропущен. */
export interface TransactionsOverview {
  transactions: TransactionView[];
  sources: { service: string; source: string; status: 'ok' | 'unavailable'; error?: string }[];
}
