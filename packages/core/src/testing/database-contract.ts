// Контрактный набор тестов порта Database (CONVENTIONS, «Contract suites as functions taking a
// factory»): одни и те же проверки для PostgreSQL и PGlite (SPEC §1), чтобы сервисы не зависели от
// того, какая реализация им досталась.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runMigrations } from '../db/migrations.js';
import type { Database, Migration, Queryable } from '../ports/database.js';

/** SQLSTATE ошибки PostgreSQL: на обоих адаптерах лежит в `(err as { code }).code`. */
function sqlState(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

function hasSqlState(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof Error, 'ошибка БД должна быть экземпляром Error');
    assert.equal(sqlState(error), code);
    return true;
  };
}

/**
 * Регистрирует набор тестов node:test, который обязана пройти любая реализация Database.
 *
 * Правила, которые набор закрепляет (их и надо знать авторам SQL в сервисах):
 * - Типы результата одинаковы на обоих адаптерах: int2/int4/float8 → number; int8 (в том числе
 *   count(*)) → bigint (точно, и TypeScript не даст смешать его с number; JSON.stringify на bigint
 *   падает громко, а не отдаёт молча строку); numeric → string; timestamptz → Date; date и timestamp
 *   без зоны → исходная строка, например '2024-03-01' и '2024-03-01 12:34:56'; json/jsonb → разобранное
 *   значение; bytea → Buffer; boolean → boolean; массивы → JS-массивы с теми же типами элементов;
 *   NULL → null. Прочие типы не выровнены — приводите их в SQL (::text).
 * - Параметры: bigint, number, string, boolean, Date, Buffer, null, массивы. Для jsonb передавайте
 *   объект или готовую JSON-строку; массив верхнего уровня — только как JSON.stringify(arr), потому
 *   что pg превращает JS-массив в литерал массива PostgreSQL.
 * - query() без параметров (или с пустым массивом) исполняется простым протоколом: можно несколько
 *   операторов, возвращается результат последнего. С параметрами — ровно один оператор.
 * - rowCount: число затронутых строк для INSERT/UPDATE/DELETE, число строк для SELECT, иначе 0.
 * - Ошибки сервера — Error с SQLSTATE в .code (23505 — нарушение уникальности); параметры запроса
 *   к ошибке не прикладываются (там могут быть секреты).
 * - Внутри transaction() работают только через tx; вызов db.* там отклоняется, tx после окончания
 *   транзакции — тоже. Перехваченная ошибка внутри транзакции прерывает её: COMMIT отклоняется с 25P02.
 *
 * Набор создаёт только свои таблицы (уникальный префикс) и удаляет их в конце; строки учёта
 * миграций — тоже. factory вызывается один раз, cleanup — после закрытия БД (например, удалить
 * одноразовую базу).
 */
export function databaseContract(name: string, factory: () => Promise<Database>, cleanup?: () => Promise<void>): void {
  void describe(`Database contract: ${name}`, () => {
    const prefix = `ct_${randomBytes(4).toString('hex')}`;
    const tables = new Set<string>();
    const scopes = new Set<string>();
    let db: Database;
    let closed = false;

    const table = (suffix: string): string => {
      const tableName = `${prefix}_${suffix}`;
      tables.add(tableName);
      return tableName;
    };
    const scope = (suffix: string): string => {
      const scopeName = `${prefix}_${suffix}`;
      scopes.add(scopeName);
      return scopeName;
    };
    const count = async (q: Queryable, tableName: string): Promise<number> => {
      const { rows } = await q.query<{ n: number }>(`select count(*)::int as n from ${tableName}`);
      return rows[0]?.n ?? -1;
    };
    const exists = async (tableName: string): Promise<boolean> => {
      const { rows } = await db.query<{ present: boolean }>(`select to_regclass($1) is not null as present`, [tableName]);
      return rows[0]?.present === true;
    };
    const dropOwn = async (): Promise<void> => {
      for (const tableName of tables) await db.query(`drop table if exists ${tableName}`);
      if (scopes.size > 0 && (await exists('artstore_schema_migrations'))) {
        await db.query(`delete from artstore_schema_migrations where scope = any($1)`, [[...scopes]]);
      }
    };

    before(async () => {
      db = await factory();
    });

    after(async () => {
      try {
        if (!closed) {
          await dropOwn();
          await db.close();
        }
      } finally {
        await cleanup?.();
      }
    });

    void it('ping() проходит, kind — известная реализация', async () => {
      await db.ping();
      assert.ok(db.kind === 'postgres' || db.kind === 'pglite');
    });

    void it('параметры $1…$n: значения всех типов возвращаются одинаковыми JS-типами', async () => {
      const t = table('types');
      await db.query(`create table ${t} (
        id int primary key, t text, i int, b bigint, j jsonb, ja jsonb, ts timestamptz, by bytea, n text,
        ta text[], ia int[], ba bigint[], flag boolean, num numeric, d date, lts timestamp, f float8)`);
      const ts = new Date('2024-03-01T12:34:56.789Z');
      const big = 9007199254740993n; // 2^53 + 1: в number не помещается
      const json = { a: 1, nested: { b: [1, 'x', null] }, text: 'Привет' };
      const insert = await db.query(
        `insert into ${t} values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
        [1, 'Привет, «мир»', 42, big, json, JSON.stringify([1, 2]), ts, Buffer.from([0, 1, 255]), null,
          ['a', 'b,c', '"q"', null], [1, 2, 3], [1n, big], true, '12345678901234567890.0001', '2024-03-01',
          '2024-03-01 12:34:56', 1.5],
      );
      assert.equal(insert.rowCount, 1);
      const { rows } = await db.query(`select * from ${t} where id = $1`, [1]);
      assert.deepStrictEqual(rows, [{
        id: 1, t: 'Привет, «мир»', i: 42, b: big, j: json, ja: [1, 2], ts, by: Buffer.from([0, 1, 255]), n: null,
        ta: ['a', 'b,c', '"q"', null], ia: [1, 2, 3], ba: [1n, big], flag: true, num: '12345678901234567890.0001',
        d: '2024-03-01', lts: '2024-03-01 12:34:56', f: 1.5,
      }]);

      const expr = await db.query<Record<string, unknown>>(
        `select count(*) as c, $1::int8 + 1 as next, $2::timestamptz as at, $3::text is null as is_null from ${t}`,
        [big, ts, null],
      );
      assert.deepStrictEqual(expr.rows, [{ c: 1n, next: big + 1n, at: ts, is_null: true }]);
    });

    void it('rowCount: INSERT/UPDATE/DELETE — затронутые строки, SELECT — число строк', async () => {
      const t = table('rows');
      await db.query(`create table ${t} (id int primary key, v text)`);
      assert.equal((await db.query(`insert into ${t} values ($1, 'a'), ($2, 'b'), ($3, 'c')`, [1, 2, 3])).rowCount, 3);
      const returning = await db.query<{ id: number }>(`insert into ${t} values ($1, 'd') returning id`, [4]);
      assert.deepStrictEqual(returning, { rows: [{ id: 4 }], rowCount: 1 });
      assert.equal((await db.query(`update ${t} set v = 'z' where id <= $1`, [2])).rowCount, 2);
      assert.equal((await db.query(`update ${t} set v = 'z' where id > $1`, [100])).rowCount, 0);
      assert.equal((await db.query(`delete from ${t} where id = $1`, [3])).rowCount, 1);
      const selected = await db.query(`select * from ${t} where v = $1`, ['z']);
      assert.equal(selected.rowCount, 2);
      assert.equal(selected.rows.length, 2);
    });

    void it('без параметров — несколько операторов и результат последнего; с параметрами — один оператор', async () => {
      const t = table('multi');
      const result = await db.query<{ n: number }>(
        `create table ${t} (id int primary key); insert into ${t} values (1); insert into ${t} values (2);
         select count(*)::int as n from ${t}`,
      );
      assert.deepStrictEqual(result.rows, [{ n: 2 }]);
      await assert.rejects(db.query(`insert into ${t} values ($1); select 1`, [3]), hasSqlState('42601'));
      assert.equal(await count(db, t), 2);
    });

    void it('transaction() фиксирует изменения и возвращает результат fn', async () => {
      const t = table('commit');
      await db.query(`create table ${t} (id int primary key)`);
      const result = await db.transaction(async (tx) => {
        await tx.query(`insert into ${t} values ($1)`, [1]);
        await tx.query(`insert into ${t} values ($1)`, [2]);
        return 'готово';
      });
      assert.equal(result, 'готово');
      assert.equal(await count(db, t), 2);
    });

    void it('исключение в fn откатывает транзакцию и пробрасывается тем же объектом', async () => {
      const t = table('rollback');
      await db.query(`create table ${t} (id int primary key)`);
      const failure = new Error('сбой в бизнес-логике');
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query(`insert into ${t} values ($1)`, [1]);
          throw failure;
        }),
        (error) => error === failure,
      );
      assert.equal(await count(db, t), 0);
      // Соединение после отката пригодно для работы.
      await db.transaction((tx) => tx.query(`insert into ${t} values ($1)`, [2]));
      assert.equal(await count(db, t), 1);
    });

    void it('tx передаётся во вложенные функции, видит свои записи, допускает параллельные запросы', async () => {
      const t = table('nested');
      await db.query(`create table ${t} (id int primary key, v text)`);
      const insert = (q: Queryable, id: number) => q.query(`insert into ${t} values ($1, $2)`, [id, `v${id}`]);
      const readAll = async (q: Queryable) => (await q.query<{ id: number }>(`select id from ${t} order by id`)).rows;
      let leaked: Queryable | undefined;
      const seen = await db.transaction(async (tx) => {
        leaked = tx;
        await insert(tx, 1);
        await Promise.all([insert(tx, 2), insert(tx, 3)]);
        return readAll(tx);
      });
      assert.deepStrictEqual(seen, [{ id: 1 }, { id: 2 }, { id: 3 }]);
      assert.ok(leaked);
      await assert.rejects(leaked.query('select 1'), /завершена/);
    });

    void it('db.* внутри transaction() отклоняется, транзакция откатывается', async () => {
      const t = table('misuse');
      await db.query(`create table ${t} (id int primary key)`);
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query(`insert into ${t} values ($1)`, [1]);
          await db.query(`insert into ${t} values ($1)`, [2]);
        }),
        /внутри transaction/,
      );
      await assert.rejects(db.transaction(() => db.transaction(() => Promise.resolve())), /внутри transaction/);
      assert.equal(await count(db, t), 0);
    });

    void it('перехваченная ошибка прерывает транзакцию: COMMIT отклоняется с 25P02, изменений нет', async () => {
      const t = table('aborted');
      await db.query(`create table ${t} (id int primary key)`);
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query(`insert into ${t} values ($1)`, [1]);
          await assert.rejects(tx.query('select 1 / 0'), hasSqlState('22012'));
          return 'вернули как ни в чём не бывало';
        }),
        hasSqlState('25P02'),
      );
      assert.equal(await count(db, t), 0);
    });

    void it('конкурентные транзакции обе фиксируются; запрос вне транзакции в неё не попадает', async () => {
      const t = table('concurrent');
      await db.query(`create table ${t} (id int primary key)`);
      await Promise.all(
        [1, 2].map((id) =>
          db.transaction(async (tx) => {
            await tx.query(`insert into ${t} values ($1)`, [id]);
            await sleep(30);
            await tx.query(`insert into ${t} values ($1)`, [id + 10]);
          }),
        ),
      );
      assert.deepStrictEqual((await db.query(`select id from ${t} order by id`)).rows, [{ id: 1 }, { id: 2 }, { id: 11 }, { id: 12 }]);

      // Транзакция вставляет 100 и откатывается. Запрос снаружи, поданный, пока она открыта, либо
      // идёт параллельно (pg), либо ждёт её конца (PGlite) — но не становится её частью: иначе 100
      // было бы ему видно, а его вставка 200 исчезла бы при откате.
      let opened!: () => void;
      const isOpen = new Promise<void>((resolve) => (opened = resolve));
      const failure = new Error('откат');
      const transaction = db.transaction(async (tx) => {
        await tx.query(`insert into ${t} values ($1)`, [100]);
        opened();
        await sleep(50);
        throw failure;
      });
      await isOpen;
      const outside = (async () => {
        await db.query(`insert into ${t} values ($1)`, [200]);
        return (await db.query<{ n: number }>(`select count(*)::int as n from ${t} where id = $1`, [100])).rows[0]?.n;
      })();
      await assert.rejects(transaction, (error) => error === failure);
      assert.equal(await outside, 0);
      assert.deepStrictEqual((await db.query(`select id from ${t} where id >= $1 order by id`, [100])).rows, [{ id: 200 }]);
    });

    void it('нарушение уникальности — Error с code 23505 (и вне, и внутри транзакции)', async () => {
      const t = table('unique');
      await db.query(`create table ${t} (id int primary key)`);
      await db.query(`insert into ${t} values ($1)`, [1]);
      let caught: unknown;
      try {
        await db.query(`insert into ${t} values ($1)`, [1]);
      } catch (error) {
        caught = error;
      }
      assert.ok(hasSqlState('23505')(caught));
      assert.equal(Object.hasOwn(caught as object, 'params'), false, 'параметры запроса не должны попадать в ошибку');
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query(`insert into ${t} values ($1)`, [2]);
          await tx.query(`insert into ${t} values ($1)`, [1]);
        }),
        hasSqlState('23505'),
      );
      assert.equal(await count(db, t), 1);
    });

    void it('runMigrations: применяет по порядку, повторный запуск ничего не делает, новые — догоняет', async () => {
      const s = scope('mig');
      const t = table('mig');
      const migrations: Migration[] = [
        { id: '0001_init', sql: `create table ${t} (id int primary key, v text);\ninsert into ${t} values (1, 'a');` },
        { id: '0002_more', sql: `alter table ${t} add column w int; update ${t} set w = 7;` },
      ];
      assert.deepStrictEqual(await runMigrations(db, s, migrations), ['0001_init', '0002_more']);
      assert.deepStrictEqual(await runMigrations(db, s, migrations), []);
      const extended = [...migrations, { id: '0003_row', sql: `insert into ${t} values (2, 'b', 8)` }];
      assert.deepStrictEqual(await runMigrations(db, s, extended), ['0003_row']);
      assert.deepStrictEqual((await db.query(`select id, v, w from ${t} order by id`)).rows, [
        { id: 1, v: 'a', w: 7 },
        { id: 2, v: 'b', w: 8 },
      ]);
      const book = await db.query<{ id: string; checksum: string; applied_at: unknown }>(
        `select id, checksum, applied_at from artstore_schema_migrations where scope = $1 order by id`,
        [s],
      );
      assert.deepStrictEqual(book.rows.map((row) => row.id), ['0001_init', '0002_more', '0003_row']);
      for (const row of book.rows) {
        assert.match(row.checksum, /^[0-9a-f]{64}$/);
        assert.ok(row.applied_at instanceof Date);
      }
    });

    void it('runMigrations: изменённая применённая миграция — ошибка с именем scope и id', async () => {
      const s = scope('checksum');
      const t = table('checksum');
      await runMigrations(db, s, [{ id: '0001', sql: `create table ${t} (id int)` }]);
      await assert.rejects(
        runMigrations(db, s, [
          { id: '0001', sql: `create table ${t} (id bigint)` },
          { id: '0002', sql: `insert into ${t} values (1)` },
        ]),
        (error) => error instanceof Error && error.message.includes(`${s}/0001`) && /изменился/.test(error.message),
      );
      // Ничего из последующих миграций не применено.
      assert.equal(await count(db, t), 0);
      // Смена перевода строки (checkout с CRLF) изменением не считается.
      const s2 = scope('crlf');
      const t2 = table('crlf');
      await runMigrations(db, s2, [{ id: '0001', sql: `create table ${t2} (id int);\nselect 1;` }]);
      assert.deepStrictEqual(await runMigrations(db, s2, [{ id: '0001', sql: `create table ${t2} (id int);\r\nselect 1;` }]), []);
    });

    void it('runMigrations: id должны строго возрастать; проверка до обращения к БД', async () => {
      const s = `${prefix}_order`;
      await assert.rejects(
        runMigrations(db, s, [{ id: '0002', sql: 'select 1' }, { id: '0001', sql: 'select 1' }]),
        /строго возрастать.*'0001'.*'0002'/,
      );
      await assert.rejects(
        runMigrations(db, s, [{ id: '0001', sql: 'select 1' }, { id: '0001', sql: 'select 2' }]),
        /строго возрастать/,
      );
      await assert.rejects(runMigrations(db, s, [{ id: '', sql: 'select 1' }]), /без id/);
      await assert.rejects(runMigrations(db, '', []), /scope/);
    });

    void it('runMigrations: сбой посреди миграции откатывает её целиком, предыдущие остаются', async () => {
      const s = scope('fail');
      const t = table('fail_ok');
      const broken = table('fail_broken');
      await assert.rejects(
        runMigrations(db, s, [
          { id: '0001', sql: `create table ${t} (id int)` },
          { id: '0002', sql: `create table ${broken} (id int); select 1 / 0;` },
        ]),
        (error) => error instanceof Error && error.message.includes(`${s}/0002`) && sqlState(error.cause) === '22012',
      );
      assert.equal(await exists(t), true);
      assert.equal(await exists(broken), false);
      const book = await db.query(`select id from artstore_schema_migrations where scope = $1`, [s]);
      assert.deepStrictEqual(book.rows, [{ id: '0001' }]);
    });

    void it('runMigrations: два одновременных вызова применяют каждую миграцию один раз', async () => {
      const s = scope('race');
      const t = table('race');
      // Оба оператора упали бы при повторе: таблица уже есть, строка нарушит первичный ключ.
      const migrations: Migration[] = [
        { id: '0001', sql: `create table ${t} (id int primary key)` },
        { id: '0002', sql: `insert into ${t} values (1)` },
        { id: '0003', sql: `insert into ${t} values (2)` },
      ];
      const [first, second] = await Promise.all([runMigrations(db, s, migrations), runMigrations(db, s, migrations)]);
      assert.deepStrictEqual([...first, ...second].sort(), ['0001', '0002', '0003']);
      assert.equal(await count(db, t), 2);
    });

    void it('полнотекстовый поиск: генерируемый tsvector с GIN-индексом, конфигурация russian', async () => {
      const t = table('fts');
      await db.query(`create table ${t} (
        id int primary key,
        title text not null,
        tsv tsvector generated always as (to_tsvector('russian', title)) stored)`);
      await db.query(`create index ${t}_tsv on ${t} using gin (tsv)`);
      await db.query(`insert into ${t} (id, title) values ($1, $2), ($3, $4)`, [1, 'Документы архива', 2, 'Фотографии']);
      const literal = await db.query<{ hit: boolean }>(
        `select to_tsvector('russian', 'Документы') @@ plainto_tsquery('russian', 'документ') as hit`,
      );
      assert.deepStrictEqual(literal.rows, [{ hit: true }]);
      const found = await db.query(`select id from ${t} where tsv @@ plainto_tsquery('russian', $1)`, ['документ']);
      assert.deepStrictEqual(found.rows, [{ id: 1 }]);
    });

    void it('pg_trgm доступен: similarity() и триграммный GIN-индекс', async () => {
      const t = table('trgm');
      await db.query('create extension if not exists pg_trgm');
      const { rows } = await db.query<{ s: number }>(`select similarity($1, $2) as s`, ['документ', 'документы']);
      assert.ok((rows[0]?.s ?? 0) > 0.5, `similarity = ${rows[0]?.s}`);
      await db.query(`create table ${t} (id int primary key, name text)`);
      await db.query(`create index ${t}_trgm on ${t} using gin (name gin_trgm_ops)`);
      await db.query(`insert into ${t} values ($1, $2), ($3, $4)`, [1, 'договор поставки', 2, 'счёт']);
      const found = await db.query(`select id from ${t} where name % $1`, ['догвор поставки']);
      assert.deepStrictEqual(found.rows, [{ id: 1 }]);
    });

    void it('close(): повторный вызов безопасен, после закрытия ping() отклоняется', async () => {
      await dropOwn();
      closed = true;
      await db.close();
      await db.close();
      await assert.rejects(db.ping());
    });
  });
}
