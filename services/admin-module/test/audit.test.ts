// Журнал аудита (SPEC AD-9, BY-8): события admin-module в цепочке хешей; UPDATE, DELETE и TRUNCATE
// отвергает сама БД (PGlite и PostgreSQL) — у журнала, контрольных точек и ключей; правка записи в
// середине находится на своём номере; пересчёт цепочки после подделки и обрезку хвоста выдают
// подписанные контрольные точки; подделанную подпись — открытый ключ; читать и проверять — audit:read.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createInProcessJobQueue, createPgliteDatabase } from '@artstore/adapters';
import { testDatabaseBackends } from '@artstore/adapters/testing';
import { canonicalJson, createLogger, type Database } from '@artstore/core';
import { openAuditLog } from '../src/index.js';
import { checkpointPayload } from '../src/domain/audit-checkpoints.js';
import { sealAuditRow } from '../src/domain/audit.js';
import { openAuditTrail, type AuditTrail } from '../src/domain/audit-trail.js';
import { masterKeyFrom } from '../src/domain/master-key.js';
import type { AuditCheckpoint } from '../src/store/audit-checkpoints.js';
import type { AuditRow } from '../src/store/audit-log.js';
import {
  activateAdmin,
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
  service: string;
  prev_hash: string;
  hash: string;
}

/** События входа и пользователей; события ключей JWT (AD-4) и MFA (AD-6) проверяют их тесты. */
const ACCOUNT_ACTIONS = new Set(['auth.login.failed', 'auth.login.succeeded', 'auth.password.changed', 'user.created']);

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
    ({ token: adminToken } = await activateAdmin(admin, 'admin', 'admin123', PASSWORD));
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
    const records = page.records.filter((r) => ACCOUNT_ACTIONS.has(r.action));
    assert.deepEqual(
      records.map((r) => r.action),
      ['auth.login.failed', 'auth.login.succeeded', 'auth.password.changed', 'user.created'],
    );
    assert.equal(records[0]!.actor, 'admin', 'неудачный вход записан под введённым именем');
    assert.ok(page.records.every((r) => r.service === 'admin-module'));
    assert.equal(page.records[0]!.prev_hash, '0'.repeat(64));
    for (let i = 1; i < page.records.length; i++)
      assert.equal(page.records[i]!.prev_hash, page.records[i - 1]!.hash);
    const verdict = (await (await get('/api/audit/verify', adminToken)).json()) as Record<string, unknown>;
    assert.equal(verdict.ok, true);
    assert.equal(verdict.records, page.records.length);
    assert.equal(verdict.last_hash, page.records.at(-1)!.hash);
  });

  it('открытый ключ и последняя точка: проверка сверяет голову, хранимую вне БД', async () => {
    const { keys } = (await (await get('/api/audit/public-key', adminToken)).json()) as {
      keys: { kid: string; algorithm: string; public_key_pem: string }[];
    };
    assert.equal(keys.length, 1);
    assert.equal(keys[0]!.algorithm, 'Ed25519');
    assert.match(keys[0]!.public_key_pem, /^-----BEGIN PUBLIC KEY-----/);
    const { records } = (await (await get('/api/audit?limit=1000', adminToken)).json()) as { records: AuditRecord[] };
    const head = records.at(-1)!;
    const matching = (await (await get(`/api/audit/verify?expect_head=${head.seq}:${head.hash}`, adminToken)).json()) as { ok: boolean };
    assert.equal(matching.ok, true);
    const ahead = (await (await get(`/api/audit/verify?expect_head=${head.seq + 5}:${'a'.repeat(64)}`, adminToken)).json()) as {
      ok: boolean;
      reason: string;
      broken_at: number;
    };
    assert.deepEqual([ahead.ok, ahead.reason, ahead.broken_at], [false, 'truncated_after_checkpoint', head.seq + 1]);
    await expectProblem(await get('/api/audit/verify?expect_head=1:xyz', adminToken), 400, 'VALIDATION_FAILED');
    const latest = (await (await get('/api/audit/checkpoints/latest', adminToken)).json()) as { checkpoint: AuditCheckpoint | null };
    if (latest.checkpoint !== null) assert.equal(latest.checkpoint.kid, keys[0]!.kid);
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
    assert.equal(rows[0], 'seq,at,service,actor,actor_name,action,target,outcome,ip,request_id,event_id,details,prev_hash,hash');
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
    assert.equal((await get('/api/audit/public-key', auditor.access_token)).status, 200);
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
    await expectProblem(await get('/api/audit/checkpoints', reader.access_token), 403, 'FORBIDDEN');
  });
});

describe('admin-module: штатная остановка ставит контрольную точку на голову журнала', () => {
  it('после stop() последняя точка подписана на последнюю запись', async () => {
    const db = await createPgliteDatabase();
    try {
      // Интервал и шаг точек большие: точку на голову ставит именно остановка.
      const admin = await startAdmin({ db, masterKey: newMasterKey(), audit: { checkpoint_interval: 3_600_000, checkpoint_every: 1_000_000 } });
      await activateUser(admin, 'admin', 'admin123', cyrillic(24));
      await admin.stop();
      const reader = await openAuditLog(db);
      const [head] = (await reader.page(0, 1000)).slice(-1);
      assert.equal((await reader.latestCheckpoint())?.seq, head!.seq);
      const verdict = await reader.verify();
      assert.ok(verdict.ok && verdict.checkpoints >= 1, verdict.detail);
    } finally {
      await db.close();
    }
  });
});

describe('контрольные точки по числу записей (audit.checkpoint_every)', () => {
  it('наплыв записей — одна точка на голову, дальше — через каждые N записей', async () => {
    const db = await createPgliteDatabase();
    const jobs = createInProcessJobQueue();
    try {
      await openAuditLog(db);
      const trail = await openAuditTrail(db, {
        logger: createLogger({ level: 'silent' }),
        masterKey: masterKeyFrom(newMasterKey()),
        checkpointIntervalMs: 3_600_000,
        checkpointEvery: 3,
      });
      const tasks = trail.start(jobs);
      await trail.checkpoint();
      const seqs = async () => (await trail.checkpoints(0, 100)).map((cp) => cp.seq);
      const settle = async (expected: number[]) => {
        for (let i = 0; i < 200 && (await seqs()).join() !== expected.join(); i++) await new Promise((r) => setTimeout(r, 10));
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(await seqs(), expected);
      };
      await Promise.all(Array.from({ length: 10 }, (_, i) => trail.record({ actor: 'tester', action: 'test.burst', target: `b${i}` })));
      await settle([10]);
      for (let i = 0; i < 3; i++) await trail.record({ actor: 'tester', action: 'test.event', target: `e${i}` });
      await settle([10, 13]);
      await tasks.close();
      assert.deepEqual(await seqs(), [10, 13], 'остановка без новых записей новой точки не ставит');
    } finally {
      await jobs.close();
      await db.close();
    }
  });
});

/** Обход триггера «только дописывается» — так делает владелец БД, и это подделка, которую ловит проверка. */
async function asOwner(db: Database, table: string, sql: string, params: unknown[] = []): Promise<void> {
  await db.query(`alter table ${table} disable trigger user`);
  try {
    await db.query(sql, params);
  } finally {
    await db.query(`alter table ${table} enable trigger user`);
  }
}

interface Rig {
  db: Database;
  trail: AuditTrail;
  record: (n: number) => Promise<void>;
  rows: () => Promise<AuditRow[]>;
}

function auditStoreSuite(name: string, open: () => Promise<{ db: Database; close: () => Promise<void> }>) {
  describe(`журнал аудита в БД: ${name}`, () => {
    const closers: (() => Promise<void>)[] = [];
    after(async () => {
      for (const close of closers) await close();
    });

    async function rig(): Promise<Rig> {
      const { db, close } = await open();
      closers.push(close);
      await openAuditLog(db);
      const trail = await openAuditTrail(db, {
        logger: createLogger({ level: 'silent' }),
        masterKey: masterKeyFrom(newMasterKey()),
        checkpointIntervalMs: 3_600_000,
        checkpointEvery: 1_000_000,
      });
      let counter = 0;
      return {
        db,
        trail,
        record: async (n) => {
          for (let i = 0; i < n; i++) {
            counter++;
            await trail.record({ actor: 'tester', action: 'test.event', target: `t${counter}`, details: { i: counter } });
          }
        },
        rows: () => trail.page(0, 1000),
      };
    }

    it('UPDATE, DELETE и TRUNCATE отвергает БД — журнал, точки, ключи; правка записи в середине — на её номере', async () => {
      const { db, trail, record } = await rig();
      await record(5);
      assert.equal((await trail.checkpoint())?.seq, 5);
      assert.deepEqual((await trail.verify()).ok, true);
      for (const sql of [
        `update admin_audit_log set actor = 'mallory' where seq = 3`,
        'delete from admin_audit_log where seq = 5',
        'truncate admin_audit_log',
        `update admin_audit_checkpoints set hash = 'x'`,
        'delete from admin_audit_checkpoints',
        'truncate admin_audit_checkpoints',
        `update admin_audit_keys set public_key = 'x'`,
        'delete from admin_audit_keys',
      ]) {
        await assert.rejects(db.query(sql), /только дописывается/, sql);
      }
      await asOwner(db, 'admin_audit_log', `update admin_audit_log set details = '{"i": 33}' where seq = 3`);
      const verdict = await trail.verify();
      assert.deepEqual(
        { ok: verdict.ok, records: verdict.records, broken_at: verdict.broken_at, reason: verdict.reason },
        { ok: false, records: 2, broken_at: 3, reason: 'hash_mismatch' },
      );
      assert.match(verdict.detail, /Запись 3 изменена/);
    });

    it('цепочку, пересчитанную после подделки, выдаёт подписанная контрольная точка', async () => {
      const { db, trail, record, rows } = await rig();
      await record(5);
      await trail.checkpoint();
      await record(2);
      // Подделка записи 3 и пересчёт хешей 3…7: цепочка внутренне снова цела.
      let previous = (await rows())[1]!.hash;
      for (const row of (await rows()).slice(2)) {
        const forged = { ...row, prev_hash: previous, ...(row.seq === 3 ? { actor: 'mallory' } : {}) };
        const { hash: _old, ...unsealed } = forged;
        previous = sealAuditRow(unsealed);
        await asOwner(db, 'admin_audit_log', 'update admin_audit_log set actor = $1, prev_hash = $2, hash = $3 where seq = $4', [
          forged.actor,
          forged.prev_hash,
          previous,
          row.seq,
        ]);
      }
      const verdict = await trail.verify();
      assert.deepEqual(
        { ok: verdict.ok, broken_at: verdict.broken_at, reason: verdict.reason, checkpoint_seq: verdict.checkpoint_seq },
        { ok: false, broken_at: 5, reason: 'checkpoint_mismatch', checkpoint_seq: 5 },
      );
    });

    it('обрезка хвоста после подписанной точки — truncated_after_checkpoint; вместе с точками — только по внешней копии', async () => {
      const { db, trail, record, rows } = await rig();
      await record(6);
      const kept = (await trail.checkpoint())!;
      const publicKeys = await trail.publicKeys();
      await record(2);
      await asOwner(db, 'admin_audit_log', 'delete from admin_audit_log where seq >= 5');
      const truncated = await trail.verify();
      assert.deepEqual(
        { ok: truncated.ok, records: truncated.records, broken_at: truncated.broken_at, reason: truncated.reason, checkpoint_seq: truncated.checkpoint_seq },
        { ok: false, records: 4, broken_at: 5, reason: 'truncated_after_checkpoint', checkpoint_seq: 6 },
      );
      assert.match(truncated.detail, /обрезан после контрольной точки 6/);
      // Владелец БД удаляет и точку: по самой БД обрезки не видно — это предел, его закрывает внешняя копия.
      await asOwner(db, 'admin_audit_checkpoints', 'delete from admin_audit_checkpoints');
      assert.equal((await trail.verify()).ok, true);
      const external = await trail.verify({ expected: kept, publicKeys });
      assert.deepEqual([external.ok, external.reason, external.checkpoint_seq], [false, 'truncated_after_checkpoint', 6]);
      const head = (await rows()).at(-1)!;
      assert.equal((await trail.verify({ expected: { seq: head.seq, hash: head.hash } })).ok, true);
      const wrongHead = await trail.verify({ expected: { seq: 2, hash: head.hash } });
      assert.deepEqual([wrongHead.ok, wrongHead.reason, wrongHead.broken_at], [false, 'checkpoint_mismatch', 2]);
      const forgedExternal = await trail.verify({ expected: { ...kept, count: 7 }, publicKeys });
      assert.equal(forgedExternal.reason, 'checkpoint_signature_invalid');
    });

    it('поддельная подпись точки — checkpoint_signature_invalid; точка чужим ключом не проходит с ключами, хранимыми вне БД', async () => {
      const { db, trail, record, rows } = await rig();
      await record(3);
      await trail.checkpoint();
      const publicKeys = await trail.publicKeys();
      await record(2);
      const head = (await rows()).at(-1)!;
      // Владелец БД добавляет свой ключ и подписывает им точку (вставка не запрещена — запрещены правки).
      const mallory = generateKeyPairSync('ed25519');
      await db.query(
        `insert into admin_audit_keys (kid, algorithm, public_key, private_key_encrypted, created_at) values ('mallory', 'Ed25519', $1, 'x', now())`,
        [mallory.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
      );
      const unsigned = { seq: head.seq, hash: head.hash, count: head.seq, created_at: new Date().toISOString(), kid: 'mallory' };
      const signature = sign(null, Buffer.from(checkpointPayload(unsigned)), mallory.privateKey).toString('base64url');
      await db.query(
        'insert into admin_audit_checkpoints (seq, hash, count, created_at, kid, signature) values ($1, $2, $3, $4, $5, $6)',
        [unsigned.seq, unsigned.hash, unsigned.count, unsigned.created_at, unsigned.kid, signature],
      );
      assert.equal((await trail.verify()).ok, true, 'ключ из БД подменяем — поэтому ключи хранят и вне БД');
      const pinned = await trail.verify({ publicKeys });
      assert.deepEqual([pinned.ok, pinned.reason, pinned.broken_at], [false, 'checkpoint_signature_invalid', 5]);

      await record(1);
      const last = (await rows()).at(-1)!;
      const genuine = (await trail.checkpoint())!;
      const tampered = createHash('sha256').update(genuine.signature).digest('base64url');
      await asOwner(db, 'admin_audit_checkpoints', 'update admin_audit_checkpoints set signature = $1 where seq = $2', [tampered, last.seq]);
      const forged = await trail.verify();
      assert.deepEqual([forged.ok, forged.reason, forged.checkpoint_seq], [false, 'checkpoint_signature_invalid', last.seq]);
    });

    it('события, записанные до миграции 0008 (без новых полей), сходятся с прежним хешем', async () => {
      const { db, trail } = await rig();
      const legacy = { seq: 1, at: new Date().toISOString(), actor: 'old', action: 'test.legacy', target: null, details: {} };
      const hash = createHash('sha256').update('0'.repeat(64)).update(canonicalJson(legacy)).digest('hex');
      await db.query(
        `insert into admin_audit_log (seq, at, actor, action, target, details, prev_hash, hash) values (1, $1, 'old', 'test.legacy', null, '{}', $2, $3)`,
        [legacy.at, '0'.repeat(64), hash],
      );
      await trail.record({ actor: 'tester', action: 'test.event' });
      const verdict = await trail.verify();
      assert.deepEqual([verdict.ok, verdict.records], [true, 2]);
    });
  });
}

for (const backend of testDatabaseBackends('admin_audit')) auditStoreSuite(backend.name, () => backend.open());
