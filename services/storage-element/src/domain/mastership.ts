// Роль мастера SE (SPEC SE-12): при нескольких узлах над одним хранилищем пишет только держатель
// аренды. Аренда в координации (Redis) даёт только живучесть; корректность — эпоха из БД, которая
// проверяется при каждой фиксации в кеш (store/epochs.ts). Узел сам прекращает запись раньше, чем
// аренда может перейти к другому: в TTL − прошедшее − дрейф (1 % TTL + 2 мс) по монотонным часам.
// Одиночный SE (встроенный режим) — всегда мастер со своей эпохой.
import { performance } from 'node:perf_hooks';
import { ArtError, withTimeout, type Coordination, type Lease, type Logger } from '@artstore/core';
import type { EpochStore } from '../store/epochs.js';

export interface Mastership {
  /** Узел сейчас мастер и его аренда заведомо действительна. */
  readonly isMaster: boolean;
  /**
   * Эпоха для новой записи; не мастер — SE_NOT_MASTER (307 на мастера) или SE_NO_MASTER. Запись
   * несёт эпоху от начала до фиксации: если роль сменилась посреди, фиксация будет отвергнута.
   */
  writeEpoch(): number;
  /** Последняя полученная эпоха (0 — ещё не был мастером): для журналов и метрик. */
  readonly epoch: number;
  /**
   * Перед фиксацией: узел всё ещё мастер той же эпохи, иначе SE_WRITE_FENCED. Это ранний отказ;
   * окончательный — проверка эпохи в транзакции кеша.
   */
  assertEpoch(epoch: number): void;
  /** Отказ для записи на не-мастер: 307 на тот же путь у мастера, если он известен, иначе 503. */
  refusal(path?: string): ArtError;
  close(): Promise<void>;
}

export function createSoleMastership(epoch: number): Mastership {
  return {
    isMaster: true,
    epoch,
    writeEpoch: () => epoch,
    assertEpoch: () => undefined,
    refusal: () => new ArtError('INTERNAL_ERROR', 'Одиночный SE всегда мастер'),
    close: () => Promise.resolve(),
  };
}

/** Кто мастер: публикуется в координации, чтобы не-мастер мог перенаправить запись. */
interface MasterInfo {
  node_id: string;
  url: string;
  epoch: number;
}

export interface ElectionOptions {
  elementId: string;
  nodeId: string;
  /** Внешний адрес этого узла (для перенаправления записи с других узлов); известен после listen. */
  url: () => string;
  ttlMs: number;
  coordination: Coordination;
  epochs: EpochStore;
  logger: Logger;
  /**
   * Роль получена, эпоха взята: до возврата узел ещё не пишет. Здесь воспроизводятся журналы прежних
   * эпох (SPEC SE-12). Ошибка — роль отдаётся, попытка повторится.
   */
  onPromoted(epoch: number): Promise<void>;
  /** Роль потеряна (аренда не продлена или истекла): запись уже остановлена. */
  onDemoted(reason: string): Promise<void> | void;
  /** Для тестов: монотонные часы, мс. */
  now?: () => number;
}

function leaseName(elementId: string): string {
  return `se-master-${elementId}`;
}

function masterInfoKey(elementId: string): string {
  return `se-master-info:${elementId}`;
}

/** Запас на дрейф часов: 1 % TTL + 2 мс (SPEC SE-12). */
export function leaseDrift(ttlMs: number): number {
  return ttlMs * 0.01 + 2;
}

/**
 * Выборы (идут после start()): кандидат пытается захватить аренду каждые TTL/3, мастер продлевает её каждые TTL/3 (≤ TTL/2
 * по SPEC). Потеря аренды, отказ продления или истечение локального срока — роль снимается сразу.
 */
export function createElection(options: ElectionOptions): Mastership & { start(): void } {
  const now = options.now ?? (() => performance.now());
  const name = leaseName(options.elementId);
  const period = Math.max(10, Math.floor(options.ttlMs / 3));
  let lease: Lease | null = null;
  /** До этого момента (монотонные мс) запись разрешена; 0 — не мастер. */
  let writableUntil = 0;
  let promoted = false;
  let epoch = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> = Promise.resolve();

  const validUntil = (held: Lease) => held.acquiredAt + held.ttlMs - leaseDrift(held.ttlMs);
  const writable = () => promoted && now() < writableUntil;

  async function demote(reason: string): Promise<void> {
    const wasMaster = promoted;
    promoted = false;
    writableUntil = 0;
    const held = lease;
    lease = null;
    if (held) await options.coordination.releaseLease(held).catch(() => undefined);
    if (wasMaster) {
      options.logger.warn({ epoch, reason }, 'se_master_demoted');
      await options.onDemoted(reason);
    }
  }

  async function publishInfo(): Promise<void> {
    const info: MasterInfo = { node_id: options.nodeId, url: options.url(), epoch };
    await options.coordination.set(masterInfoKey(options.elementId), JSON.stringify(info), { ttlMs: options.ttlMs });
  }

  async function step(): Promise<void> {
    if (lease === null) {
      const acquired = await options.coordination.acquireLease(name, options.nodeId, options.ttlMs);
      if (acquired === null) {
        await refreshKnownMaster();
        return;
      }
      knownMaster = null;
      lease = acquired;
      writableUntil = validUntil(acquired);
      epoch = await options.epochs.advance(options.nodeId);
      options.logger.info({ epoch, node_id: options.nodeId }, 'se_master_promoting');
      try {
        await options.onPromoted(epoch);
      } catch (error) {
        options.logger.error({ err: error, epoch }, 'se_master_promotion_failed');
        await demote('promotion_failed');
        return;
      }
      // Воспроизведение журналов могло занять дольше срока аренды — продлеваем, прежде чем писать.
      const renewed = await options.coordination.renewLease(acquired);
      if (renewed === null) {
        await demote('lease_lost_during_promotion');
        return;
      }
      lease = renewed;
      writableUntil = validUntil(renewed);
      promoted = true;
      await publishInfo().catch((error: unknown) => options.logger.warn({ err: error }, 'se_master_info_publish_failed'));
      options.logger.info({ epoch, node_id: options.nodeId }, 'se_master_promoted');
      return;
    }
    const renewed = await options.coordination.renewLease(lease);
    if (renewed === null) {
      await demote('lease_lost');
      return;
    }
    lease = renewed;
    writableUntil = validUntil(renewed);
    if (promoted) await publishInfo().catch(() => undefined);
  }



  // Сторож срока: роль снимается ровно в момент, когда аренда могла уйти, даже если цикл занят.
  let expiry: NodeJS.Timeout | undefined;
  function armExpiry(): void {
    clearTimeout(expiry);
    if (!promoted) return;
    expiry = setTimeout(() => {
      if (promoted && now() >= writableUntil) void demote('lease_expired');
      else armExpiry();
    }, Math.max(0, writableUntil - now()));
    expiry.unref();
  }

  function schedule(): void {
    if (stopped) return;
    armExpiry();
    timer = setTimeout(() => {
      // Зависший вызов координации (сеть в обрыве) не должен останавливать цикл и сторожа срока.
      tick = withTimeout(step(), options.ttlMs, 'шаг аренды')
        .catch(async (error: unknown) => {
          // Координация недоступна: мастер пишет до конца своего срока и ни мгновением дольше.
          options.logger.warn({ err: error }, 'se_master_lease_step_failed');
          if (promoted && now() >= writableUntil) await demote('lease_expired');
        })
        .finally(schedule);
    }, lease === null ? period : Math.min(period, Math.max(0, writableUntil - now())));
    timer.unref();
  }

  /** Мастер по сведениям координации (обновляются каждый период); себя не считаем. */
  let knownMaster: MasterInfo | null = null;
  async function refreshKnownMaster(): Promise<void> {
    const raw = await options.coordination.get(masterInfoKey(options.elementId));
    const info = raw === null ? null : (JSON.parse(raw) as MasterInfo);
    knownMaster = info !== null && info.node_id !== options.nodeId ? info : null;
  }

  function refusal(path?: string): ArtError {
    const base = { element_id: options.elementId, node_id: options.nodeId };
    if (knownMaster !== null && path !== undefined) {
      const location = new URL(path, knownMaster.url).toString();
      return new ArtError('SE_NOT_MASTER', `Запись принимает мастер ${knownMaster.node_id}: ${location}`, {
        headers: { location },
        extra: { ...base, master_node_id: knownMaster.node_id, master_url: knownMaster.url },
      });
    }
    return new ArtError('SE_NO_MASTER', `Узел ${options.nodeId} элемента ${options.elementId} не мастер, мастер не выбран`, {
      headers: { 'retry-after': String(Math.ceil(options.ttlMs / 1000)) },
      extra: base,
    });
  }

  return {
    get isMaster() {
      return writable();
    },
    get epoch() {
      return epoch;
    },
    writeEpoch() {
      if (writable()) return epoch;
      throw refusal();
    },
    assertEpoch(mine) {
      if (writable() && mine === epoch) return;
      throw new ArtError('SE_WRITE_FENCED', `Узел ${options.nodeId} потерял роль мастера эпохи ${mine}: запись не зафиксирована`, {
        extra: { element_id: options.elementId, node_id: options.nodeId, epoch: mine },
      });
    },
    refusal,
    start() {
      tick = withTimeout(step(), options.ttlMs, 'шаг аренды')
        .catch((error: unknown) => options.logger.warn({ err: error }, 'se_master_lease_step_failed'))
        .finally(schedule);
    },
    async close() {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(expiry);
      await tick;
      await demote('shutdown');
    },
  };
}
