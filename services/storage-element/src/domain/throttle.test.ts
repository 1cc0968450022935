import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { createRateLimiter, Throttle, type RateLimiterClock } from './throttle.js';

/** Часы, которые двигает только sleep: расписание видно точно, без реального ожидания. */
function fakeClock(): RateLimiterClock & { t: number; slept: number[] } {
  const clock = {
    t: 0,
    slept: [] as number[],
    now: () => clock.t,
    sleep: (ms: number) => {
      clock.slept.push(ms);
      clock.t += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });

describe('ограничитель скорости', () => {
  it('первый кусок сразу, следующие — по расписанию bytes/rate', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter(1000, clock);
    await limiter.take(500);
    await limiter.take(500);
    await limiter.take(1000);
    await limiter.take(10);
    assert.deepEqual(clock.slept, [500, 500, 1000]);
    assert.equal(clock.t, 2000);
  });

  it('простой не копит права на всплеск', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter(1000, clock);
    await limiter.take(100);
    clock.t = 60_000;
    await limiter.take(100);
    await limiter.take(100);
    assert.deepEqual(clock.slept, [100]);
  });

  it('части времени ожидания не теряются при медленном потребителе', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter(1000, clock);
    await limiter.take(1000);
    clock.t += 400; // потребитель сам потратил 400 мс
    await limiter.take(1000);
    assert.deepEqual(clock.slept, [600]);
  });

  it('скорость ≤ 0 и не число — ошибка', () => {
    for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => createRateLimiter(rate), RangeError);
  });

  it('поток: 256 KiB при 512 KiB/с идут не быстрее расписания и доходят целиком', async () => {
    const chunks = Array.from({ length: 16 }, () => Buffer.alloc(16 * 1024, 7));
    let received = 0;
    const started = performance.now();
    await pipeline(
      Readable.from(chunks),
      new Throttle(createRateLimiter(512 * 1024)),
      new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          received += chunk.length;
          done();
        },
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    assert.equal(received, 256 * 1024);
    // 15 кусков после первого по 1/32 с = 0.47 с.
    assert.ok(seconds >= 0.45, `прошло ${seconds.toFixed(3)} с`);
  });

  it('отмена прерывает ожидание, а не дожидается очереди куска', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const run = pipeline(
      Readable.from([Buffer.alloc(1000), Buffer.alloc(1000)]),
      new Throttle(createRateLimiter(10), controller.signal), // второй кусок — через 100 с
      sink(),
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(run, { name: 'AbortError' });
    assert.ok(performance.now() - started < 2000);
  });
});
