// Состояние фоновых задач обслуживания (scrub, сверка — SPEC SE-6) в БД SE: расписание и отчёт
// последнего прохода переживают перезапуск, отчёт отдаёт GET /api/maintenance/report. Узлы одного SE
// (SPEC SE-12) делят эту таблицу: значение читается из БД каждый раз, пишет его только мастер.
import type { StateStore } from '../store/state.js';
import type { PeriodicSchedule } from './periodic.js';

/** Проблем в одном отчёте не больше этого (счётчики — полные): отчёт о потере диска не раздувает БД и ответ. */
export const REPORT_PROBLEMS_LIMIT = 1000;

export interface ScheduledState {
  next_at: string | null;
}

export function persistedState<T extends ScheduledState>(store: StateStore, key: string, initial: T, isMaster: () => boolean) {
  async function get(): Promise<T> {
    return { ...initial, ...(await store.get<T>(key)) };
  }
  async function update(change: (current: T) => T): Promise<void> {
    await store.put(key, change(await get()));
  }
  const schedule: PeriodicSchedule = {
    load: async () => (await get()).next_at,
    // Не мастер держит срок только в памяти: общий срок и отчёт в БД ведёт мастер.
    save: (nextAt) => (isMaster() ? update((current) => ({ ...current, next_at: nextAt })) : Promise.resolve()),
  };
  return { get, update, schedule };
}
