// Scrub (SPEC SE-6, BY-3): фоновый обход активных файлов с перехешированием байтов на заданной
// скорости. Итог каждой проверки дописывается в attr (fixity) новой версией через replaceAttr —
// аудитор видит, когда файл в последний раз доказанно был цел. Повреждение не «чинится»: событие
// file_corrupted, метрика, строка в отчёте. Проход продолжается с курсора после перезапуска.
import type { BlobStore, Logger } from '@artstore/core';
import type { FileCache } from '../store/file-cache.js';
import type { StateStore } from '../store/state.js';
import type { AttrRecord, FixityEntry } from './attr.js';
import type { ReplaceAttr } from './attr-replacer.js';
import { assertAttrSignature, type PublicSigningKey } from './attr-signing.js';
import { checkStoredBytes, type StoredBytesCheck } from './fixity.js';
import type { KeyedLock } from './keyed-lock.js';
import { persistedState, REPORT_PROBLEMS_LIMIT, type ScheduledState } from './maintenance-state.js';
import type { ModeController } from './mode-controller.js';
import { startPeriodic, type PeriodicTask } from './periodic.js';
import type { SeMetrics } from './se-metrics.js';
import { createRateLimiter, type RateLimiter } from './throttle.js';

export interface ScrubProblem {
  id: string;
  verdict: Exclude<FixityEntry['verdict'], 'ok'> | 'error';
  at: string;
  path?: string;
  /** Для error — текст ошибки. */
  detail?: string;
}

export interface ScrubPass {
  started_at: string;
  /** null — проход идёт. */
  finished_at: string | null;
  /** id последнего проверенного файла: после перезапуска проход продолжается со следующего. */
  cursor: string | null;
  /** Проверено файлов (итог записан или записывался в attr). */
  files: number;
  /** Прочитано байт. */
  bytes: number;
  corrupted: number;
  /** Пропущено: удалён или изменён во время чтения, в режиме ar байтов нет. */
  skipped: number;
  errors: number;
  /** Первые REPORT_PROBLEMS_LIMIT повреждений и ошибок прохода. */
  problems: ScrubProblem[];
}

export interface ScrubState extends ScheduledState {
  current: ScrubPass | null;
  last: ScrubPass | null;
}

export interface ScrubberDeps {
  blobs: BlobStore;
  cache: FileCache;
  lock: KeyedLock;
  replaceAttr: ReplaceAttr;
  signingKeys: readonly PublicSigningKey[];
  modes: Pick<ModeController, 'mode'>;
  /** Итог пишет только мастер (SPEC SE-12); на прочих узлах проход не идёт, их состояние — общее в БД. */
  isMaster: () => boolean;
  state: StateStore;
  logger: Logger;
  metrics: Pick<SeMetrics, 'scrubBytes' | 'scrubFiles' | 'scrubLastPass'>;
  config: { enabled: boolean; rate: number; interval: number };
  now?: () => Date;
}

const PAGE = 100;
const SCRUB_ACTOR = 'system:scrub';

export function createScrubber(deps: ScrubberDeps) {
  const now = deps.now ?? (() => new Date());
  const state = persistedState<ScrubState>(deps.state, 'scrub', { next_at: null, current: null, last: null }, deps.isMaster);

  function addProblem(pass: ScrubPass, problem: ScrubProblem): void {
    if (pass.problems.length < REPORT_PROBLEMS_LIMIT) pass.problems.push(problem);
  }

  function reportCorruption(pass: ScrubPass, attr: AttrRecord, verdict: ScrubProblem['verdict'], check: StoredBytesCheck, at: string): void {
    pass.corrupted++;
    addProblem(pass, { id: attr.id, path: attr.path, verdict, at });
    deps.logger.error(
      {
        file_id: attr.id,
        path: attr.path,
        verdict,
        expected: { size: attr.stored.size, sha256: attr.stored.sha256 },
        actual: { size: check.size, sha256: check.sha256 },
      },
      'file_corrupted',
    );
  }

  /** Байты читаются вне блокировки (правка и удаление их не ждут), итог пишется под ней. */
  async function scrubFile(id: string, pass: ScrubPass, limiter: RateLimiter, signal: AbortSignal): Promise<void> {
    const attr = await deps.cache.get(id);
    if (!attr || attr.status !== 'active') {
      pass.skipped++;
      return;
    }
    // Ожидаемые размер и сумма — только из подлинной записи: подделка строки — ошибка, а не «порча байтов».
    assertAttrSignature(attr, deps.signingKeys, deps.logger);
    const check = await checkStoredBytes(deps.blobs, attr, { limiter, signal });
    pass.bytes += check.size ?? 0;
    deps.metrics.scrubBytes.inc(check.size ?? 0);
    // В архиве байты могли уйти в холодное хранение (SPEC SE-7): это не повреждение.
    if (check.verdict === 'missing' && deps.modes.mode === 'ar') {
      pass.skipped++;
      return;
    }
    const at = now().toISOString();
    const entry: FixityEntry = { at, algorithm: 'sha256', verdict: check.verdict, by: 'scrub' };
    const checked = await deps.lock(id, async () => {
      const current = await deps.cache.get(id);
      // Удалён (байты могли стереть) или заменён, пока шло чтение: итог относится к прежнему состоянию.
      if (!current || current.status !== 'active' || current.path !== attr.path || current.stored.sha256 !== attr.stored.sha256) {
        return false;
      }
      pass.files++;
      deps.metrics.scrubFiles.inc({ verdict: check.verdict });
      // Сначала сообщить, потом записать: сбой записи в attr не должен скрыть повреждение.
      if (check.verdict !== 'ok') reportCorruption(pass, current, check.verdict, check, at);
      // updated_at/updated_by описывают изменения записи людьми и сервисами; время проверки — в самой записи fixity.
      await deps.replaceAttr(
        current,
        (next) => ({ ...next, updated_at: current.updated_at, updated_by: current.updated_by, fixity: [...(current.fixity ?? []), entry] }),
        SCRUB_ACTOR,
      );
      return true;
    });
    if (!checked) pass.skipped++;
  }

  async function runPass(signal: AbortSignal): Promise<void> {
    if (!deps.isMaster()) return;
    const limiter = createRateLimiter(deps.config.rate);
    const resumed = (await state.get()).current;
    const pass: ScrubPass = resumed ?? {
      started_at: now().toISOString(),
      finished_at: null,
      cursor: null,
      files: 0,
      bytes: 0,
      corrupted: 0,
      skipped: 0,
      errors: 0,
      problems: [],
    };
    await state.update((s) => ({ ...s, current: pass }));
    deps.logger.info({ resumed: resumed !== null, cursor: pass.cursor, rate: deps.config.rate }, 'scrub_pass_started');
    for (;;) {
      const ids = await deps.cache.activeIdsAfter(pass.cursor, PAGE);
      if (ids.length === 0) break;
      for (const id of ids) {
        signal.throwIfAborted();
        // Роль мастера ушла посреди прохода: новый мастер продолжит его с сохранённого курсора.
        if (!deps.isMaster()) return;
        try {
          await scrubFile(id, pass, limiter, signal);
        } catch (error) {
          if (signal.aborted) throw error;
          pass.errors++;
          deps.metrics.scrubFiles.inc({ verdict: 'error' });
          addProblem(pass, { id, verdict: 'error', at: now().toISOString(), detail: (error as Error).message });
          deps.logger.error({ err: error, file_id: id }, 'scrub_file_failed');
        }
        pass.cursor = id;
        await state.update((s) => ({ ...s, current: pass }));
      }
    }
    pass.finished_at = now().toISOString();
    await state.update((s) => ({ ...s, current: null, last: pass }));
    deps.metrics.scrubLastPass.set(Date.parse(pass.finished_at) / 1000);
    const { problems: _listed, ...summary } = pass;
    deps.logger.info(summary, 'scrub_pass_finished');
  }

  return {
    /** Запускает фоновый цикл (если storage.scrub.enabled); close() останавливает его и идущий проход. */
    async start(): Promise<PeriodicTask | null> {
      const { last } = await state.get();
      if (last?.finished_at) deps.metrics.scrubLastPass.set(Date.parse(last.finished_at) / 1000);
      if (!deps.config.enabled) return null;
      return startPeriodic({ name: 'scrub', intervalMs: deps.config.interval, logger: deps.logger, schedule: state.schedule, run: runPass });
    },

    async report() {
      const { next_at, current, last } = await state.get();
      return {
        enabled: deps.config.enabled,
        rate_bytes_per_second: deps.config.rate,
        interval_ms: deps.config.interval,
        next_at: deps.config.enabled ? next_at : null,
        current,
        last,
      };
    },
  };
}
export type Scrubber = ReturnType<typeof createScrubber>;
