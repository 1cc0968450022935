// Порт базы данных (SPEC §1): PostgreSQL-сервер в production и встроенный PGlite по умолчанию.
// SQL один и тот же (параметры $1…$n), поэтому сервисы не знают, какая реализация им досталась.

export interface QueryResult<R> {
  rows: R[];
  /** Число затронутых строк для INSERT/UPDATE/DELETE (0, если драйвер не сообщил). */
  rowCount: number;
}

/** То, на чём можно выполнить запрос: сама БД или открытая транзакция. */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface Database extends Queryable {
  /** 'postgres' — сервер, 'pglite' — встроенный WASM-Postgres. Только для диагностики и /health. */
  readonly kind: 'postgres' | 'pglite';
  /**
   * Выполняет fn в одной транзакции (BEGIN … COMMIT, ROLLBACK при исключении).
   * Все запросы внутри идут через переданный tx.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Проверка доступности для /health/ready. Бросает исключение, если БД недоступна. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Одна миграция схемы. SQL исполняется без изменений и на PostgreSQL, и на PGlite. */
export interface Migration {
  /** Уникальный внутри scope и упорядочиваемый идентификатор, например '0001_init'. */
  id: string;
  sql: string;
}
