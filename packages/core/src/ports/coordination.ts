// Порт координации (SPEC §1): Redis в production, in-process реализация во встроенном режиме.
// pub/sub, ключи с TTL и аренды (leases) с fencing-токенами.

export type Unsubscribe = () => Promise<void>;

export interface SetOptions {
  /** Время жизни ключа в миллисекундах. */
  ttlMs?: number;
  /** Записать, только если ключа нет (SET NX). */
  ifAbsent?: boolean;
}

/**
 * Аренда — право на единоличную работу (лидер ротации ключей, мастер SE …).
 * Аренда даёт только живучесть; корректность — fencing-токен, который строго растёт
 * с каждой новой выдачей и проверяется там, где запись фиксируется (SPEC SE-12, HA-4).
 */
export interface Lease {
  readonly name: string;
  readonly owner: string;
  /** Монотонно растущий номер выдачи. */
  readonly token: number;
  readonly ttlMs: number;
  /** Момент (performance.now()) последнего успешного захвата/продления. */
  readonly acquiredAt: number;
}

/** Результат increment: новое значение счётчика и сколько ему осталось жить. */
export interface CounterValue {
  count: number;
  /** Оставшийся TTL ключа, мс (> 0). */
  ttlMs: number;
}

export interface Coordination {
  readonly kind: 'redis' | 'in-process';

  publish(channel: string, message: string): Promise<void>;
  /** Подписка; обработчик получает сообщения, опубликованные после подписки. */
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe>;

  get(key: string): Promise<string | null>;
  /** Возвращает false, если ifAbsent и ключ уже есть. */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  delete(key: string): Promise<void>;
  /**
   * Атомарно увеличивает целочисленный счётчик в том же пространстве ключей, что get/set (отсутствующий
   * ключ — 0). TTL ставится, только если у ключа его нет (первое увеличение), и дальше не продлевается:
   * окно счёта не сдвигается частыми запросами (ограничение частоты, SPEC AD-11). Ключ с нецелым
   * значением — отказ, как INCR в Redis.
   */
  increment(key: string, ttlMs: number): Promise<CounterValue>;

  /** Захватывает аренду, если она свободна (или уже принадлежит owner). null — занята другим. */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<Lease | null>;
  /** Продлевает свою аренду; null — аренда потеряна (истекла или захвачена другим). */
  renewLease(lease: Lease): Promise<Lease | null>;
  /** Освобождает аренду, только если она всё ещё наша. */
  releaseLease(lease: Lease): Promise<void>;

  ping(): Promise<void>;
  close(): Promise<void>;
}
