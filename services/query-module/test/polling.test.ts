// Опрос как страховка (SPEC QR-1): у query своя координация, события SE до него не доходят —
// индекс обязан догнать ленту опросом раз в poll_interval_ms, а read-your-writes — не ждать опроса.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SearchResponse } from '@artstore/contracts';
import { seqOf } from '@artstore/storage-element/testing';
import { ELEMENT_ID, indexedSeq, seLastSeq, startQueryStack, uploadToSe, waitIndexed, type QueryStack } from './harness.js';

const POLL_INTERVAL_MS = 1000;
const TIMEOUT = { timeout: 20_000 };

let stack: QueryStack;
let readerToken: string;

before(async () => {
  stack = await startQueryStack({ sharedCoordination: false, pollIntervalMs: POLL_INTERVAL_MS, consistencyWaitMs: 5000 });
  readerToken = await stack.issuer.mint({ roles: ['reader'] });
});

after(async () => {
  await stack?.close();
});

describe('опрос без событий', () => {
  it('индекс догоняет ленту SE за ~2 интервала опроса', TIMEOUT, async (t) => {
    for (let i = 0; i < 2; i++) {
      const file = await uploadToSe(stack, `опрос ${i}.txt`, `polling ${i}`);
      // Фаза таймера опроса относительно загрузки случайна: не дольше интервала плюс сама догонялка.
      const elapsed = await waitIndexed(stack, seqOf(file), 2 * POLL_INTERVAL_MS + 500);
      t.diagnostic(`загрузка ${i}: индекс догнал за ${elapsed.toFixed(0)} мс`);
    }
  });

  it('/health/ready показывает last_seq по каждому SE, равный ленте SE', TIMEOUT, async () => {
    const seq = await seLastSeq(stack);
    await waitIndexed(stack, seq, 2 * POLL_INTERVAL_MS + 500);
    const response = await fetch(`${stack.queryUrl}/health/ready`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      status: string;
      checks: Record<string, { status: string; detail?: unknown }>;
    };
    assert.equal(body.status, 'ready');
    assert.equal(body.checks.database?.status, 'ok');
    assert.equal(body.checks.coordination?.status, 'ok');
    assert.deepEqual(body.checks.index?.detail, { [ELEMENT_ID]: { last_seq: seq } });
    assert.equal(await indexedSeq(stack), seq);
  });

  it('consistency_token не ждёт опроса: поиск сам догоняет ленту', TIMEOUT, async (t) => {
    // Если бы поиск с токеном только ждал опроса, каждая итерация после первой начиналась бы сразу за
    // проходом опроса и ждала почти весь интервал: 5 итераций — больше 4 с. Сам догоняет — доли секунды.
    let total = 0;
    for (let i = 0; i < 5; i++) {
      const word = `безсобытий${i}`;
      const file = await uploadToSe(stack, `${word}.txt`, 'x');
      const started = performance.now();
      const response = await fetch(
        `${stack.queryUrl}/api/search?q=${word}&consistency_token=${encodeURIComponent(file.consistency_token)}`,
        { headers: { authorization: `Bearer ${readerToken}` } },
      );
      total += performance.now() - started;
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('artstore-consistency'), null, `итерация ${i}: индекс не догнал`);
      const body = (await response.json()) as SearchResponse;
      assert.deepEqual(body.items.map((item) => item.id), [file.id], `итерация ${i}`);
    }
    t.diagnostic(`5 поисков с токеном: ${total.toFixed(0)} мс`);
    assert.ok(total < 2 * POLL_INTERVAL_MS, `5 поисков с токеном заняли ${total.toFixed(0)} мс — похоже, ждали опроса`);
  });
});
