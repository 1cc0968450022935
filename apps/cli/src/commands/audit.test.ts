// artstore audit verify | export по БД admin-module без запущенного сервиса (SPEC AD-9): целый журнал —
// ok и код 0; подделанная запись — её номер и код 2; выгрузка CSV и JSON lines.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createPgliteDatabase } from '@artstore/adapters';
import { openAuditLog } from '@artstore/admin-module';
import { createLogger } from '@artstore/core';

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

describe('artstore audit', () => {
  let dataDir: string;
  const source = () => ['--data-dir', dataDir, '--started-as', 'admin-module'];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-audit-cli-'));
    const db = await createPgliteDatabase({ dataDir: join(dataDir, 'pglite', 'admin-module') });
    const audit = await openAuditLog(db, createLogger({ level: 'silent' }));
    for (let i = 1; i <= 3; i++) await audit.record({ actor: 'tester', action: 'test.event', target: `t${i}`, details: { note: `запись, "${i}"` } });
    await db.close();
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it('verify: целый журнал — ok, код 0; export: CSV с экранированием и JSON lines по порядку', async () => {
    const verified = await cli(['audit', 'verify', ...source()]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.deepEqual((JSON.parse(verified.stdout) as { ok: boolean; records: number }).ok, true);
    const csvFile = join(dataDir, 'audit.csv');
    const exported = await cli(['audit', 'export', '--format', 'csv', '--out', csvFile, ...source()]);
    assert.equal(exported.code, 0, exported.stderr);
    const csv = (await readFile(csvFile, 'utf8')).split('\r\n').filter((line) => line !== '');
    assert.equal(csv[0], 'seq,at,actor,action,target,details,prev_hash,hash');
    assert.equal(csv.length, 4);
    assert.match(csv[1]!, /^1,.*,tester,test\.event,t1,"\{""note"":""запись, \\""1\\""""\}",0{64},[0-9a-f]{64}$/);
    const jsonl = await cli(['audit', 'export', ...source()]);
    assert.deepEqual(
      jsonl.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { seq: number }).seq),
      [1, 2, 3],
    );
  });

  it('verify: запись, изменённая в обход триггера, — её номер и код выхода 2', async () => {
    const db = await createPgliteDatabase({ dataDir: join(dataDir, 'pglite', 'admin-module') });
    await db.query('alter table admin_audit_log disable trigger admin_audit_log_no_update');
    await db.query(`update admin_audit_log set actor = 'mallory' where seq = 2`);
    await db.close();
    const verified = await cli(['audit', 'verify', ...source()]);
    assert.equal(verified.code, 2);
    assert.deepEqual(JSON.parse(verified.stdout), { ...(JSON.parse(verified.stdout) as object), ok: false, broken_at: 2, reason: 'hash_mismatch' });
    assert.match(verified.stderr, /запись 2/);
  });
});
