// Очередь задач внутри процесса (встроенный режим, SPEC §10) с семантикой BullMQ-адаптера:
// дедупликация по jobId, задержка, попытки с экспоненциальным откатом, конкурентность.
// Не переживает рестарт процесса — во встроенном режиме это принято (один процесс, SPEC §1).
import { randomUUID } from 'node:crypto';
import type { EnqueueOptions, Job, JobHandler, JobQueue, Worker } from '@artstore/core';

/** Параметры постановки после умолчаний и проверок — общие для обеих реализаций порта. */
export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
  delayMs: number;
}

export function retryPolicy(opts: EnqueueOptions): RetryPolicy {
  // attempts по умолчанию 3 — из описания порта; откат 1 с — чтобы временный сбой зависимости
  // успел пройти, а три попытки укладывались в несколько секунд.
  const policy = { attempts: opts.attempts ?? 3, backoffMs: opts.backoffMs ?? 1000, delayMs: opts.delayMs ?? 0 };
  if (!Number.isSafeInteger(policy.attempts) || policy.attempts < 1) throw new RangeError(`attempts должен быть целым ≥ 1, получено ${policy.attempts}`);
  if (!Number.isSafeInteger(policy.backoffMs) || policy.backoffMs < 0) throw new RangeError(`backoffMs должен быть целым ≥ 0, получено ${policy.backoffMs}`);
  if (!Number.isSafeInteger(policy.delayMs) || policy.delayMs < 0) throw new RangeError(`delayMs должен быть целым ≥ 0, получено ${policy.delayMs}`);
  return policy;
}

// Двоеточие — разделитель в ключах BullMQ, и BullMQ запрещает его в имени очереди; встроенная
// реализация запрещает то же, чтобы код, проверенный во встроенном режиме, не упал в production.
export function assertQueueName(queue: string): void {
  if (queue.length === 0 || queue.includes(':')) throw new RangeError(`Недопустимое имя очереди «${queue}»: пустое или содержит ':'`);
}

export function assertConcurrency(concurrency: number): void {
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency должен быть целым ≥ 1, получено ${concurrency}`);
}

interface QueuedJob {
  id: string;
  name: string;
  payload: unknown;
  attempts: number;
  backoffMs: number;
  /** Номер следующей попытки. */
  attempt: number;
}

interface WorkerState {
  handler: JobHandler;
  concurrency: number;
  active: number;
  closed: boolean;
  running: Set<Promise<void>>;
}

interface QueueState {
  ready: QueuedJob[];
  /** Задачи, ещё не завершённые (ждут, отложены или выполняются): ключ дедупликации. */
  pending: Set<string>;
  workers: Set<WorkerState>;
}

export interface InProcessJobQueueOptions {
  /** Задача исчерпала попытки; окончательный отказ не должен пропасть молча. */
  onError?: (error: unknown) => void;
}

export function createInProcessJobQueue(options: InProcessJobQueueOptions = {}): JobQueue {
  const { onError } = options;
  const queues = new Map<string, QueueState>();
  const timers = new Set<NodeJS.Timeout>();
  const workers = new Set<WorkerState>();
  let closed = false;

  function state(queue: string): QueueState {
    let s = queues.get(queue);
    if (s === undefined) {
      s = { ready: [], pending: new Set(), workers: new Set() };
      queues.set(queue, s);
    }
    return s;
  }

  function later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  }

  function makeReady(s: QueueState, job: QueuedJob): void {
    s.ready.push(job);
    dispatch(s);
  }

  function dispatch(s: QueueState): void {
    for (const w of s.workers) {
      while (!w.closed && w.active < w.concurrency && s.ready.length > 0) {
        const job = s.ready.shift();
        if (job !== undefined) run(s, w, job);
      }
    }
  }

  function run(s: QueueState, w: WorkerState, job: QueuedJob): void {
    w.active++;
    const view: Job = { id: job.id, name: job.name, payload: job.payload, attempt: job.attempt };
    // Обработчик вызывается не синхронно из enqueue()/process(), как и у BullMQ.
    const done = Promise.resolve()
      .then(() => w.handler(view))
      .then(
        () => {
          s.pending.delete(job.id);
        },
        (error: unknown) => {
          if (job.attempt >= job.attempts) {
            s.pending.delete(job.id);
            onError?.(new Error(`Задача ${job.name} (${job.id}) отклонена после ${job.attempts} попыток`, { cause: error }));
            return;
          }
          // Откат как у BullMQ 'exponential': backoff · 2^(номер неудавшейся попытки − 1).
          const delay = job.backoffMs * 2 ** (job.attempt - 1);
          job.attempt++;
          if (!closed) later(delay, () => makeReady(s, job));
        },
      )
      .finally(() => {
        w.active--;
        w.running.delete(done);
        if (!closed) dispatch(s);
      });
    w.running.add(done);
  }

  async function closeWorker(w: WorkerState): Promise<void> {
    w.closed = true;
    for (const s of queues.values()) s.workers.delete(w);
    workers.delete(w);
    // Как Worker.close() у BullMQ: новые задачи не берутся, начатые дорабатывают.
    await Promise.all([...w.running]);
  }

  return {
    kind: 'in-process',

    enqueue<P>(queue: string, name: string, payload: P, opts: EnqueueOptions = {}): Promise<string> {
      try {
        if (closed) throw new Error('Очередь задач закрыта');
        assertQueueName(queue);
        const { attempts, backoffMs, delayMs } = retryPolicy(opts);
        // BullMQ хранит полезную нагрузку как JSON: обработчик получает копию той же формы
        // (Date → строка и т. п.), а несериализуемое значение (BigInt, цикл) отвергается сразу.
        const json = JSON.stringify(payload) as string | undefined;
        const copy: unknown = json === undefined ? undefined : JSON.parse(json);
        const s = state(queue);
        const id = opts.jobId ?? randomUUID();
        if (s.pending.has(id)) return Promise.resolve(id);
        s.pending.add(id);
        const job: QueuedJob = { id, name, payload: copy, attempts, backoffMs, attempt: 1 };
        if (delayMs > 0) later(delayMs, () => makeReady(s, job));
        else makeReady(s, job);
        return Promise.resolve(id);
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },

    process<P>(queue: string, handler: JobHandler<P>, opts: { concurrency?: number } = {}): Worker {
      if (closed) throw new Error('Очередь задач закрыта');
      assertQueueName(queue);
      const concurrency = opts.concurrency ?? 1;
      assertConcurrency(concurrency);
      const w: WorkerState = { handler: handler as JobHandler, concurrency, active: 0, closed: false, running: new Set() };
      const s = state(queue);
      s.workers.add(w);
      workers.add(w);
      // Задачи, поставленные до появления обработчика, ждали его.
      queueMicrotask(() => dispatch(s));
      return { close: () => closeWorker(w) };
    },

    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([...workers].map(closeWorker));
      queues.clear();
    },
  };
}
