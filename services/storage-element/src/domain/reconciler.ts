// Периодическая сверка кеша с attr-файлами (SPEC SE-6, BY-2): расхождение проверяется постоянно, а не
// только после аварии. План — planRebuild; починка каждой строки — под блокировкой записи с повторной
// проверкой: между планом и починкой файл могли изменить (правка, scrub, удаление), и старый attr не
// должен затереть новую строку. Повреждения (подпись, нет данных, не тот размер) не чинятся, а
// попадают в отчёт, журнал и метрики.
import type { BlobStore, Logger } from '@artstore/core';
import type { FileCache } from '../store/file-cache.js';
import type { StateStore } from '../store/state.js';
import { attrDigest, type AttrRecord } from './attr.js';
import { verifyAttrSignature, type PublicSigningKey } from './attr-signing.js';
import type { KeyedLock } from './keyed-lock.js';
import { persistedState, REPORT_PROBLEMS_LIMIT, type ScheduledState } from './maintenance-state.js';
import type { ModeController } from './mode-controller.js';
import { ATTR_SUFFIX } from './naming.js';
import { startPeriodic, type PeriodicTask } from './periodic.js';
import { planRebuild, readAttr, summarizePlan, type Problem, type RebuildPlan } from './rebuild.js';
import type { SeMetrics } from './se-metrics.js';

export interface ReconcileReport {
  started_at: string;
  finished_at: string;
  scanned: number;
  unchanged: number;
  repaired: { missing: number; stale: number; orphans: number };
  /** Свежие attr без строки кеша: загрузка, возможно, ещё идёт — их починит следующий прогон. */
  deferred: number;
  problems_total: number;
  /** Первые REPORT_PROBLEMS_LIMIT повреждений. */
  problems: Problem[];
}

export interface ReconcileState extends ScheduledState {
  last: ReconcileReport | null;
}

export interface ReconcilerDeps {
  blobs: BlobStore;
  cache: FileCache;
  lock: KeyedLock;
  signingKeys: readonly PublicSigningKey[];
  /** Эпоха записи мастера (SPEC SE-12); не мастер — отказ. */
  writeEpoch: () => number;
  /** Чинит кеш только мастер: на прочих узлах прогон пропускается. */
  isMaster: () => boolean;
  modes: Pick<ModeController, 'mode'>;
  state: StateStore;
  logger: Logger;
  metrics: Pick<SeMetrics, 'reconcile' | 'reconcileRepaired' | 'reconcileLastRun'>;
  config: { enabled: boolean; interval: number };
  now?: () => Date;
}

/**
 * Строку для attr моложе этого сверка не создаёт: загрузка пишет attr раньше строки кеша (SPEC SE-3),
 * а при сбое удаляет attr — созданная в этот миг строка стала бы призраком в ленте изменений.
 */
export const FRESH_ATTR_GRACE_MS = 60_000;

type Outcome = 'missing' | 'stale' | 'orphans' | 'deferred' | 'settled';

/** Итог плана сверки в метриках (периодическая сверка и POST /api/maintenance/rebuild). */
export function setPlanMetrics(metrics: Pick<SeMetrics, 'reconcile'>, summary: ReturnType<typeof summarizePlan>): void {
  for (const kind of ['missing', 'stale', 'orphans', 'unchanged'] as const) metrics.reconcile.set({ kind }, summary[kind]);
  metrics.reconcile.set({ kind: 'problems' }, summary.problems.length);
}

export function createReconciler(deps: ReconcilerDeps) {
  const now = deps.now ?? (() => new Date());
  const state = persistedState<ReconcileState>(deps.state, 'reconcile', { next_at: null, last: null }, deps.isMaster);

  /** attr с диска в кеш, если строка всё ещё расходится с ним; settled — расхождение ушло само. */
  function repairRow(attr: AttrRecord, freshGraceMs: number): Promise<Outcome> {
    return deps.lock(attr.id, async () => {
      const key = `${attr.path}${ATTR_SUFFIX}`;
      const disk = await readAttr(deps.blobs, key);
      if ('reason' in disk || disk.id !== attr.id || verifyAttrSignature(disk, deps.signingKeys) !== 'valid') return 'settled';
      const row = await deps.cache.get(attr.id);
      if (row && attrDigest(row) === attrDigest(disk)) return 'settled';
      if (!row) {
        const info = await deps.blobs.stat(key);
        if (info && now().getTime() - info.modifiedAt.getTime() < freshGraceMs) return 'deferred';
      }
      await deps.cache.upsert(disk, deps.writeEpoch());
      return row ? 'stale' : 'missing';
    });
  }

  function removeOrphan(id: string): Promise<Outcome> {
    return deps.lock(id, async () => {
      const row = await deps.cache.get(id);
      if (!row || (await deps.blobs.stat(`${row.path}${ATTR_SUFFIX}`)) !== null) return 'settled';
      await deps.cache.remove(id);
      return 'orphans';
    });
  }

  /**
   * Чинит расхождения плана по одной записи под её блокировкой, перечитывая attr с диска: правка,
   * пришедшая между планом и починкой, не будет перезаписана устаревшей версией. freshGraceMs —
   * сколько ждать строку для свежего attr (загрузка пишет attr раньше строки); явный запрос оператора
   * передаёт 0: такую строку загрузка тут же перепишет сама, а ошибочную уберёт следующая сверка.
   */
  async function repair(plan: RebuildPlan, options: { signal?: AbortSignal; freshGraceMs?: number } = {}): Promise<Record<Outcome, number>> {
    const { signal, freshGraceMs = FRESH_ATTR_GRACE_MS } = options;
    const counts: Record<Outcome, number> = { missing: 0, stale: 0, orphans: 0, deferred: 0, settled: 0 };
    // Порядок по id (UUIDv7 — время загрузки), как при перестройке: лента изменений идёт в порядке создания.
    for (const attr of [...plan.missing, ...plan.stale].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      signal?.throwIfAborted();
      counts[await repairRow(attr, freshGraceMs)]++;
    }
    for (const id of plan.orphans) {
      signal?.throwIfAborted();
      counts[await removeOrphan(id)]++;
    }
    return counts;
  }

  async function run(signal: AbortSignal): Promise<void> {
    if (!deps.isMaster()) return;
    const started = now().toISOString();
    const plan = await planRebuild({ blobs: deps.blobs, cache: deps.cache, signingKeys: deps.signingKeys, signal });
    // В архиве байты могли уйти в холодное хранение (SPEC SE-7): их отсутствие — не повреждение.
    if (deps.modes.mode === 'ar') plan.problems = plan.problems.filter((problem) => problem.reason !== 'data_missing');
    setPlanMetrics(deps.metrics, summarizePlan(plan));

    const counts = await repair(plan, { signal });
    const report: ReconcileReport = {
      started_at: started,
      finished_at: now().toISOString(),
      scanned: plan.scanned,
      unchanged: plan.unchanged,
      repaired: { missing: counts.missing, stale: counts.stale, orphans: counts.orphans },
      deferred: counts.deferred,
      problems_total: plan.problems.length,
      problems: plan.problems.slice(0, REPORT_PROBLEMS_LIMIT),
    };
    for (const kind of ['missing', 'stale', 'orphans'] as const) deps.metrics.reconcileRepaired.inc({ kind }, counts[kind]);
    deps.metrics.reconcileLastRun.set(Date.parse(report.finished_at) / 1000);
    await state.update((current) => ({ ...current, last: report }));
    const { problems, ...figures } = report;
    if (problems.length > 0) deps.logger.error({ ...figures, problems: problems.slice(0, 20) }, 'cache_reconcile_problems');
    deps.logger.info(figures, 'cache_reconciled');
  }

  return {
    /** Запускает фоновый цикл (если storage.reconcile.enabled); close() останавливает его и идущий прогон. */
    async start(): Promise<PeriodicTask | null> {
      const { last } = await state.get();
      if (last) deps.metrics.reconcileLastRun.set(Date.parse(last.finished_at) / 1000);
      if (!deps.config.enabled) return null;
      return startPeriodic({
        name: 'reconcile',
        intervalMs: deps.config.interval,
        logger: deps.logger,
        schedule: state.schedule,
        run,
      });
    },

    repair,

    async report() {
      const { next_at, last } = await state.get();
      return { enabled: deps.config.enabled, interval_ms: deps.config.interval, next_at: deps.config.enabled ? next_at : null, last };
    },
  };
}
export type Reconciler = ReturnType<typeof createReconciler>;
