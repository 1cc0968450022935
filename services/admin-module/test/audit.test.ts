// Журнал аудита (SPEC AD-9, BY-8): события admin-module в цепочке хешей; UPDATE, DELETE и TRUNCATE
// отвергает сама БД (PGlite и PostgreSQL); правка записи в середине в обход БД находится проверкой
// на своём номере; читать и проверять — audit:read.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPgliteDatabase, createPostgresDatabase } from '@artstore/adapters';
import { createThrowawayPostgres } from '@artstore/adapters/testing';
import { createLogger, runMigrations, type Database } from '@artstore/core';
import { createAudit } from '../src/domain/audit.js';
import { createAuditLogStore } from '../src/store/audit-log.js';
import { adminMigrations } from '../src/store/migrations.js';
import {
  activateUser,
  cyrillic,
  expectProblem,
  expectToken,
  newMasterKey,
  postJson,
  type RunningAdmin,
  startAdmin,
} from './helpers.js';

interface AuditRecord {
  seq: number;
  actor: string;
  action: string;
  prev_hash: string;
  hash: string;
}

describe('admin-module: журнал аудита через API', () => {
  let db: Database;
  let admin: RunningAdmin;
  let adminToken: string;
  const PASSWORD = cyrillic(30);
  const get = (path: string, token: string) =>
    fetch(`${admin.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    db = await createPgliteDatabase();
    admin = await startAdmin({ db, masterKey: newMasterKey() });
    await expectProblem(
      await postJson(`${admin.url}/api/auth/login`, { username: 'admin', password: 'неверный-пароль-1' }),
      401,
      'AUTH_INVALID_CREDENTIALS',
    );
    ({ token: adminToken } = await activateUser(admin, 'admin', 'admin123', PASSWORD));
  });
  after(async () => {
    await admin.stop();
    await db.close();
  });

  it('входы, смена пароля, создание пользователя — в журнале по порядку, цепочка сходится', async () => {
    const created = await fetch(`${admin.url}/api/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'auditor1', password: 'временный-пароль-9', roles: ['auditor'] }),
    });
    assert.equal(created.status, 201);
    const page = (await (await get('/api/audit?limit=50', adminToken)).json()) as {
      records: AuditRecord[];
      last_seq: number;
    };
    assert.deepEqual(
      page.records.map((r) => r.action),
      ['auth.login.failed', 'auth.login.succeeded', 'auth.password.changed', 'user.created'],
    );
    assert.equal(page.records[0]!.actor, 'admin', 'неудачный вход записан под введённым именем');
    assert.equal(page.records[0]!.prev_hash, '0'.repeat(64));
    for (let i = 1; i < page.records.length; i++)
      assert.equal(page.records[i]!.prev_hash, page.records[i - 1]!.hash);
    assert.deepEqual(await (await get('/api/audit/verify', adminToken)).json(), {
      ok: true,
      records: 4,
      last_hash: page.records.at(-1)!.hash,
    });
  });

  it('выгрузка: JSON lines и CSV потоком, с заголовком файла', async () => {
    const jsonl = await get('/api/audit/export', adminToken);
    assert.match(jsonl.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const lines = (await jsonl.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditRecord);
    assert.deepEqual(
      lines.map((r) => r.seq),
      lines.map((_, i) => i + 1),
    );
    const csv = await get('/api/audit/export?format=csv', adminToken);
    assert.match(csv.headers.get('content-disposition') ?? '', /artstore-audit\.csv/);
    const rows = (await csv.text()).split('\r\n').filter((line) => line !== '');
    assert.equal(rows[0], 'seq,at,actor,action,target,details,prev_hash,hash');
    assert.equal(rows.length, lines.length + 1);
  });

  it('audit:read — у auditor есть, у reader нет', async () => {
    const first = await expectToken(
      await postJson(`${admin.url}/api/auth/login`, { username: 'auditor1', password: 'временный-пароль-9' }),
    );
    const auditor = await expectToken(
      await postJson(
        `${admin.url}/api/users/me/password`,
        { current_password: 'временный-пароль-9', new_password: 'постоянный-пароль-аудитора' },
        first.access_token,
      ),
    );
    assert.equal((await get('/api/audit/verify', auditor.access_token)).status, 200);
    await fetch(`${admin.url}/api/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'reader1', password: 'временный-пароль-10', roles: ['reader'] }),
    });
    const readerFirst = await expectToken(
      await postJson(`${admin.url}/api/auth/login`, { username: 'reader1', password: 'временный-пароль-10' }),
    );
    const reader = await expectToken(
      await postJson(
        `${admin.url}/api/users/me/password`,
        { current_password: 'временный-пароль-10', new_password: 'постоянный-пароль-читателя' },
        readerFirst.access_token,
      ),
    );
    await expectProblem(await get('/api/audit', reader.access_token), 403, 'FORBIDDEN');
  });
});

function auditStoreSuite(name: string, open: () => Promise<{ db: Database; close: () => Promise<void> }>) {
  describe(`журнал аудита в БД: ${name}`, () => {
    let db: Database;
    let close: () => Promise<void>;
    before(async () => {
      ({ db, close } = await open());
      await runMigrations(db, 'admin-module', adminMigrations);
    });
    after(() => close());

    it('UPDATE, DELETE и TRUNCATE отвергает БД; правка в обход триггера находится на своём номере', async () => {
      const audit = createAudit(createAuditLogStore(db), createLogger({ level: 'silent' }));
      for (let i = 1; i <= 5; i++)
        await audit.record({ actor: 'tester', action: 'test.event', target: `t${i}`, details: { i } });
      assert.deepEqual((await audit.verify()).ok, true);
      await assert.rejects(
        db.query(`update admin_audit_log set actor = 'mallory' where seq = 3`),
        /только дописывается/,
      );
      await assert.rejects(db.query('delete from admin_audit_log where seq = 5'), /только дописывается/);
      await assert.rejects(db.query('truncate admin_audit_log'), /только дописывается/);
      // Владелец БД может снять триггер — это и есть подделка, которую должна поймать цепочка.
      await db.query('alter table admin_audit_log disable trigger admin_audit_log_no_update');
      await db.query(`update admin_audit_log set details = '{"i": 33}' where seq = 3`);
      await db.query('alter table admin_audit_log enable trigger admin_audit_log_no_update');
      assert.deepEqual(await audit.verify(), {
        ok: false,
        records: 2,
        broken_at: 3,
        reason: 'hash_mismatch',
        last_hash: (await audit.page(1, 1))[0]!.hash,
      });
    });
  });
}

auditStoreSuite('PGlite', async () => {
  const db = await createPgliteDatabase();
  return { db, close: () => db.close() };
});
auditStoreSuite('PostgreSQL', async () => {
  const pg = await createThrowawayPostgres('admin_audit');
  const db = createPostgresDatabase(pg.options);
  return {
    db,
    close: async () => {
      await db.close();
      await pg.drop();
    },
  };
});
