import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UUID_PATTERN, uuidv7 } from './ids.js';

/** Первые 48 бит UUIDv7 — миллисекунды Unix (RFC 9562 §5.7). */
function timestampOf(id: string): number {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}

describe('uuidv7 (RFC 9562 §5.7)', () => {
  it('формат, версия 7 и вариант 10xx', () => {
    for (let i = 0; i < 200; i++) {
      const id = uuidv7();
      assert.match(id, UUID_PATTERN);
      assert.equal(id[14], '7', `версия: ${id}`);
      assert.match(id[19]!, /^[89ab]$/, `вариант: ${id}`);
    }
  });

  it('время в первых 48 битах', () => {
    const now = Date.UTC(2026, 0, 15, 12, 0, 0, 123);
    assert.equal(timestampOf(uuidv7(now)), now);
    assert.equal(timestampOf(uuidv7(0)), 0);
    assert.equal(timestampOf(uuidv7(2 ** 48 - 1)), 2 ** 48 - 1);
    const before = Date.now();
    const t = timestampOf(uuidv7());
    assert.ok(t >= before && t <= Date.now());
  });

  it('упорядочены по времени: строковая сортировка = хронологическая', () => {
    const base = Date.UTC(2026, 0, 1);
    const ids = Array.from({ length: 100 }, (_, i) => uuidv7(base + i * 37));
    const shuffled = [...ids].sort(() => Math.random() - 0.5);
    assert.deepEqual(shuffled.sort(), ids);
    assert.ok(uuidv7(base + 1) > uuidv7(base), 'соседние миллисекунды');
  });

  it('случайная часть различается в одну и ту же миллисекунду', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 1000 }, () => uuidv7(now)));
    assert.equal(ids.size, 1000);
  });
});
