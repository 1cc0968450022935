// Периодические проверки SE без состояния в БД: место и тревоги заполнения (SPEC SE-8, BY-5) — диск
// могут заполнить и не загрузки — и сроки хранения (SPEC SE-9). Первая проверка сразу при старте:
// метрики и тревоги не ждут целый интервал.
import type { Logger } from '@artstore/core';
import type { Capacity } from './capacity.js';
import { startPeriodic, type PeriodicSchedule, type PeriodicTask } from './periodic.js';
import type { RetentionWarnings } from './retention-warnings.js';
import type { SeMetrics } from './se-metrics.js';

/** Расписание в памяти со сроком «сейчас»: запуск при старте, дальше раз в интервал. */
const dueAtStart: PeriodicSchedule = {
  load: () => Promise.resolve(new Date().toISOString()),
  save: () => Promise.resolve(),
};

export interface SeMonitorsDeps {
  logger: Logger;
  capacity: Capacity;
  capacityIntervalMs: number;
  retentionWarnings: RetentionWarnings;
  retentionIntervalMs: number;
  /** Число файлов по статусу (метрика artstore_se_files). */
  countFiles: () => Promise<Map<string, number>>;
  metrics: Pick<SeMetrics, 'retentionExpiring' | 'retentionExpired' | 'files'>;
}

export function startSeMonitors(deps: SeMonitorsDeps): PeriodicTask {
  const tasks = [
    startPeriodic({
      name: 'capacity_check',
      intervalMs: deps.capacityIntervalMs,
      logger: deps.logger,
      schedule: dueAtStart,
      run: async () => {
        await deps.capacity.status();
        for (const [status, files] of await deps.countFiles()) deps.metrics.files.set({ status }, files);
      },
    }),
    startPeriodic({
      name: 'retention_warnings',
      intervalMs: deps.retentionIntervalMs,
      logger: deps.logger,
      schedule: dueAtStart,
      run: async () => {
        const counts = await deps.retentionWarnings.check();
        for (const [within, files] of counts.expiring) deps.metrics.retentionExpiring.set({ within }, files);
        deps.metrics.retentionExpired.set(counts.expired);
      },
    }),
  ];
  return {
    async close() {
      await Promise.all(tasks.map((task) => task.close()));
    },
  };
}
