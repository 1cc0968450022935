import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('единицы ms/s/m/h/d, дроби, число без единицы — миллисекунды', () => {
    const cases: Array<[string, number]> = [
      ['1500', 1500],
      ['250ms', 250],
      ['30s', 30_000],
      ['1.5s', 1500],
      ['15m', 900_000],
      [' 6H ', 21_600_000],
      ['7d', 604_800_000],
    ];
    for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
  });

  it('не длительность — null', () => {
    for (const text of ['', 'h', '-1s', '5y', '1w', '10 minutes', '1e3', '9'.repeat(30)]) assert.equal(parseDuration(text), null, text);
  });
});
