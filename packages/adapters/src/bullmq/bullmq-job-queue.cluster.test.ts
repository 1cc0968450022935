// Очередь BullMQ поверх настоящего Redis Cluster (SPEC HA-5): тот же контрактный набор, что для
// standalone, и failover шарда очереди. Префикс с hash tag кладёт все ключи очередей в один слот —
// скрипты BullMQ трогают несколько ключей сразу. Кластер свой на файл, останавливается после.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { jobQueueContract, waitFor } from '@artstore/core/testing';
import { startTestRedisCluster } from '../testing/redis-cluster.js';
import { uniqueTestPrefix } from '../testing/redis-test-prefix.js';
import { createBullmqJobQueue } from './bullmq-job-queue.js';

const cluster = await startTestRedisCluster();
after(() => cluster.stop());
// Как в apps/cli/src/backends.ts: «{<key_prefix>jobs}».
const prefix = `{${uniqueTestPrefix('bullmq-cluster')}jobs}`;
const factory = () => createBullmqJobQueue({ connection: { cluster: cluster.nodes }, prefix });

jobQueueContract('bullmq cluster', () => Promise.resolve(factory()));

void describe('bullmq job queue в Redis Cluster', () => {
  void it('failover шарда очереди: задачи до и после переключения выполняются', async () => {
    // Переход мастера в реплики обрывает блокирующий BZPOPMIN воркера (UNBLOCKED …): BullMQ повторяет
    // его сам, а ошибка уходит в onError — в сервисе это строка журнала redis_error, здесь не нужна.
    const jobs = createBullmqJobQueue({
      connection: { cluster: cluster.nodes },
      prefix,
      onError: () => undefined,
    });
    try {
      const queue = `q-${randomUUID()}`;
      const done: string[] = [];
      jobs.process(queue, (job) => {
        done.push(job.name);
        return Promise.resolve();
      });
      await jobs.enqueue(queue, 'до', {});
      await waitFor(
        'задача до failover',
        () => done,
        (d) => d.includes('до'),
      );
      // Все ключи очереди — в слоте hash tag префикса.
      await cluster.failover(prefix);
      await jobs.enqueue(queue, 'после', {});
      await waitFor(
        'задача после failover',
        () => done,
        (d) => d.includes('после'),
        { timeoutMs: 15_000 },
      );
      assert.deepEqual(done, ['до', 'после']);
    } finally {
      await jobs.close();
    }
  });
});
