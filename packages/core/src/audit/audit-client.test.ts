// Клиент аудита (SPEC AD-9): событие — задача очереди `audit` с jobId = id события (UUIDv7) и
// щедрыми повторами; отказ очереди не роняет совершённую операцию, а оставляет событие в журнале
// сервиса; admin принимает из очереди только событие правильной формы.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EnqueueOptions, JobQueue } from '../ports/job-queue.js';
import { UUID_PATTERN } from '../ids.js';
import { createMemoryLogger } from '../testing/memory-logger.js';
import { AUDIT_RETRY, createAuditClient } from './audit-client.js';
import { AUDIT_JOB, AUDIT_QUEUE, auditEnvelopeProblem, systemActor, type AuditEnvelope } from './audit-event.js';

interface Enqueued {
  queue: string;
  name: string;
  payload: unknown;
  options?: EnqueueOptions;
}

function recordingQueue(fail = false): JobQueue & { enqueued: Enqueued[] } {
  const enqueued: Enqueued[] = [];
  return {
    kind: 'in-process',
    enqueued,
    enqueue(queue, name, payload, options) {
      if (fail) return Promise.reject(new Error('очередь закрыта'));
      enqueued.push({ queue, name, payload, options });
      return Promise.resolve(options?.jobId ?? 'x');
    },
    process: () => assert.fail('клиент аудита не обрабатывает задачи'),
    close: () => Promise.resolve(),
  };
}

describe('клиент аудита', () => {
  it('ставит событие в очередь audit: jobId — id события, время и сервис — от клиента', async () => {
    const jobs = recordingQueue();
    const at = new Date('2026-11-30T10:00:00.123Z');
    const client = createAuditClient({ jobs, service: 'storage-element', logger: createMemoryLogger().logger, now: () => at });
    await client.record({ actor: systemActor('purge'), action: 'file.purge', target: 'f-1' });
    const [job] = jobs.enqueued;
    const envelope = job!.payload as AuditEnvelope;
    assert.deepEqual([job!.queue, job!.name], [AUDIT_QUEUE, AUDIT_JOB]);
    assert.match(envelope.id, UUID_PATTERN);
    assert.deepEqual(job!.options, { jobId: envelope.id, ...AUDIT_RETRY });
    assert.deepEqual(envelope, {
      id: envelope.id,
      occurred_at: '2026-11-30T10:00:00.123Z',
      service: 'storage-element',
      actor: { subject: 'system:purge', username: 'system:purge', kind: 'system' },
      action: 'file.purge',
      target: 'f-1',
      outcome: 'success',
      ip: null,
      request_id: null,
      details: {},
    });
    assert.equal(auditEnvelopeProblem(envelope), null);
  });

  it('отказ очереди не бросает: событие целиком — в журнале сервиса уровнем error', async () => {
    const { logger, text } = createMemoryLogger('error');
    const client = createAuditClient({ jobs: recordingQueue(true), service: 'query-module', logger });
    await client.record({ actor: systemActor('x'), action: 'file.download', target: 'f-2' });
    const line = JSON.parse(text()) as { msg: string; audit_event: AuditEnvelope };
    assert.equal(line.msg, 'audit_event_not_queued');
    assert.deepEqual([line.audit_event.action, line.audit_event.target], ['file.download', 'f-2']);
  });

  it('форма события из очереди проверяется поле за полем', () => {
    const valid: AuditEnvelope = {
      id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      occurred_at: '2026-11-30T10:00:00.000Z',
      service: 'ingester-module',
      actor: { subject: 'u1', username: 'u', kind: 'user' },
      action: 'file.upload',
      target: null,
      outcome: 'success',
      ip: '10.0.0.1',
      request_id: 'r1',
      details: {},
    };
    assert.equal(auditEnvelopeProblem(valid), null);
    for (const [broken, problem] of [
      [null, 'не объект'],
      [{ ...valid, id: 'x' }, 'id — не UUID'],
      [{ ...valid, occurred_at: 'вчера' }, 'occurred_at — не время'],
      [{ ...valid, actor: { ...valid.actor, kind: 'root' } }, 'actor.kind'],
      [{ ...valid, action: 'File Upload' }, 'action'],
      [{ ...valid, outcome: 'maybe' }, 'outcome'],
      [{ ...valid, details: [] }, 'details — не объект'],
    ] as const) {
      assert.equal(auditEnvelopeProblem(broken), problem);
    }
  });
});
