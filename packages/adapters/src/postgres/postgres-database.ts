// PostgreSQL-сервер для production (SPEC §1) на пуле pg. Поведение выровнено с адаптером PGlite
// по контракту databaseContract (@artstore/core/testing).
import pg from 'pg';
import type { CustomTypesConfig, PoolClient, QueryResult as PgQueryResult } from 'pg';
import type { Database, Queryable, QueryResult } from '@artstore/core';
import { ArtError } from '@artstore/core';
import { createTransactionScope } from '../transaction-scope.js';

export interface PostgresDatabaseOptions {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  ssl?: boolean;
  /** Размер пула; по умолчанию 10. */
  maxConnections?: number;
  /** Видно в pg_stat_activity — по нему оператор находит соединения сервиса. */
  applicationName?: string;
  /** statement_timeout сессии; 0 или отсутствие — без ограничения. */
  statementTimeoutMs?: number;
  /**
   * Ошибки соединений, которые некому вернуть (обрыв простаивающего соединения в пуле или
   * соединения транзакции между запросами). По умолчанию — process.emitWarning.
   */
  onError?: (error: Error) => void;
}

/** Без него ping() при недоступном сервере висел бы до TCP-таймаута ОС, а /health/ready — вместе с ним. */
const CONNECT_TIMEOUT_MS = 10_000;

const OID = { INT8: 20, INT8_ARRAY: 1016, TEXT_ARRAY: 1009, DATE: 1082, DATE_ARRAY: 1182, TIMESTAMP: 1114, TIMESTAMP_ARRAY: 1115 };

type Nested<T> = T | null | Nested<T>[];

function mapNested<T>(value: Nested<string>, fn: (item: string) => T): Nested<T> {
  if (value === null) return null;
  return Array.isArray(value) ? value.map((item) => mapNested(item, fn)) : fn(value);
}

/**
 * Разбор значений выровнен с адаптером PGlite (решение описано в databaseContract): int8 → bigint
 * (по умолчанию pg отдаёт строку), date и timestamp без зоны → исходная строка (pg по умолчанию
 * делает Date в локальной зоне процесса). timestamptz → Date, json/jsonb → объект, numeric → строка,
 * bytea → Buffer — это умолчания pg. Переопределения свои у пула: глобальный pg.types не трогаем,
 * чтобы не менять поведение чужих пулов в том же процессе.
 */
function createTypes(): CustomTypesConfig {
  const textArray = pg.types.getTypeParser(OID.TEXT_ARRAY, 'text') as (value: string) => Nested<string>;
  const overrides = new Map<number, (value: string) => unknown>([
    [OID.INT8, (value) => BigInt(value)],
    [OID.INT8_ARRAY, (value) => mapNested(textArray(value), (item) => BigInt(item))],
    [OID.DATE, (value) => value],
    [OID.DATE_ARRAY, textArray],
    [OID.TIMESTAMP, (value) => value],
    [OID.TIMESTAMP_ARRAY, textArray],
  ]);
  const getTypeParser = (oid: number, format: 'text' | 'binary' = 'text'): unknown =>
    (format === 'text' ? overrides.get(oid) : undefined) ?? pg.types.getTypeParser(oid, format);
  return { getTypeParser };
}

function invalid(detail: string): ArtError {
  return new ArtError('CONFIG_INVALID', `createPostgresDatabase: ${detail}`);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function isIntegerInRange(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function validate(options: PostgresDatabaseOptions): void {
  if (typeof options !== 'object' || options === null) throw invalid('options должен быть объектом');
  const o = options;
  if (!isNonEmptyString(o.host)) throw invalid('host должен быть непустой строкой');
  if (!isIntegerInRange(o.port, 1, 65535)) throw invalid(`port должен быть целым 1–65535, получено ${String(o.port)}`);
  if (!isNonEmptyString(o.user)) throw invalid('user должен быть непустой строкой');
  // Значение пароля в сообщение не попадает.
  if (o.password !== undefined && typeof o.password !== 'string') throw invalid('password должен быть строкой');
  if (!isNonEmptyString(o.database)) throw invalid('database должен быть непустой строкой');
  if (o.ssl !== undefined && typeof o.ssl !== 'boolean') throw invalid('ssl должен быть boolean');
  if (o.maxConnections !== undefined && !isIntegerInRange(o.maxConnections, 1, 10_000)) {
    throw invalid(`maxConnections должен быть целым 1–10000, получено ${String(o.maxConnections)}`);
  }
  // PostgreSQL молча обрезает application_name до 63 байт — лучше сказать сразу.
  if (o.applicationName !== undefined && (!isNonEmptyString(o.applicationName) || Buffer.byteLength(o.applicationName) > 63)) {
    throw invalid('applicationName должен быть непустой строкой не длиннее 63 байт');
  }
  if (o.statementTimeoutMs !== undefined && !isIntegerInRange(o.statementTimeoutMs, 0, 2_147_483_647)) {
    throw invalid(`statementTimeoutMs должен быть целым ≥ 0, получено ${String(o.statementTimeoutMs)}`);
  }
  if (o.onError !== undefined && typeof o.onError !== 'function') throw invalid('onError должен быть функцией');
}

/**
 * pg возвращает массив результатов, если в SQL без параметров несколько операторов (простой
 * протокол). Правило порта: результат последнего оператора — так же делает адаптер PGlite.
 */
function toResult<R>(result: PgQueryResult | PgQueryResult[]): QueryResult<R> {
  const last = Array.isArray(result) ? result.at(-1) : result;
  if (last === undefined) return { rows: [], rowCount: 0 };
  return { rows: last.rows as R[], rowCount: last.rowCount ?? 0 };
}

async function run<R>(target: pg.Pool | PoolClient, sql: string, params: readonly unknown[] | undefined): Promise<QueryResult<R>> {
  // Пустой массив параметров pg тоже исполняет простым протоколом — PGlite-адаптер следует тому же правилу.
  const result = (await target.query(sql, params === undefined ? undefined : [...params])) as PgQueryResult | PgQueryResult[];
  return toResult<R>(result);
}

/** Та же ошибка, что бросает PGlite: COMMIT прерванной транзакции сервер молча превращает в ROLLBACK. */
function transactionAbortedError(): Error {
  return Object.assign(new Error('Transaction was rolled back instead of committed'), { code: '25P02' });
}

export function createPostgresDatabase(options: PostgresDatabaseOptions): Database {
  validate(options);
  const onError =
    options.onError ?? ((error: Error) => process.emitWarning(`PostgreSQL: ошибка соединения: ${error.message}`, 'ArtStoreDatabase'));
  const pool = new pg.Pool({
    host: options.host,
    port: options.port,
    user: options.user,
    password: options.password,
    database: options.database,
    ssl: options.ssl ?? false,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName,
    statement_timeout: options.statementTimeoutMs ?? 0,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    types: createTypes(),
  });
  // Без обработчика 'error' обрыв простаивающего соединения (рестарт сервера, failover) — это
  // необработанное событие EventEmitter, то есть падение процесса. Пул сам выбрасывает такой клиент.
  pool.on('error', (error) => onError(error));

  // Запрос через db изнутри transaction() ушёл бы мимо транзакции (другое соединение), а на
  // PGlite — в вечное ожидание. Запрещаем одинаково на обоих адаптерах.
  const scope = createTransactionScope();
  let closing: Promise<void> | undefined;

  return {
    kind: 'postgres',
    async query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      scope.assertOutside('query');
      return await run<R>(pool, sql, params);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      scope.assertOutside('transaction');
      const client = await pool.connect();
      // Выданный из пула клиент не слушает 'error' (pg-pool снимает свой обработчик на время
      // выдачи): обрыв между запросами транзакции уронил бы процесс.
      let broken: Error | undefined;
      const onClientError = (error: Error): void => {
        broken ??= error;
        onError(error);
      };
      client.on('error', onClientError);
      const state = { open: true };
      const tx: Queryable = {
        async query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
          // После release() клиент может уже обслуживать чужую транзакцию — запрос туда недопустим.
          scope.assertOpen(state);
          return await run<R>(client, sql, params);
        },
      };
      try {
        await client.query('BEGIN');
        let result: T;
        try {
          result = await scope.run(state, () => fn(tx));
        } catch (error) {
          try {
            await client.query('ROLLBACK');
          } catch (rollbackError) {
            // Соединение в неизвестном состоянии — в пул его не возвращаем.
            broken ??= rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
          }
          throw error;
        }
        const commit = await client.query('COMMIT');
        if (commit.command === 'ROLLBACK') throw transactionAbortedError();
        return result;
      } finally {
        state.open = false;
        client.off('error', onClientError);
        client.release(broken);
      }
    },
    async ping() {
      scope.assertOutside('ping');
      await pool.query('select 1');
    },
    close() {
      closing ??= pool.end();
      return closing;
    },
  };
}
