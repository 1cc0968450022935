import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isArtError } from '@artstore/core';
import { databaseContract } from '@artstore/core/testing';
import { createPgliteDatabase } from './pglite-database.js';

databaseContract('pglite (в памяти)', () => createPgliteDatabase());

// Каталог данных общий для контракта и проверки переоткрытия: контракт создаёт в нём pg_trgm,
// и следующее открытие доказывает, что расширение подгружается (иначе каталог не откроется).
const workDir = await mkdtemp(join(tmpdir(), 'artstore-pglite-'));
const dataDir = join(workDir, 'nested', 'pgdata');

databaseContract('pglite (каталог данных)', () => createPgliteDatabase({ dataDir }));

void describe('createPgliteDatabase: каталог данных', () => {
  after(() => rm(workDir, { recursive: true, force: true }));

  void it('данные и pg_trgm переживают закрытие и повторное открытие', async () => {
    const first = await createPgliteDatabase({ dataDir });
    await first.query('create extension if not exists pg_trgm');
    await first.query('create table persisted (id int primary key, name text)');
    await first.query('insert into persisted values ($1, $2)', [1, 'архивный документ']);
    await first.close();

    const second = await createPgliteDatabase({ dataDir });
    try {
      const { rows } = await second.query<{ name: string; s: number }>(
        'select name, similarity(name, $1) as s from persisted where id = $2',
        ['архивный документы', 1],
      );
      assert.equal(rows[0]?.name, 'архивный документ');
      assert.ok((rows[0]?.s ?? 0) > 0.5);
    } finally {
      await second.close();
    }
  });
});

void describe('createPgliteDatabase: одно соединение', () => {
  let db: Awaited<ReturnType<typeof createPgliteDatabase>>;
  before(async () => {
    db = await createPgliteDatabase();
    await db.query('create table log (seq serial primary key, event text)');
  });
  after(() => db.close());

  void it('конкурентные транзакции исполняются по очереди, не перемежаясь', async () => {
    const events: string[] = [];
    await Promise.all(
      ['A', 'B'].map((name) =>
        db.transaction(async (tx) => {
          events.push(`${name}:начало`);
          await tx.query('insert into log (event) values ($1)', [name]);
          await sleep(20);
          events.push(`${name}:конец`);
        }),
      ),
    );
    assert.deepStrictEqual(events, ['A:начало', 'A:конец', 'B:начало', 'B:конец']);
  });

  void it('запрос вне транзакции ждёт её окончания и видит зафиксированное', async () => {
    let opened!: () => void;
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    const transaction = db.transaction(async (tx) => {
      await tx.query('insert into log (event) values ($1)', ['внутри']);
      opened();
      await sleep(30);
    });
    await isOpen;
    const { rows } = await db.query<{ n: number }>('select count(*)::int as n from log where event = $1', ['внутри']);
    await transaction;
    assert.deepStrictEqual(rows, [{ n: 1 }]);
  });
});

void describe('createPgliteDatabase: проверка параметров', () => {
  void it('пустой dataDir — CONFIG_INVALID', async () => {
    await assert.rejects(createPgliteDatabase({ dataDir: '' }), (error) => isArtError(error, 'CONFIG_INVALID') && /dataDir/.test(error.message));
    await assert.rejects(
      createPgliteDatabase({ dataDir: 42 as unknown as string }),
      (error) => isArtError(error, 'CONFIG_INVALID'),
    );
  });
});
