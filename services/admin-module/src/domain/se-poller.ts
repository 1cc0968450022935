// Опрос SE (SPEC AD-7): раз в discovery.poll_interval лидер admin-module спрашивает каждый SE о
// готовности, режиме и месте. Версию документа обнаружения (AD-8) поднимает только то, что влияет на
// выбор SE (IN-2): здоровье, режим, ступень заполнения — а не каждый записанный байт.
import type { DiscoveryCapacity, Logger } from '@artstore/core';
import type { StorageElementRow, StorageElementStore } from '../store/storage-elements.js';
import type { Leadership } from './leadership.js';
import type { SeClients } from './se-clients.js';
import { probeStorageElement, type ProbeResult } from './se-probe.js';

/** Ширина ступени заполнения, %: документ обновляется, когда SE переходит в другую ступень или уровень тревоги. */
export const CAPACITY_STEP_PERCENT = 5;

function capacityStep(capacity: DiscoveryCapacity | null): string {
  return capacity === null
    ? 'none'
    : `${Math.floor(capacity.usage_percent / CAPACITY_STEP_PERCENT)}:${capacity.alarm_level}`;
}

/** Входит ли наблюдение в документ обнаружения. */
export function isSignificant(previous: StorageElementRow, next: ProbeResult): boolean {
  return (
    previous.health !== next.health ||
    previous.mode !== next.mode ||
    capacityStep(previous.published_capacity) !== capacityStep(next.capacity)
  );
}

export interface SePollerDeps {
  store: StorageElementStore;
  clients: SeClients;
  /** Опрашивает и публикует только лидер (SPEC HA-4); новый лидер опрашивает сразу, не дожидаясь таймера. */
  leadership: Pick<Leadership, 'isLeader' | 'onChange'>;
  /** После опроса: опубликовать документ, если его версия изменилась. */
  afterPoll: () => Promise<void>;
  intervalMs: number;
  logger: Logger;
  now?: () => Date;
}

export function createSePoller(deps: SePollerDeps) {
  const { store, clients, logger } = deps;
  const now = deps.now ?? (() => new Date());
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let pending = false;
  let stopped = false;

  async function poll(row: StorageElementRow): Promise<void> {
    const probed = await probeStorageElement(clients.for(row.id, row.url), row.id, now());
    // Не ответивший SE сохраняет последние известные режим и место: это факты на момент last_seen_at.
    const result =
      probed.health === 'down'
        ? { ...probed, mode: row.mode, configured_mode: row.configured_mode, retention: row.retention, capacity: row.capacity }
        : probed;
    const outcome = await store.observe(row.id, result, (previous) => isSignificant(previous, result));
    if (outcome && result.health !== row.health) {
      const log = result.health === 'up' ? logger.info.bind(logger) : logger.warn.bind(logger);
      log(
        { element_id: row.id, from: row.health, to: result.health, error: result.health_error },
        'se_health_changed',
      );
    }
  }

  async function pollAll(): Promise<void> {
    const rows = await store.list();
    clients.retain(rows.map((row) => row.id));
    await Promise.all(
      rows.map((row) =>
        poll(row).catch((error: unknown) =>
          logger.error({ err: error, element_id: row.id }, 'se_poll_failed'),
        ),
      ),
    );
  }

  async function tick(): Promise<void> {
    if (!deps.leadership.isLeader) return;
    try {
      await pollAll();
      await deps.afterPoll();
    } catch (error) {
      logger.error({ err: error }, 'se_poll_round_failed');
    }
  }

  /** Очередной раунд; запрошенный во время идущего — сразу после него. */
  function run(): void {
    if (stopped) return;
    if (running) {
      pending = true;
      return;
    }
    clearTimeout(timer);
    running = tick().finally(() => {
      running = undefined;
      if (pending) {
        pending = false;
        run();
        return;
      }
      if (stopped) return;
      timer = setTimeout(run, deps.intervalMs);
      timer.unref();
    });
  }

  return {
    /** Один SE сейчас — после смены режима (лидер он или нет: наблюдение пишет тот, кто его сделал). */
    async pollOne(id: string): Promise<void> {
      const row = await store.byId(id);
      if (row) await poll(row);
    },
    pollAll,
    start(): void {
      deps.leadership.onChange((leader) => {
        if (leader) run();
      });
      run();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
export type SePoller = ReturnType<typeof createSePoller>;
