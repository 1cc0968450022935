// События аудита других сервисов (SPEC AD-9): сервис ставит их в очередь `audit`, admin-module
// дописывает в цепочку. Пока admin не запущен, ничего не теряется: запустившись, он дописывает каждое
// событие ровно один раз и в порядке поступления. Обработчик, упавший посреди записи, повторяет без
// дублей. BullMQ на настоящем Redis с PostgreSQL и встроенные очередь и PGlite.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  createBullmqJobQueue,
  createInProcessJobQueue,
  createPgliteDatabase,
  createPostgresDatabase,
} from '@artstore/adapters';
import { createThrowawayPostgres, deleteKeysWithPrefix, testRedisUrl, uniqueTestPrefix } from '@artstore/adapters/testing';
import { createAuditClient, createLogger, systemActor, type AuditEnvelope, type Database, type JobQueue } from '@artstore/core';
import { CleanupStack } from '@artstore/core/testing';
import { openAuditLog } from '../src/index.js';
import { startAuditIntake } from '../src/domain/audit-intake.js';
import { openAuditTrail } from '../src/domain/audit-trail.js';
import { masterKeyFrom } from '../src/domain/master-key.js';
import type { AuditRow } from '../src/store/audit-log.js';
import { newMasterKey, startAdmin } from './helpers.js';

const silent = createLogger({ level: 'silent' });

interface Backend {
  db: Database;
  /** Очередь «со стороны сервиса» и «со стороны admin»: в production это разные процессы. */
  serviceJobs: JobQueue;
  adminJobs: () => JobQueue;
}

async function waitForRows(db: Database, what: string, done: (rows: AuditRow[]) => boolean, timeoutMs = 15_000): Promise<AuditRow[]> {
  const reader = await openAuditLog(db);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = (await reader.page(0, 1000)).filter((row) => row.service === 'storage-element');
    if (done(rows)) return rows;
    if (Date.now() > deadline) assert.fail(`не дождались: ${what}; есть ${rows.map((r) => r.target).join(',')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function intakeSuite(name: string, open: (cleanup: CleanupStack) => Promise<Backend>) {
  describe(`приём событий аудита: ${name}`, () => {
    const cleanup = new CleanupStack();
    after(() => cleanup.run());

    it('события, записанные без admin, дописываются по одному разу и по порядку, когда admin запустился', async () => {
      const { db, serviceJobs, adminJobs } = await open(cleanup);
      const masterKey = newMasterKey();
      const se = createAuditClient({ jobs: serviceJobs, service: 'storage-element', logger: silent });
      const record = async (from: number, to: number) => {
        for (let i = from; i <= to; i++) {
          await se.record({
            actor: { subject: 'u-1', username: 'оператор', kind: 'user' },
            action: 'file.upload',
            target: `f${i}`,
            ip: '10.0.0.7',
            request_id: `req-${i}`,
            details: { size: i },
          });
        }
      };
      const targets = (rows: AuditRow[]) => rows.map((row) => row.target);
      const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `f${from + i}`);

      await record(1, 10);
      const first = await startAdmin({ db, masterKey, jobs: adminJobs() });
      const rows = await waitForRows(db, '10 событий', (r) => r.length >= 10);
      assert.deepEqual(targets(rows), range(1, 10));
      assert.deepEqual(
        { actor: rows[0]!.actor, actor_name: rows[0]!.actor_name, outcome: rows[0]!.outcome, ip: rows[0]!.ip, request_id: rows[0]!.request_id },
        { actor: 'u-1', actor_name: 'оператор', outcome: 'success', ip: '10.0.0.7', request_id: 'req-1' },
      );
      await first.stop();

      // admin снова недоступен — события копятся в очереди; второй запуск над той же БД их дописывает.
      await record(11, 15);
      const second = await startAdmin({ db, masterKey, jobs: adminJobs() });
      try {
        const all = await waitForRows(db, '15 событий', (r) => r.length >= 15);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual(targets(await waitForRows(db, '15 событий', () => true)), range(1, 15), 'ровно по разу, по порядку');
        assert.equal(new Set(all.map((row) => row.event_id)).size, 15);
        const verdict = await (await openAuditLog(db)).verify();
        assert.equal(verdict.ok, true, verdict.detail);
        assert.ok(verdict.checkpoints >= 1, 'остановка первого экземпляра поставила точку');
      } finally {
        await second.stop();
      }
    });

    it('обработчик, упавший до и после записи, повторяет без дублей', async () => {
      const { db, serviceJobs, adminJobs } = await open(cleanup);
      await openAuditLog(db);
      const trail = await openAuditTrail(db, {
        logger: silent,
        masterKey: masterKeyFrom(newMasterKey()),
        checkpointIntervalMs: 3_600_000,
        checkpointEvery: 1_000_000,
      });
      const failures = { before: 0, after: 0 };
      const flaky = {
        async append(event: AuditEnvelope) {
          if (event.target === 'f3' && failures.before++ === 0) throw new Error('сбой до записи');
          const result = await trail.append(event);
          // Запись зафиксирована, а подтверждение задачи «потеряно» — очередь доставит её снова.
          if (event.target === 'f2' && failures.after++ === 0) throw new Error('сбой после записи');
          return result;
        },
      };
      const jobs = adminJobs();
      const worker = startAuditIntake({ jobs, audit: flaky, logger: silent });
      cleanup.defer(() => worker.close());
      const se = createAuditClient({ jobs: serviceJobs, service: 'storage-element', logger: silent });
      for (let i = 1; i <= 4; i++) await se.record({ actor: systemActor('purge'), action: 'file.purge', target: `f${i}` });
      const rows = await waitForRows(db, '4 события после повторов', (r) => r.length >= 4 && failures.after >= 2 && failures.before >= 2);
      await worker.close();
      assert.deepEqual(rows.map((row) => row.target).sort(), ['f1', 'f2', 'f3', 'f4']);
      assert.equal((await trail.verify()).ok, true);
    });
  });
}

intakeSuite('BullMQ (Redis) и PostgreSQL', async (cleanup) => {
  const pg = await createThrowawayPostgres('admin_audit_intake');
  cleanup.defer(() => pg.drop());
  const db = createPostgresDatabase(pg.options);
  cleanup.defer(() => db.close());
  const url = testRedisUrl();
  const prefix = uniqueTestPrefix('audit');
  cleanup.defer(() => deleteKeysWithPrefix(url, prefix));
  const queue = () => {
    const jobs = createBullmqJobQueue({ connection: { url }, prefix });
    cleanup.defer(() => jobs.close());
    return jobs;
  };
  return { db, serviceJobs: queue(), adminJobs: queue };
});

intakeSuite('очередь в процессе и PGlite', async (cleanup) => {
  const db = await createPgliteDatabase();
  cleanup.defer(() => db.close());
  // Встроенный режим — один процесс: сервисы и admin делят одну очередь (artstore start all).
  const jobs = createInProcessJobQueue();
  cleanup.defer(() => jobs.close());
  return { db, serviceJobs: jobs, adminJobs: () => jobs };
});
