import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createGroupBatcher } from './group-batcher.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

void describe('createGroupBatcher', () => {
  void it('первый вызов идёт сразу, пришедшие во время пачки — следующей пачкой', async () => {
    const batches: number[][] = [];
    const gate = deferred();
    const call = createGroupBatcher<number, string>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await gate.promise;
      return items.map((n) => `r${n}`);
    }, { maxBatch: 10 });
    const first = call(1);
    const rest = [call(2), call(3), call(4)];
    gate.resolve();
    assert.deepEqual(await Promise.all([first, ...rest]), ['r1', 'r2', 'r3', 'r4']);
    assert.deepEqual(batches, [[1], [2, 3, 4]]);
  });

  void it('пачка не больше maxBatch', async () => {
    const sizes: number[] = [];
    const gate = deferred();
    const call = createGroupBatcher<number, number>(async (items) => {
      sizes.push(items.length);
      if (sizes.length === 1) await gate.promise;
      return items;
    }, { maxBatch: 3 });
    const all = Array.from({ length: 8 }, (_, i) => call(i));
    gate.resolve();
    assert.deepEqual(await Promise.all(all), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(sizes, [1, 3, 3, 1]);
  });

  void it('отказ пачки: элементы повторяются поодиночке, ошибку получает только виновный', async () => {
    const gate = deferred();
    let calls = 0;
    const call = createGroupBatcher<number, number>(async (items) => {
      calls++;
      if (calls === 1) await gate.promise;
      if (items.includes(13)) throw new Error(`плохой элемент в ${items.join(',')}`);
      return items.map((n) => n * 2);
    }, { maxBatch: 10 });
    const first = call(1);
    const results = [call(12), call(13), call(14)].map((p) => p.then((v) => ({ v }), (e: Error) => ({ e: e.message })));
    gate.resolve();
    assert.equal(await first, 2);
    assert.deepEqual(await Promise.all(results), [{ v: 24 }, { e: 'плохой элемент в 13' }, { v: 28 }]);
  });

  void it('run, вернувший не столько результатов, — ошибка, а не подмена', async () => {
    const call = createGroupBatcher<number, number>(() => Promise.resolve([]), { maxBatch: 5 });
    await assert.rejects(call(1), /0 результатов на 1/);
  });
});
