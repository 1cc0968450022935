import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { jobQueueContract } from '@artstore/core/testing';
import { createInProcessJobQueue } from './job-queue.js';

jobQueueContract('in-process', () => Promise.resolve(createInProcessJobQueue()));

void describe('in-process job queue: особенности реализации', () => {
  void it('сообщает об окончательном отказе в onError', async () => {
    const errors: unknown[] = [];
    const jobs = createInProcessJobQueue({ onError: (e) => errors.push(e) });
    jobs.process('q', () => Promise.reject(new Error('сбой')));
    await jobs.enqueue('q', 'doomed', {}, { jobId: 'j:1', attempts: 1 });
    await sleep(50);
    assert.equal(errors.length, 1);
    assert.match((errors[0] as Error).message, /doomed \(j:1\)/);
    await jobs.close();
  });

  void it('отвергает недопустимые параметры так же, как BullMQ-адаптер', async () => {
    const jobs = createInProcessJobQueue();
    await assert.rejects(jobs.enqueue('a:b', 'x', {}), RangeError);
    await assert.rejects(jobs.enqueue('q', 'x', {}, { attempts: 0 }), RangeError);
    await assert.rejects(jobs.enqueue('q', 'x', 10n), TypeError);
    assert.throws(() => jobs.process('q', () => Promise.resolve(), { concurrency: 0 }), RangeError);
    await jobs.close();
  });
});
