import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isArtError } from '@artstore/core';
import { jobQueueContract } from '@artstore/core/testing';
import { deleteKeysWithPrefix, testRedisUrl, uniqueTestPrefix } from '../testing/redis-test-prefix.js';
import { createBullmqJobQueue } from './bullmq-job-queue.js';

const url = testRedisUrl();
const prefix = uniqueTestPrefix('bullmq');

jobQueueContract('bullmq', () => Promise.resolve(createBullmqJobQueue({ connection: { url }, prefix })));

void describe('bullmq job queue: особенности адаптера', () => {
  void it('сообщает об окончательном отказе в onError', async () => {
    const errors: unknown[] = [];
    const jobs = createBullmqJobQueue({ connection: { url }, prefix, onError: (e) => errors.push(e) });
    try {
      jobs.process('failing', () => Promise.reject(new Error('сбой')));
      await jobs.enqueue('failing', 'doomed', {}, { jobId: 'j:1', attempts: 1 });
      const deadline = Date.now() + 5000;
      while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(errors.length, 1);
      assert.match((errors[0] as Error).message, /doomed \(j:1\)/);
    } finally {
      await jobs.close();
    }
  });

  void it('проверяет подключение и hash tag префикса для Redis Cluster до открытия соединений', () => {
    const cluster = [{ host: '127.0.0.1', port: 7000 }];
    assert.throws(() => createBullmqJobQueue({ connection: {}, prefix }), (e) => isArtError(e, 'CONFIG_INVALID'));
    assert.throws(() => createBullmqJobQueue({ connection: { url, cluster }, prefix }), (e) => isArtError(e, 'CONFIG_INVALID'));
    assert.throws(() => createBullmqJobQueue({ connection: { cluster }, prefix: 'artstore' }), (e) => isArtError(e, 'CONFIG_INVALID'));
  });
});

after(async () => {
  await deleteKeysWithPrefix(url, prefix);
});
