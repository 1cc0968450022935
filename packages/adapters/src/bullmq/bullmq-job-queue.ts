// Очередь фоновых задач на BullMQ поверх Redis (SPEC §10: BullMQ вместо Kafka; HA-5: standalone
// и Redis Cluster). Доставка «как минимум один раз».
//
// Блокировки BullMQ оставлены по умолчанию (HA-4 требует их описать): lockDuration 30 с,
// stalledInterval 30 с, maxStalledCount 1 — задача упавшего процесса вернётся в очередь не позже
// чем через ≈ 60 с и будет выполнена повторно; обработчики обязаны быть идемпотентными.
import { Queue, Worker as BullWorker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { ArtError, type EnqueueOptions, type JobHandler, type JobQueue, type Worker } from '@artstore/core';
import { assertConcurrency, assertQueueName, retryPolicy } from '../in-process/job-queue.js';

export interface BullmqJobQueueOptions {
  /** Ровно одно из url (standalone) / cluster (стартовые узлы Redis Cluster). */
  connection: { url?: string; cluster?: { host: string; port: number }[] };
  /** Префикс ключей BullMQ; для Redis Cluster обязан содержать hash tag, например «{artstore}». */
  prefix: string;
  /** Ошибки соединений и окончательные отказы задач (после всех попыток). */
  onError?: (error: unknown) => void;
}

// BullMQ запрещает в собственных id двоеточие (разделитель ключей) и целые числа (ими он
// нумерует задачи без jobId). Экранируем '%' и ':' и добавляем префикс «j-»: отображение
// взаимно-однозначно, обработчик видит ровно тот jobId, что передали в enqueue().
const CUSTOM_ID_PREFIX = 'j-';

function encodeJobId(jobId: string): string {
  return CUSTOM_ID_PREFIX + jobId.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}

function decodeJobId(id: string | undefined): string {
  if (id === undefined) throw new Error('BullMQ не вернул id задачи');
  if (!id.startsWith(CUSTOM_ID_PREFIX)) return id;
  return id.slice(CUSTOM_ID_PREFIX.length).replace(/%25|%3A/g, (m) => (m === '%25' ? '%' : ':'));
}

export function createBullmqJobQueue(options: BullmqJobQueueOptions): JobQueue {
  const { connection, onError } = options;
  if ((connection.url === undefined) === (connection.cluster === undefined)) {
    throw new ArtError('CONFIG_INVALID', 'Очередь BullMQ: нужно указать ровно одно из connection.url или connection.cluster');
  }
  // BullMQ сам ставит ':' между префиксом, очередью и типом ключа.
  const prefix = options.prefix.replace(/:+$/, '');
  if (prefix.length === 0) throw new ArtError('CONFIG_INVALID', 'Очередь BullMQ: prefix не может быть пустым');
  // Скрипты BullMQ трогают несколько ключей очереди сразу — в кластере они должны лежать в одном
  // слоте, что и даёт hash tag в префиксе (HA-5).
  if (connection.cluster !== undefined && !/\{[^{}]+\}/.test(prefix)) {
    throw new ArtError('CONFIG_INVALID', `Очередь BullMQ в Redis Cluster: prefix должен содержать hash tag, например «{${prefix}}»`);
  }

  // Одно соединение на все Queue (BullMQ не закрывает переданный ему клиент — это делает close());
  // каждый Worker дублирует его в два собственных (обычное и блокирующее) и закрывает их сам.
  // maxRetriesPerRequest: null обязателен для блокирующих команд BullMQ: команды ждут
  // переподключения, а не падают через 20 попыток.
  const base =
    connection.url !== undefined
      ? new Redis(connection.url, { maxRetriesPerRequest: null })
      : new Cluster(connection.cluster ?? [], { redisOptions: { maxRetriesPerRequest: null } });
  if (onError !== undefined) base.on('error', onError);

  const queues = new Map<string, Queue>();
  const workers = new Set<BullWorker>();
  let closed = false;

  function queueFor(name: string): Queue {
    let queue = queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, { connection: base, prefix });
      if (onError !== undefined) queue.on('error', onError);
      queues.set(name, queue);
    }
    return queue;
  }

  return {
    kind: 'bullmq',

    async enqueue<P>(queue: string, name: string, payload: P, opts: EnqueueOptions = {}): Promise<string> {
      if (closed) throw new Error('Очередь задач закрыта');
      assertQueueName(queue);
      const { attempts, backoffMs, delayMs } = retryPolicy(opts);
      const job = await queueFor(queue).add(name, payload, {
        ...(opts.jobId === undefined ? {} : { jobId: encodeJobId(opts.jobId) }),
        attempts,
        backoff: { type: 'exponential', delay: backoffMs },
        delay: delayMs,
        // Завершённые задачи удаляются сразу: jobId дедуплицирует, пока задача не завершена, —
        // как во встроенной реализации; окончательные отказы уходят в onError.
        removeOnComplete: true,
        removeOnFail: true,
      });
      return decodeJobId(job.id);
    },

    process<P>(queue: string, handler: JobHandler<P>, opts: { concurrency?: number } = {}): Worker {
      if (closed) throw new Error('Очередь задач закрыта');
      assertQueueName(queue);
      const concurrency = opts.concurrency ?? 1;
      assertConcurrency(concurrency);
      const worker = new BullWorker(
        queue,
        async (job) => {
          // attemptsMade — число уже неудавшихся попыток, так что текущая — следующая за ними.
          await handler({ id: decodeJobId(job.id), name: job.name, payload: job.data as P, attempt: job.attemptsMade + 1 });
        },
        { connection: base, prefix, concurrency },
      );
      if (onError !== undefined) {
        worker.on('error', onError);
        worker.on('failed', (job, error) => {
          if (job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1)) {
            onError(new Error(`Задача ${job.name} (${decodeJobId(job.id)}) отклонена после ${job.attemptsMade} попыток`, { cause: error }));
          }
        });
      }
      workers.add(worker);
      return {
        // Worker.close() ждёт выполняющиеся задачи и закрывает соединения воркера.
        // Повторный close() у BullMQ возвращает тот же промис, поэтому close() очереди может
        // дождаться и воркера, который уже закрывается.
        close: async () => {
          await worker.close();
          workers.delete(worker);
        },
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...workers].map((w) => w.close()));
      workers.clear();
      await Promise.all([...queues.values()].map((q) => q.close()));
      queues.clear();
      await base.quit();
    },
  };
}
