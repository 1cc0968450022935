// Контрактный набор тестов порта JobQueue (CONVENTIONS, «Contract suites as functions taking a
// factory»): BullMQ и встроенная очередь (SPEC §10) обязаны вести себя одинаково.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, JobQueue } from '../ports/job-queue.js';

/** Каждый вызов открывает новую очередь; тесты берут уникальные имена очередей. */
export type JobQueueFactory = () => Promise<JobQueue>;

// Имя очереди без ':' — он запрещён в именах очередей (разделитель ключей BullMQ).
const uniqueQueue = (): string => `q-${randomUUID()}`;

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) assert.fail(`Не дождались: ${what}`);
    await sleep(10);
  }
}

export function jobQueueContract(name: string, factory: JobQueueFactory): void {
  void describe(`JobQueue contract: ${name}`, () => {
    const opened: JobQueue[] = [];
    const open = async (): Promise<JobQueue> => {
      const queue = await factory();
      opened.push(queue);
      return queue;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((queue) => queue.close()));
    });

    void it('доставляет задачи, поставленные до появления обработчика, с именем, payload, id и attempt = 1', async () => {
      const jobs = await open();
      const queue = uniqueQueue();
      const plainId = await jobs.enqueue(queue, 'plain', { file: 'отчёт.pdf', size: 42, tags: ['a'] });
      // jobId с ':' и jobId из одних цифр BullMQ сам не принимает — адаптер обязан это скрыть.
      const colonId = await jobs.enqueue(queue, 'colon', null, { jobId: 'replicate:file:42' });
      const digitsId = await jobs.enqueue(queue, 'digits', 7, { jobId: '42' });
      assert.equal(colonId, 'replicate:file:42');
      assert.equal(digitsId, '42');

      const seen = new Map<string, Job>();
      jobs.process(queue, (job) => {
        seen.set(job.name, job);
        return Promise.resolve();
      });
      await waitFor('три задачи', () => seen.size === 3);
      assert.deepEqual(seen.get('plain'), { id: plainId, name: 'plain', payload: { file: 'отчёт.pdf', size: 42, tags: ['a'] }, attempt: 1 });
      assert.deepEqual(seen.get('colon'), { id: 'replicate:file:42', name: 'colon', payload: null, attempt: 1 });
      assert.deepEqual(seen.get('digits'), { id: '42', name: 'digits', payload: 7, attempt: 1 });
    });

    void it('выполняет одновременно не больше concurrency задач и действительно распараллеливает', async () => {
      const jobs = await open();
      const queue = uniqueQueue();
      for (let i = 0; i < 6; i++) await jobs.enqueue(queue, 'slow', i);
      let active = 0;
      let maxActive = 0;
      let done = 0;
      jobs.process(
        queue,
        async () => {
          active++;
          maxActive = Math.max(maxActive, active);
          await sleep(100);
          active--;
          done++;
        },
        { concurrency: 2 },
      );
      await waitFor('шесть задач', () => done === 6);
      assert.equal(maxActive, 2);
    });

    void it('повторяет упавшую задачу с растущим номером попытки до успеха', async () => {
      const jobs = await open();
      const queue = uniqueQueue();
      const attempts: number[] = [];
      let succeeded = false;
      jobs.process(queue, (job) => {
        attempts.push(job.attempt);
        if (job.attempt < 3) return Promise.reject(new Error(`сбой попытки ${job.attempt}`));
        succeeded = true;
        return Promise.resolve();
      });
      await jobs.enqueue(queue, 'flaky', {}, { attempts: 3, backoffMs: 20 });
      await waitFor('успех третьей попытки', () => succeeded);
      assert.deepEqual(attempts, [1, 2, 3]);
    });

    void it('прекращает попытки после attempts', async () => {
      const jobs = await open();
      const queue = uniqueQueue();
      const attempts: number[] = [];
      jobs.process(queue, (job) => {
        attempts.push(job.attempt);
        return Promise.reject(new Error('всегда сбой'));
      });
      await jobs.enqueue(queue, 'doomed', {}, { attempts: 2, backoffMs: 20 });
      await waitFor('две попытки', () => attempts.length === 2);
      // Третья попытка пришла бы через 40 мс отката; ждём с большим запасом.
      await sleep(400);
      assert.deepEqual(attempts, [1, 2]);
    });

    void it('jobId отбрасывает повтор незавершённой задачи, а после завершения принимает снова', async () => {
      const jobs = await open();
      const queue = uniqueQueue();
      assert.equal(await jobs.enqueue(queue, 'dup', 1, { jobId: 'dedup:1' }), 'dedup:1');
      assert.equal(await jobs.enqueue(queue, 'dup', 2, { jobId: 'dedup:1' }), 'dedup:1');
      await jobs.enqueue(queue, 'marker', 1);
      const runs: Job[] = [];
      // concurrency 1 и порядок FIFO: когда выполнен маркер, всё поставленное раньше уже завершено.
      jobs.process(queue, (job) => {
        runs.push(job);
        return Promise.resolve();
      });
      await waitFor('первый маркер', () => runs.some((j) => j.name === 'marker' && j.payload === 1));
      assert.deepEqual(
        runs.filter((j) => j.name === 'dup').map((j) => j.payload),
        [1],
      );

      await jobs.enqueue(queue, 'dup', 3, { jobId: 'dedup:1' });
      await jobs.enqueue(queue, 'marker', 2);
      await waitFor('второй маркер', () => runs.some((j) => j.name === 'marker' && j.payload === 2));
      assert.deepEqual(
        runs.filter((j) => j.name === 'dup').map((j) => j.payload),
        [1, 3],
      );
    });

    void it('соблюдает delayMs: отложенная задача выполняется позже поставленной следом', async () => {
      const jobs = await open();
      const queue = uniqueQueue();
      const order: string[] = [];
      let lateAt = 0;
      jobs.process(queue, (job) => {
        order.push(job.name);
        if (job.name === 'late') lateAt = performance.now();
        return Promise.resolve();
      });
      const start = performance.now();
      await jobs.enqueue(queue, 'late', {}, { delayMs: 300 });
      await jobs.enqueue(queue, 'early', {});
      await waitFor('отложенная задача', () => order.length === 2);
      assert.deepEqual(order, ['early', 'late']);
      // Небольшой допуск: BullMQ отсчитывает задержку по Date.now(), тест — по монотонным часам.
      assert.ok(lateAt - start >= 290, `задача выполнена через ${Math.round(lateAt - start)} мс, ожидалось ≥ 300`);
    });

    void it('задачи ждут, пока снова появится обработчик, после Worker.close()', async () => {
      const jobs = await open();
      const queue = uniqueQueue();
      let closedWorkerCalls = 0;
      const firstWorker = jobs.process(queue, () => {
        closedWorkerCalls++;
        return Promise.resolve();
      });
      await firstWorker.close();
      await jobs.enqueue(queue, 'waiting', 'x');
      await sleep(150);
      const payloads: unknown[] = [];
      jobs.process(queue, (job) => {
        payloads.push(job.payload);
        return Promise.resolve();
      });
      await waitFor('задача у второго обработчика', () => payloads.length === 1);
      assert.deepEqual(payloads, ['x']);
      assert.equal(closedWorkerCalls, 0);
    });

    void it('close() дожидается выполняющейся задачи', async () => {
      const jobs = await factory();
      const queue = uniqueQueue();
      let started = false;
      let finished = false;
      jobs.process(queue, async () => {
        started = true;
        await sleep(200);
        finished = true;
      });
      await jobs.enqueue(queue, 'long', {});
      await waitFor('начало задачи', () => started);
      await jobs.close();
      assert.equal(finished, true);
    });
  });
}
