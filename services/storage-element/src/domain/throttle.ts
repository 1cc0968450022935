// Ограничение скорости чтения (SPEC SE-6: scrub «с настраиваемой скоростью»). Ограничивается сам поток:
// очередной кусок проходит не раньше своего времени по расписанию, а обратное давление останавливает
// чтение с диска — фоновая проверка не забирает диск у загрузок и выдачи, а не «спит» после целых файлов.
import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

export interface RateLimiter {
  /** Ждёт, пока скорость позволит пропустить bytes байт; отмена — через signal (AbortError). */
  take(bytes: number, signal?: AbortSignal): Promise<void>;
}

export interface RateLimiterClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const realClock: RateLimiterClock = {
  now: () => performance.now(),
  sleep: (ms, signal) => delay(ms, undefined, { signal }),
};

/**
 * Расписание без накопления: кусок проходит в своё время, следующий — через bytes/rate после него.
 * Простой не даёт права на всплеск: после паузы отсчёт начинается заново.
 */
export function createRateLimiter(bytesPerSecond: number, clock: RateLimiterClock = realClock): RateLimiter {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) throw new RangeError(`Скорость ${bytesPerSecond} байт/с: нужна > 0`);
  let nextFree = -Infinity;
  return {
    async take(bytes, signal) {
      signal?.throwIfAborted();
      const now = clock.now();
      const start = Math.max(now, nextFree);
      nextFree = start + (bytes * 1000) / bytesPerSecond;
      if (start > now) await clock.sleep(start - now, signal);
    },
  };
}

/** Пропускает куски насквозь со скоростью ограничителя. */
export class Throttle extends Transform {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly signal?: AbortSignal,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.limiter.take(chunk.length, this.signal).then(
      () => callback(null, chunk),
      (error: unknown) => callback(error as Error),
    );
  }
}
