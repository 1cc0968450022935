// Восстановление работы умерших экземпляров (SPEC IN-4, IN-6): ingester без состояния, и начатое одним
// экземпляром доводит или откатывает любой другой. Каждый экземпляр раз в heartbeat_interval отмечает
// свою незавершённую работу; раз в check_interval забирает чужую, молчащую дольше stale_after (или
// отпущенную без хозяина), и решает её через resolve; завершённое старше keep_finished удаляет.
// Общий цикл для саг загрузки и журнала переносов — у каждого свой StaleRowsStore и resolve.
import type { Config, Logger } from '@artstore/core';
import type { StaleRowsStore } from '../store/stale-rows.js';

export type RecoverySettings = Config['ingester']['recovery'];

/** Что сделал resolve со строкой: решил (она в конечном состоянии) или отложил до следующего круга. */
export type Resolution = 'resolved' | 'retry';

export interface StaleWorkOptions<R extends { id: string }> {
  /** Имя для журнала: `upload_saga`, `transfer` … */
  name: string;
  /** Идентификатор этого экземпляра (случайный на запуск процесса). */
  owner: string;
  store: StaleRowsStore<R>;
  settings: RecoverySettings;
  logger: Logger;
  /**
   * Решение по забранной строке. Бросить — то же, что 'retry': строка отпускается (owner = NULL) и
   * достанется следующему кругу любого экземпляра.
   */
  resolve(row: R): Promise<Resolution>;
  /** Работа, которую этот экземпляр ведёт сам (загрузки в процессе): её отмечает heartbeat. */
  inFlight(): Iterable<string>;
  /** Сколько строк забирать за круг. */
  batch?: number;
}

export interface StaleWorkLoop {
  /** Один круг: отметка, забор и решение брошенного, удаление старого; число забранных строк. */
  runOnce(): Promise<number>;
  close(): Promise<void>;
}

export function startStaleWork<R extends { id: string }>(options: StaleWorkOptions<R>): StaleWorkLoop {
  const { store, settings, logger, owner, name } = options;
  const batch = options.batch ?? 100;
  let round: Promise<number> | undefined;
  let closed = false;
  /** Забранные строки, пока по ним идёт решение: их тоже отмечает heartbeat. */
  const resolving = new Set<string>();

  async function resolveOne(row: R): Promise<void> {
    let outcome: Resolution;
    resolving.add(row.id);
    try {
      outcome = await options.resolve(row);
    } catch (error) {
      logger.warn({ err: error, [`${name}_id`]: row.id }, `${name}_recovery_deferred`);
      outcome = 'retry';
    } finally {
      resolving.delete(row.id);
    }
    if (outcome === 'retry') await store.release(row.id, owner);
  }

  async function recover(): Promise<number> {
    const rows = await store.claimStale(owner, settings.stale_after, batch);
    // По одной: решения обращаются к SE, и круг не должен обрушить на них сотни запросов разом.
    for (const row of rows) await resolveOne(row);
    const purged = await store.purgeFinished(settings.keep_finished);
    if (purged > 0) logger.info({ purged }, `${name}_finished_purged`);
    return rows.length;
  }

  /** Круги не перекрываются: следующий ждёт текущий. */
  function runOnce(): Promise<number> {
    round ??= recover().finally(() => (round = undefined));
    return round;
  }

  const report = (what: string) => (error: unknown) => {
    if (!closed) logger.warn({ err: error }, `${name}_${what}_failed`);
  };
  const beat = () => store.heartbeat(owner, [...options.inFlight(), ...resolving]);
  const heartbeat = setInterval(() => beat().catch(report('heartbeat')), settings.heartbeat_interval);
  const check = setInterval(() => runOnce().catch(report('recovery')), settings.check_interval);
  heartbeat.unref();
  check.unref();

  return {
    runOnce,
    async close() {
      closed = true;
      clearInterval(heartbeat);
      clearInterval(check);
      await round?.catch(() => undefined);
    },
  };
}
