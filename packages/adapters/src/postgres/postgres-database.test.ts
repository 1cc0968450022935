import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { isArtError, runMigrations, type Database } from '@artstore/core';
import { databaseContract } from '@artstore/core/testing';
import { createThrowawayPostgres, type ThrowawayPostgres } from '../testing/postgres-test-db.js';
import { createPostgresDatabase, type PostgresDatabaseOptions } from './postgres-database.js';

let contractDb: ThrowawayPostgres | undefined;
databaseContract(
  'postgres',
  async () => {
    contractDb = await createThrowawayPostgres('contract');
    return createPostgresDatabase({ ...contractDb.options, maxConnections: 4 });
  },
  async () => {
    await contractDb?.drop();
  },
);

/** Ждёт условия не дольше timeoutMs: события пула приходят асинхронно. */
async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('не дождались условия');
    await sleep(20);
  }
}

void describe('createPostgresDatabase: проверка параметров', () => {
  const good: PostgresDatabaseOptions = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'x' };
  const cases: [string, Partial<Record<keyof PostgresDatabaseOptions, unknown>>, RegExp][] = [
    ['пустой host', { host: '' }, /host/],
    ['дробный port', { port: 5432.5 }, /port.*5432\.5/],
    ['port вне диапазона', { port: 70000 }, /port/],
    ['нет user', { user: undefined }, /user/],
    ['пароль не строка', { password: 123 }, /password/],
    ['нет database', { database: ' ' }, /database/],
    ['ssl не boolean', { ssl: 'yes' }, /ssl/],
    ['maxConnections = 0', { maxConnections: 0 }, /maxConnections/],
    ['длинное applicationName', { applicationName: 'я'.repeat(40) }, /applicationName/],
    ['отрицательный statementTimeoutMs', { statementTimeoutMs: -1 }, /statementTimeoutMs/],
    ['onError не функция', { onError: 'log' }, /onError/],
  ];
  for (const [title, patch, message] of cases) {
    void it(`${title} — CONFIG_INVALID с именем параметра`, () => {
      assert.throws(
        () => createPostgresDatabase({ ...good, ...patch } as PostgresDatabaseOptions),
        (error) => isArtError(error, 'CONFIG_INVALID') && message.test(error.message),
      );
    });
  }

  void it('пароль не попадает в сообщение об ошибке', () => {
    assert.throws(
      () => createPostgresDatabase({ ...good, password: 'сверхсекрет', port: 0 }),
      (error) => error instanceof Error && !error.message.includes('сверхсекрет'),
    );
  });
});

void describe('createPostgresDatabase: поведение пула', () => {
  let throwaway: ThrowawayPostgres;
  let admin: pg.Client;
  const opened: Database[] = [];
  const open = (extra: Partial<PostgresDatabaseOptions> = {}): Database => {
    const db = createPostgresDatabase({ ...throwaway.options, ...extra });
    opened.push(db);
    return db;
  };
  const terminate = (applicationName: string) =>
    admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [applicationName]);

  before(async () => {
    throwaway = await createThrowawayPostgres('pool');
    admin = new pg.Client({ ...throwaway.options });
    await admin.connect();
  });
  after(async () => {
    for (const db of opened) await db.close();
    await admin.end();
    await throwaway.drop();
  });

  void it('обрыв простаивающего соединения уходит в onError, процесс жив, пул восстанавливается', async () => {
    const errors: Error[] = [];
    const db = open({ applicationName: 'artstore_idle_test', onError: (error) => errors.push(error) });
    await db.ping();
    await terminate('artstore_idle_test');
    await waitFor(() => errors.length > 0);
    assert.equal((errors[0] as Error & { code?: string }).code, '57P01');
    await db.ping();
  });

  void it('обрыв соединения посреди транзакции: transaction() отклоняется, onError вызван, пул жив', async () => {
    const errors: Error[] = [];
    const db = open({ applicationName: 'artstore_tx_test', onError: (error) => errors.push(error) });
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('select 1');
        await terminate('artstore_tx_test');
        await tx.query('select 1');
      }),
      (error) => error instanceof Error && !/внутри transaction/.test(error.message),
    );
    await waitFor(() => errors.length > 0);
    await db.ping();
  });

  void it('applicationName виден серверу, statementTimeoutMs прерывает долгий запрос (57014)', async () => {
    const db = open({ applicationName: 'artstore_timeout_test', statementTimeoutMs: 100 });
    const { rows } = await db.query<{ name: string }>('select current_setting($1) as name', ['application_name']);
    assert.deepStrictEqual(rows, [{ name: 'artstore_timeout_test' }]);
    await assert.rejects(db.query('select pg_sleep(2)'), (error) => (error as { code?: string }).code === '57014');
  });

  void it('два пула (как два процесса) мигрируют одновременно — каждая миграция применена один раз', async () => {
    const first = open();
    const second = open();
    const migrations = [
      { id: '0001', sql: 'create table race (id int primary key)' },
      { id: '0002', sql: 'insert into race values (1)' },
      { id: '0003', sql: 'insert into race values (2)' },
    ];
    const results = await Promise.all([runMigrations(first, 'race', migrations), runMigrations(second, 'race', migrations)]);
    assert.deepStrictEqual(results.flat().sort(), ['0001', '0002', '0003']);
    const { rows } = await first.query<{ n: number }>('select count(*)::int as n from race');
    assert.deepStrictEqual(rows, [{ n: 2 }]);
  });

  void it('разбор int8 свой у пула: глобальный pg.types не меняется', async () => {
    const db = open();
    assert.deepStrictEqual((await db.query('select 5::int8 as n')).rows, [{ n: 5n }]);
    const { rows } = await admin.query<{ n: unknown }>('select 5::int8 as n');
    assert.deepStrictEqual(rows, [{ n: '5' }]);
  });
});
