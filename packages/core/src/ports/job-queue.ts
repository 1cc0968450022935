// Порт очереди фоновых задач (SPEC §10: BullMQ вместо Kafka; in-process во встроенном режиме).
// Доставка «как минимум один раз»: обработчик должен быть идемпотентным.

export interface EnqueueOptions {
  /** Идентификатор задачи для дедупликации: повторная постановка с тем же jobId игнорируется. */
  jobId?: string;
  delayMs?: number;
  /** Число попыток (включая первую); по умолчанию 3. */
  attempts?: number;
  /** Базовая задержка экспоненциального отката между попытками, мс. */
  backoffMs?: number;
}

export interface Job<P = unknown> {
  id: string;
  name: string;
  payload: P;
  /** Номер попытки, начиная с 1. */
  attempt: number;
}

export type JobHandler<P = unknown> = (job: Job<P>) => Promise<void>;

export interface Worker {
  close(): Promise<void>;
}

export interface JobQueue {
  readonly kind: 'bullmq' | 'in-process';
  enqueue<P>(queue: string, name: string, payload: P, options?: EnqueueOptions): Promise<string>;
  process<P>(queue: string, handler: JobHandler<P>, options?: { concurrency?: number }): Worker;
  close(): Promise<void>;
}
