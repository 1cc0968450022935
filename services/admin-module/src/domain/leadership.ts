// Лидер среди экземпляров admin-module (SPEC AD-4, AD-8): только держатель аренды ротирует ключи,
// опрашивает SE и публикует документ обнаружения. Аренда даёт единоличность «в обычной жизни»;
// там, где двойное выполнение вредно, работа дополнительно защищена в БД (см. key-rotation.ts).
// Роль снимается, как только аренда могла уйти к другому: TTL − прошедшее − дрейф (1 % TTL + 2 мс).
import { performance } from 'node:perf_hooks';
import { withTimeout, type Coordination, type Lease, type Logger } from '@artstore/core';

export interface Leadership {
  /** Экземпляр сейчас лидер и его аренда заведомо действительна. */
  readonly isLeader: boolean;
  /** Вызывается при каждом получении и потере роли. */
  onChange(listener: (leader: boolean) => void): void;
  start(): void;
  /** Отдаёт аренду (если держит), чтобы другой экземпляр стал лидером без ожидания TTL. */
  close(): Promise<void>;
}

export interface LeadershipOptions {
  coordination: Coordination;
  name: string;
  ownerId: string;
  ttlMs: number;
  logger: Logger;
  /** Для тестов: монотонные часы, мс. */
  now?: () => number;
}

export function createLeadership(options: LeadershipOptions): Leadership {
  const { coordination, name, ownerId, ttlMs, logger } = options;
  const now = options.now ?? (() => performance.now());
  const period = Math.max(10, Math.floor(ttlMs / 3));
  const listeners: ((leader: boolean) => void)[] = [];
  let lease: Lease | null = null;
  let validUntil = 0;
  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  function setLeader(value: boolean, reason: string): void {
    if (leader === value) return;
    leader = value;
    logger.info({ lease: name, owner: ownerId, reason }, value ? 'leader_elected' : 'leader_lost');
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (error) {
        logger.error({ err: error, lease: name }, 'leader_listener_failed');
      }
    }
  }

  function hold(acquired: Lease): void {
    lease = acquired;
    validUntil = acquired.acquiredAt + acquired.ttlMs - (acquired.ttlMs * 0.01 + 2);
    setLeader(true, 'lease_held');
  }

  async function step(): Promise<void> {
    // Зависший вызов координации не должен останавливать цикл: шаг ограничен сроком аренды.
    const next = await withTimeout(
      lease === null ? coordination.acquireLease(name, ownerId, ttlMs) : coordination.renewLease(lease),
      ttlMs,
      `аренда ${name}`,
    );
    if (next === null) {
      lease = null;
      setLeader(false, 'lease_lost');
      return;
    }
    hold(next);
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = step()
        .catch((error: unknown) => {
          // Координация недоступна: лидер остаётся лидером до конца срока аренды и ни мгновением дольше.
          logger.warn({ err: error, lease: name }, 'leader_lease_step_failed');
        })
        .finally(() => {
          if (leader && now() >= validUntil) {
            lease = null;
            setLeader(false, 'lease_expired');
          }
          schedule();
        });
    }, period);
    timer.unref();
  }

  return {
    get isLeader() {
      if (leader && now() >= validUntil) {
        lease = null;
        setLeader(false, 'lease_expired');
      }
      return leader;
    },
    onChange(listener) {
      listeners.push(listener);
    },
    start() {
      running = step()
        .catch((error: unknown) => logger.warn({ err: error, lease: name }, 'leader_lease_step_failed'))
        .finally(schedule);
    },
    async close() {
      stopped = true;
      clearTimeout(timer);
      await running;
      const held = lease;
      lease = null;
      setLeader(false, 'closed');
      if (held) await coordination.releaseLease(held).catch(() => undefined);
    },
  };
}
