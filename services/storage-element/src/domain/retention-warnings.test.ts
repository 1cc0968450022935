// Предупреждения о сроке хранения (SPEC SE-9): окна упреждения, истёкшие, сводка в журнал только при
// изменении числа.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryLogger } from '@artstore/core/testing';
import { createRetentionWarnings, expiryHorizon } from './retention-warnings.js';

const DAY = 86_400_000;

/** Кеш-подделка: сроки хранения активных файлов; countRetention — то же условие (from, to], что в SQL. */
function fakeCache(retention: number[]) {
  return {
    retention,
    countRetention(from: string | null, to: string): Promise<number> {
      const low = from === null ? -Infinity : Date.parse(from);
      return Promise.resolve(retention.filter((at) => at > low && at <= Date.parse(to)).length);
    },
  };
}

describe('expiryHorizon', () => {
  it('длительность от момента; не длительность — null', () => {
    const at = new Date('2026-01-01T00:00:00.000Z');
    assert.equal(expiryHorizon('30d', at), '2026-01-31T00:00:00.000Z');
    assert.equal(expiryHorizon('12h', at), '2026-01-01T12:00:00.000Z');
    assert.equal(expiryHorizon('5y', at), null);
    assert.equal(expiryHorizon('0d', at), null);
  });
});

describe('createRetentionWarnings', () => {
  it('считает по упреждениям и истёкшие; событие — только когда число изменилось', async () => {
    let now = Date.parse('2026-01-01T00:00:00.000Z');
    const cache = fakeCache([now - DAY, now + 5 * DAY, now + 20 * DAY, now + 60 * DAY, now + 400 * DAY]);
    const log = createMemoryLogger('info');
    const warnings = createRetentionWarnings({
      elementId: 'se-r',
      cache,
      leadTimes: ['90d', '30d', '7d'],
      logger: log.logger,
      now: () => new Date(now),
    });

    const first = await warnings.check();
    assert.deepEqual(Object.fromEntries(first.expiring), { '90d': 3, '30d': 2, '7d': 1 });
    assert.equal(first.expired, 1);
    await warnings.check();

    // Через 6 дней файл «+5 дней» истёк; ближайший теперь через 14 дней — в 7d никого.
    now += 6 * DAY;
    const later = await warnings.check();
    assert.deepEqual(Object.fromEntries(later.expiring), { '90d': 2, '30d': 1, '7d': 0 });
    assert.equal(later.expired, 2);

    type Event = { msg: string; level: string; within?: string; files: number; previous: number };
    const events = log
      .text()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Event);
    assert.deepEqual(
      events.map((e) => [e.msg, e.within ?? '-', e.previous, e.files, e.level]),
      [
        ['retention_expiring', '90d', 0, 3, 'warn'],
        ['retention_expiring', '30d', 0, 2, 'warn'],
        ['retention_expiring', '7d', 0, 1, 'warn'],
        ['retention_expired', '-', 0, 1, 'warn'],
        // Вторая проверка без изменений — ни одного события.
        ['retention_expiring', '90d', 3, 2, 'info'],
        ['retention_expiring', '30d', 2, 1, 'info'],
        ['retention_expiring', '7d', 1, 0, 'info'],
        ['retention_expired', '-', 1, 2, 'warn'],
      ],
    );
  });
});
