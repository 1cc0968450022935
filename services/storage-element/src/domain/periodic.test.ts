import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '@artstore/core';
import { startPeriodic, type PeriodicSchedule } from './periodic.js';

const logger = createLogger({ level: 'silent' });

function memorySchedule(initial: string | null): PeriodicSchedule & { saved: string[] } {
  const saved: string[] = [];
  return {
    saved,
    load: () => Promise.resolve(saved.at(-1) ?? initial),
    save: (at) => {
      saved.push(at);
      return Promise.resolve();
    },
  };
}

describe('периодическая задача', () => {
  it('впервые — через интервал, срок сохраняется до запуска; после запуска — следующий срок', async () => {
    const schedule = memorySchedule(null);
    const runs: number[] = [];
    const started = Date.now();
    const task = startPeriodic({ name: 't', intervalMs: 150, logger, schedule, run: () => Promise.resolve(void runs.push(Date.now())) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(runs.length, 0);
    assert.equal(schedule.saved.length, 1);
    assert.ok(Math.abs(Date.parse(schedule.saved[0]!) - (started + 150)) < 50);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await task.close();
    assert.ok(runs.length >= 1, 'запуск через интервал');
    assert.ok(runs[0]! - started >= 140, `первый запуск через ${runs[0]! - started} мс`);
    assert.ok(schedule.saved.length >= 2, 'срок следующего запуска сохранён');
  });

  it('сохранённый прошедший срок (перезапуск SE) — запуск сразу', async () => {
    const schedule = memorySchedule(new Date(Date.now() - 1000).toISOString());
    let ran = false;
    const task = startPeriodic({ name: 't', intervalMs: 3_600_000, logger, schedule, run: () => Promise.resolve(void (ran = true)) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await task.close();
    assert.equal(ran, true);
  });

  it('close() прерывает идущий запуск через signal и не сдвигает расписание', async () => {
    const past = new Date(Date.now() - 1000).toISOString();
    const schedule = memorySchedule(past);
    let aborted = false;
    const task = startPeriodic({
      name: 't',
      intervalMs: 3_600_000,
      logger,
      schedule,
      run: (signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(signal.reason as Error);
          });
        }),
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const closing = Date.now();
    await task.close();
    assert.ok(Date.now() - closing < 500);
    assert.equal(aborted, true);
    assert.deepEqual(schedule.saved, [], 'прерванный запуск продолжится после перезапуска');
  });

  it('сбой запуска не останавливает цикл', async () => {
    const schedule = memorySchedule(new Date(Date.now() - 1000).toISOString());
    let runs = 0;
    const task = startPeriodic({
      name: 't',
      intervalMs: 20,
      logger,
      schedule,
      run: () => (++runs === 1 ? Promise.reject(new Error('БД недоступна')) : Promise.resolve()),
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await task.close();
    assert.ok(runs >= 2, `запусков: ${runs}`);
  });
});
