// Встроенная БД по умолчанию (SPEC §1): PostgreSQL, собранный в WASM, внутри процесса сервиса.
// Поведение выровнено с адаптером PostgreSQL по контракту databaseContract (@artstore/core/testing).
import { mkdir } from 'node:fs/promises';
import { PGlite, types, type Results, type Transaction } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { Database, Queryable, QueryResult } from '@artstore/core';
import { ArtError } from '@artstore/core';
import { createTransactionScope } from '../transaction-scope.js';

export interface PgliteDatabaseOptions {
  /** Каталог данных; undefined — БД в памяти (пропадает при закрытии). */
  dataDir?: string;
}

/**
 * Разбор значений выровнен с адаптером PostgreSQL (решение описано в databaseContract):
 * int8 → bigint всегда (PGlite по умолчанию отдаёт number либо bigint в зависимости от величины),
 * bytea → Buffer, date и timestamp без зоны → исходная строка (без угадывания часового пояса).
 * Парсеры массивов PGlite берут парсер элемента отсюда же, поэтому int8[] → bigint[].
 */
const parsers = {
  [types.INT8]: (value: string) => BigInt(value),
  [types.BYTEA]: (value: string) => Buffer.from(value.slice(2), 'hex'),
  [types.DATE]: (value: string) => value,
  [types.TIMESTAMP]: (value: string) => value,
};

/** Поля, которые PGlite добавляет к ошибке; у pg их нет, а params может содержать секреты. */
const PGLITE_ONLY_ERROR_FIELDS = ['query', 'params', 'queryOptions'] as const;

function normaliseError(error: unknown): unknown {
  if (error instanceof Error) {
    for (const field of PGLITE_ONLY_ERROR_FIELDS) Reflect.deleteProperty(error, field);
  }
  return error;
}

function toResult<R>(result: Results<R>): QueryResult<R> {
  // affectedRows есть только у INSERT/UPDATE/DELETE; для SELECT pg сообщает число строк — так же и здесь.
  return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
}

/**
 * Правило исполнения (то же, что у pg): без параметров — простой протокол (exec), в SQL может быть
 * несколько операторов, возвращается результат последнего; с параметрами — расширенный протокол
 * (query), ровно один оператор. Выбор по наличию параметров, а не по разбору SQL: разбор
 * (кавычки, $$-строки, комментарии) хрупок, а повтор после ошибки 42601 внутри транзакции
 * невозможен — ошибка уже прервала её.
 */
async function run<R>(target: PGlite | Transaction, sql: string, params: readonly unknown[] | undefined): Promise<QueryResult<R>> {
  try {
    if (params === undefined || params.length === 0) {
      const results = await target.exec(sql);
      const last = results.at(-1);
      return last === undefined ? { rows: [], rowCount: 0 } : toResult(last as Results<R>);
    }
    return toResult(await target.query<R>(sql, [...params]));
  } catch (error) {
    throw normaliseError(error);
  }
}

function validate(options: PgliteDatabaseOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new ArtError('CONFIG_INVALID', 'createPgliteDatabase: options должен быть объектом');
  }
  const { dataDir } = options;
  if (dataDir !== undefined && (typeof dataDir !== 'string' || dataDir.trim() === '')) {
    throw new ArtError('CONFIG_INVALID', 'createPgliteDatabase: dataDir должен быть непустой строкой или отсутствовать');
  }
}

export async function createPgliteDatabase(options: PgliteDatabaseOptions = {}): Promise<Database> {
  validate(options);
  // PGlite создаёт только последний уровень каталога.
  if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
  // pg_trgm загружаем всегда: расширение, однажды созданное в БД, требует загрузки при каждом
  // следующем открытии, иначе PGlite не откроет каталог данных.
  const pg = await PGlite.create(options.dataDir, { extensions: { pg_trgm }, parsers });

  // PGlite — одно соединение: пока идёт транзакция, любой запрос через db ждёт её конца. Запрос
  // через db изнутри транзакции поэтому зависнет навсегда; ловим это и бросаем понятную ошибку.
  const scope = createTransactionScope();
  let closing: Promise<void> | undefined;

  return {
    kind: 'pglite',
    async query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      scope.assertOutside('query');
      // Вне транзакции PGlite сам ставит запрос в очередь за текущей транзакцией (общий мьютекс),
      // поэтому запрос не попадёт внутрь чужой транзакции — это проверяет контракт.
      return await run<R>(pg, sql, params);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      scope.assertOutside('transaction');
      const state = { open: true };
      try {
        // Собственная transaction() PGlite сериализует конкурентные транзакции и делает ROLLBACK
        // при исключении; COMMIT прерванной транзакции бросает ошибку с code 25P02.
        return await pg.transaction((pgTx) => {
          const tx: Queryable = {
            async query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
              scope.assertOpen(state);
              return await run<R>(pgTx, sql, params);
            },
          };
          return scope.run(state, () => fn(tx));
        });
      } catch (error) {
        throw normaliseError(error);
      } finally {
        state.open = false;
      }
    },
    async ping() {
      scope.assertOutside('ping');
      await run(pg, 'select 1', undefined);
    },
    close() {
      closing ??= pg.close();
      return closing;
    },
  };
}
