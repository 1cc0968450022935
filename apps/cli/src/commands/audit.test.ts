// artstore audit verify | export | public-key по БД admin-module без запущенного сервиса и без
// мастер-ключа (SPEC AD-9, BY-8): целый журнал — ok и код 0; подделанная запись — её номер и код 2;
// обрезанный после контрольной точки хвост — код 2; сверка с точкой и ключами, хранимыми вне БД.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createPgliteDatabase } from '@artstore/adapters';
import { masterKeyFrom, openAuditLog, openAuditTrail } from '@artstore/admin-module';
import { createLogger, type Database } from '@artstore/core';

const CLI = fileURLToPath(new URL('../../bin/artstore.mjs', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Без ARTSTORE_*: конфигурация теста — только аргументы команды.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('ARTSTORE_')));
    execFile(process.execPath, [CLI, ...args], { env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

interface Verdict {
  ok: boolean;
  records: number;
  checkpoints: number;
  broken_at?: number;
  reason?: string;
}

describe('artstore audit', () => {
  let dataDir: string;
  let checkpointFile: string;
  let keysFile: string;
  const source = () => ['--data-dir', dataDir, '--started-as', 'admin-module'];
  /** БД admin-module так, как её открыл бы остановленный сервис; закрывается после fn (PGlite — один процесс). */
  async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    const db = await createPgliteDatabase({ dataDir: join(dataDir, 'pglite', 'admin-module') });
    try {
      await openAuditLog(db);
      return await fn(db);
    } finally {
      await db.close();
    }
  }
  // Ключ подписи точек зашифрован этим мастер-ключом; самой проверке он не нужен.
  const masterKey = masterKeyFrom(randomBytes(32).toString('base64'));
  const writer = (db: Database) =>
    openAuditTrail(db, {
      logger: createLogger({ level: 'silent' }),
      masterKey,
      checkpointIntervalMs: 3_600_000,
      checkpointEvery: 1_000_000,
    });

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-audit-cli-'));
    checkpointFile = join(dataDir, 'checkpoint.json');
    await withDb(async (db) => {
      const trail = await writer(db);
      for (let i = 1; i <= 3; i++) await trail.record({ actor: 'tester', action: 'test.event', target: `t${i}`, details: { note: `запись, "${i}"` } });
      await writeFile(checkpointFile, JSON.stringify({ checkpoint: await trail.checkpoint() }));
    });
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it('public-key и verify: целый журнал и точка — ok, код 0; export: CSV с экранированием и JSON lines по порядку', async () => {
    const keys = await cli(['audit', 'public-key', ...source()]);
    assert.equal(keys.code, 0, keys.stderr);
    const parsed = JSON.parse(keys.stdout) as { keys: { kid: string; public_key_pem: string }[] };
    assert.equal(parsed.keys.length, 1);
    keysFile = join(dataDir, 'audit-keys.json');
    await writeFile(keysFile, keys.stdout);

    const verified = await cli(['audit', 'verify', '--public-key', keysFile, '--checkpoint', checkpointFile, ...source()]);
    assert.equal(verified.code, 0, verified.stderr);
    const verdict = JSON.parse(verified.stdout) as Verdict;
    assert.deepEqual([verdict.ok, verdict.records, verdict.checkpoints], [true, 3, 1]);

    const csvFile = join(dataDir, 'audit.csv');
    const exported = await cli(['audit', 'export', '--format', 'csv', '--out', csvFile, ...source()]);
    assert.equal(exported.code, 0, exported.stderr);
    const csv = (await readFile(csvFile, 'utf8')).split('\r\n').filter((line) => line !== '');
    assert.equal(csv[0], 'seq,at,service,actor,actor_name,action,target,outcome,ip,request_id,event_id,details,prev_hash,hash');
    assert.equal(csv.length, 4);
    assert.match(csv[1]!, /^1,[^,]+,admin-module,tester,,test\.event,t1,,,,[0-9a-f-]{36},"\{""note"":""запись, \\""1\\""""\}",0{64},[0-9a-f]{64}$/);
    const jsonl = await cli(['audit', 'export', ...source()]);
    assert.deepEqual(
      jsonl.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { seq: number }).seq),
      [1, 2, 3],
    );
  });

  it('verify: голова не совпадает с --expect-head — код 2; неверный формат — ошибка, код 1', async () => {
    const mismatch = await cli(['audit', 'verify', '--expect-head', `2:${'f'.repeat(64)}`, ...source()]);
    assert.equal(mismatch.code, 2, mismatch.stderr);
    assert.deepEqual((JSON.parse(mismatch.stdout) as Verdict).reason, 'checkpoint_mismatch');
    const malformed = await cli(['audit', 'verify', '--expect-head', 'x', ...source()]);
    assert.equal(malformed.code, 1);
    assert.match(malformed.stderr, /--expect-head/);
  });

  it('verify: запись, изменённая в обход триггера, — её номер и код 2; обрезанный хвост с точками — по внешней точке', async () => {
    await withDb(async (db) => {
      const trail = await writer(db);
      await trail.record({ actor: 'tester', action: 'test.event', target: 't4' });
      await db.query('alter table admin_audit_log disable trigger admin_audit_log_no_update');
      await db.query(`update admin_audit_log set actor = 'mallory' where seq = 2`);
    });
    const tampered = await cli(['audit', 'verify', ...source()]);
    assert.equal(tampered.code, 2);
    assert.deepEqual(JSON.parse(tampered.stdout), { ...(JSON.parse(tampered.stdout) as object), ok: false, broken_at: 2, reason: 'hash_mismatch' });
    assert.match(tampered.stderr, /запись 2/);

    // Владелец БД удаляет запись 2 и всё после неё вместе с контрольной точкой: видно только по внешней точке.
    await withDb(async (db) => {
      await db.query('delete from admin_audit_log where seq >= 2');
      await db.query('alter table admin_audit_checkpoints disable trigger user');
      await db.query('delete from admin_audit_checkpoints');
    });
    assert.equal((await cli(['audit', 'verify', ...source()])).code, 0, 'по самой БД обрезки не видно');
    const truncated = await cli(['audit', 'verify', '--checkpoint', checkpointFile, '--public-key', keysFile, ...source()]);
    assert.equal(truncated.code, 2);
    assert.deepEqual((JSON.parse(truncated.stdout) as Verdict).reason, 'truncated_after_checkpoint');
    assert.match(truncated.stderr, /обрезан после внешней контрольной точки 3/);
  });
});
