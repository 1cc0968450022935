// Периодическая фоновая задача обслуживания (scrub, сверка кеша — SPEC SE-6). Время следующего запуска
// хранится в БД SE: перезапуск процесса не откладывает проверку на целый интервал и не запускает её
// заново сразу после старта. Остановка прерывает и ожидание, и идущий запуск (через signal).
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@artstore/core';

export interface PeriodicSchedule {
  /** Сохранённое время следующего запуска (ISO) или null — задача ещё ни разу не планировалась. */
  load(): Promise<string | null>;
  save(nextAt: string): Promise<void>;
}

export interface PeriodicOptions {
  name: string;
  intervalMs: number;
  logger: Logger;
  schedule: PeriodicSchedule;
  run(signal: AbortSignal): Promise<void>;
  now?: () => number;
}

export interface PeriodicTask {
  close(): Promise<void>;
}

/** После сбоя запуска (например, БД недоступна) — повтор не позже чем через это время. */
const RETRY_AFTER_FAILURE_MS = 5 * 60_000;
/** Предел одного setTimeout (2^31−1 мс ≈ 24.8 сут): большее значение Node превращает в 1 мс. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function startPeriodic(options: PeriodicOptions): PeriodicTask {
  const now = options.now ?? Date.now;
  const controller = new AbortController();
  const { signal } = controller;

  async function sleepUntil(at: number): Promise<void> {
    for (let left = at - now(); left > 0 && !signal.aborted; left = at - now()) {
      await delay(Math.min(left, MAX_TIMER_MS), undefined, { signal }).catch(() => undefined);
    }
  }

  /** Следующий запуск; не сохранился (БД недоступна) — расписание держится в памяти до следующего раза. */
  async function plan(delayMs: number): Promise<number> {
    const at = now() + delayMs;
    await options.schedule.save(new Date(at).toISOString()).catch((error: unknown) => {
      options.logger.warn({ err: error, task: options.name }, 'maintenance_schedule_not_saved');
    });
    return at;
  }

  async function loop(): Promise<void> {
    // Впервые — через интервал после первого старта: новое хранилище проверять незачем.
    const saved = await options.schedule.load();
    let next = saved === null ? await plan(options.intervalMs) : Date.parse(saved);
    while (!signal.aborted) {
      await sleepUntil(next);
      if (signal.aborted) return;
      let failed = false;
      try {
        await options.run(signal);
      } catch (error) {
        if (signal.aborted) return;
        failed = true;
        options.logger.error({ err: error, task: options.name }, 'maintenance_task_failed');
      }
      // Прерванный остановкой запуск не сдвигает расписание: после перезапуска он продолжится сразу.
      if (signal.aborted) return;
      next = await plan(failed ? Math.min(options.intervalMs, RETRY_AFTER_FAILURE_MS) : options.intervalMs);
    }
  }

  const running = loop().catch((error: unknown) => {
    options.logger.error({ err: error, task: options.name }, 'maintenance_task_stopped');
  });
  return {
    async close() {
      controller.abort();
      await running;
    },
  };
}
