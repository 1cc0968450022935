// Опрос как страховка (SPEC QR-1): у query своя координация, события SE до него не доходят —
// индекс обязан догнать ленту опросом раз в poll_interval_ms, а read-your-writes — не ждать опроса.
// Отставание по SE видно в /health/ready и в метриках.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import { SE_CHANGES_CHANNEL, type SearchResponse } from '@artstore/contracts';
import { seqOf } from '@artstore/storage-element/testing';
import {
  ELEMENT_ID,
  indexedSeq,
  seLastSeq,
  startQueryStack,
  uploadToSe,
  waitIndexed,
  type QueryStack,
} from './harness.js';
import { indexDetail, metricValue } from './se-edits.js';

const POLL_INTERVAL_MS = 1000;
const TIMEOUT = { timeout: 20_000 };

for (const backend of SERVICE_BACKENDS) {
  describe(`опрос без событий (${backend.name})`, () => {
    let stack: QueryStack;
    let readerToken: string;

    before(async () => {
      stack = await startQueryStack({
        backend,
        sharedCoordination: false,
        pollIntervalMs: POLL_INTERVAL_MS,
        consistencyWaitMs: 5000,
      });
      readerToken = await stack.issuer.mint({ roles: ['reader'] });
    });

    after(async () => {
      await stack?.close();
    });

    function searchWithToken(word: string, token: string): Promise<Response> {
      return fetch(`${stack.queryUrl}/api/search?q=${word}&consistency_token=${encodeURIComponent(token)}`, {
        headers: { authorization: `Bearer ${readerToken}` },
      });
    }

    it('индекс догоняет ленту SE за ~2 интервала опроса', TIMEOUT, async (t) => {
      for (let i = 0; i < 2; i++) {
        const file = await uploadToSe(stack, `опрос ${i}.txt`, `polling ${i}`);
        // Фаза таймера опроса относительно загрузки случайна: не дольше интервала плюс сама догонялка.
        const elapsed = await waitIndexed(stack, seqOf(file), 2 * POLL_INTERVAL_MS + 500);
        t.diagnostic(`загрузка ${i}: индекс догнал за ${elapsed.toFixed(0)} мс`);
      }
    });

    it('/health/ready показывает по каждому SE last_seq, голову ленты и отставание', TIMEOUT, async () => {
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
      // Догнал: голова ленты известна из прочитанных страниц (событий здесь нет), отставания нет (SPEC QR-1).
      assert.deepEqual(body.checks.index?.detail, {
        [ELEMENT_ID]: { last_seq: seq, head_seq: seq, lag: 0, lag_seconds: 0 },
      });
      assert.equal(await indexedSeq(stack), seq);
    });

    it(
      'отставание: голова из события SE впереди индекса — lag в готовности и метриках, потом догоняет',
      TIMEOUT,
      async () => {
        const seq = await seLastSeq(stack);
        await waitIndexed(stack, seq, 2 * POLL_INTERVAL_MS + 500);
        const appliedBefore = await metricValue(
          stack.queryUrl,
          'artstore_query_index_applied_changes_total',
          { element_id: ELEMENT_ID },
        );
        // Событие о трёх изменениях, которых в ленте ещё нет: так выглядит SE, чью ленту query не успевает читать.
        await stack.coordination.publish(
          SE_CHANGES_CHANNEL,
          JSON.stringify({ element_id: ELEMENT_ID, seq: seq + 3 }),
        );
        await new Promise((r) => setTimeout(r, 1100));
        const detail = (await indexDetail(stack.queryUrl))[ELEMENT_ID];
        assert.equal(detail?.last_seq, seq);
        assert.equal(detail.head_seq, seq + 3);
        assert.equal(detail.lag, 3);
        assert.equal(
          await metricValue(stack.queryUrl, 'artstore_query_index_lag_changes', { element_id: ELEMENT_ID }),
          3,
        );
        const lagSeconds = await metricValue(stack.queryUrl, 'artstore_query_index_lag_seconds', {
          element_id: ELEMENT_ID,
        });
        assert.ok(lagSeconds >= 1 && lagSeconds < 5, `lag_seconds ${lagSeconds}`);

        // Изменения появились в ленте — индекс их применяет, отставание уходит.
        let last = '';
        for (let i = 0; i < 3; i++)
          last = (await uploadToSe(stack, `отставание ${i}.txt`, 'x')).consistency_token;
        assert.equal((await searchWithToken('отставание', last)).headers.get('artstore-consistency'), null);
        const head = await seLastSeq(stack);
        await waitIndexed(stack, head, 2 * POLL_INTERVAL_MS + 500);
        assert.equal(
          await metricValue(stack.queryUrl, 'artstore_query_index_lag_changes', { element_id: ELEMENT_ID }),
          0,
        );
        assert.equal(
          await metricValue(stack.queryUrl, 'artstore_query_index_lag_seconds', { element_id: ELEMENT_ID }),
          0,
        );
        assert.equal(
          await metricValue(stack.queryUrl, 'artstore_query_index_applied_changes_total', {
            element_id: ELEMENT_ID,
          }),
          appliedBefore + (head - seq),
        );
      },
    );

    it('consistency_token не ждёт опроса: поиск сам догоняет ленту', TIMEOUT, async (t) => {
      // Если бы поиск с токеном только ждал опроса, каждая итерация после первой начиналась бы сразу за
      // проходом опроса и ждала почти весь интервал: 5 итераций — больше 4 с. Сам догоняет — доли секунды.
      let total = 0;
      for (let i = 0; i < 5; i++) {
        const word = `безсобытий${i}`;
        const file = await uploadToSe(stack, `${word}.txt`, 'x');
        const started = performance.now();
        const response = await searchWithToken(word, file.consistency_token);
        total += performance.now() - started;
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('artstore-consistency'), null, `итерация ${i}: индекс не догнал`);
        const body = (await response.json()) as SearchResponse;
        assert.deepEqual(
          body.items.map((item) => item.id),
          [file.id],
          `итерация ${i}`,
        );
      }
      t.diagnostic(`5 поисков с токеном: ${total.toFixed(0)} мс`);
      assert.ok(
        total < 2 * POLL_INTERVAL_MS,
        `5 поисков с токеном заняли ${total.toFixed(0)} мс — похоже, ждали опроса`,
      );
    });
  });
}
