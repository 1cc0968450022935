// Кеш записи о файле (SPEC QR-5): LRU процесса → координация → PostgreSQL, инвалидация поколением индекса.
// Два экземпляра query на одной БД и координации: правка на SE, проиндексированная первым, сразу видна второму,
// хотя у второго запись лежит в обоих слоях кеша. Права проверяются на каждом запросе (QR-8).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import type { FileRecord } from '@artstore/contracts';
import { seqOf } from '@artstore/storage-element/testing';
import {
  ELEMENT_ID,
  expectProblem,
  startQueryStack,
  uploadToSe,
  waitIndexed,
  type QueryStack,
} from './harness.js';
import { metricValue, patchOnSe, waitInstanceIndexed } from './se-edits.js';

const TIMEOUT = { timeout: 60_000 };
const ROUNDS = 10;

for (const backend of SERVICE_BACKENDS) {
  describe(`кеш записи о файле (${backend.name})`, () => {
    let stack: QueryStack;
    let secondUrl: string;
    let readerToken: string;

    before(async () => {
      // Опрос редкий: индекс двигают только события SE, и оба экземпляра применяют ленту сами.
      stack = await startQueryStack({
        backend,
        sharedCoordination: true,
        pollIntervalMs: 60_000,
        consistencyWaitMs: 5000,
      });
      secondUrl = await stack.startQueryInstance();
      readerToken = await stack.issuer.mint({ name: 'reader', roles: ['reader'] });
    });

    after(async () => {
      await stack?.close();
    });

    async function record(url: string, id: string, token = readerToken): Promise<FileRecord> {
      const response = await fetch(`${url}/api/files/${id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const text = await response.text();
      assert.equal(response.status, 200, text);
      return JSON.parse(text) as FileRecord;
    }

    it(
      `${ROUNDS} правок на SE: после индексации первым экземпляром оба отдают новую версию сразу`,
      TIMEOUT,
      async () => {
        const file = await uploadToSe(stack, 'кешируемый.txt', 'x', {
          metadata: { description: 'версия 0' },
        });
        await waitIndexed(stack, seqOf(file), 5000);
        await waitInstanceIndexed(secondUrl, ELEMENT_ID, seqOf(file), 5000);
        for (let round = 1; round <= ROUNDS; round++) {
          // Прогрев: запись в LRU обоих экземпляров и в общем слое.
          for (const url of [stack.queryUrl, secondUrl, stack.queryUrl, secondUrl]) {
            assert.equal((await record(url, file.id)).metadata.description, `версия ${round - 1}`);
          }
          const changed = await patchOnSe(stack, file, { description: `версия ${round}` });
          // Ждём только первый экземпляр: второй обязан увидеть правку через поколение, а не через свою ленту.
          await waitIndexed(stack, changed.seq, 5000);
          for (const url of [secondUrl, stack.queryUrl]) {
            const fresh = await record(url, file.id);
            assert.equal(
              fresh.metadata.description,
              `версия ${round}`,
              `раунд ${round}, ${url === secondUrl ? 'второй' : 'первый'} экземпляр`,
            );
            assert.equal(fresh.version, changed.version);
          }
        }
      },
    );

    it(
      'повторное чтение — попадание в LRU; первое чтение другим экземпляром — в общий слой',
      TIMEOUT,
      async () => {
        const file = await uploadToSe(stack, 'метрики.txt', 'x');
        const seq = seqOf(file);
        await waitIndexed(stack, seq, 5000);
        await waitInstanceIndexed(secondUrl, ELEMENT_ID, seq, 5000);
        const labels = (layer: string, result: string) => ({ cache: 'file', layer, result });
        const before1 = await metricValue(
          stack.queryUrl,
          'artstore_query_cache_requests_total',
          labels('shared', 'miss'),
        );
        const before2 = {
          localHit: await metricValue(
            secondUrl,
            'artstore_query_cache_requests_total',
            labels('local', 'hit'),
          ),
          sharedHit: await metricValue(
            secondUrl,
            'artstore_query_cache_requests_total',
            labels('shared', 'hit'),
          ),
        };
        await record(stack.queryUrl, file.id);
        await record(secondUrl, file.id);
        await record(secondUrl, file.id);
        assert.equal(
          await metricValue(stack.queryUrl, 'artstore_query_cache_requests_total', labels('shared', 'miss')),
          before1 + 1,
        );
        assert.equal(
          await metricValue(secondUrl, 'artstore_query_cache_requests_total', labels('shared', 'hit')),
          before2.sharedHit + 1,
        );
        assert.equal(
          await metricValue(secondUrl, 'artstore_query_cache_requests_total', labels('local', 'hit')),
          before2.localHit + 1,
        );
      },
    );

    it(
      'права проверяются после выборки каждый раз: закешированная запись не достаётся чужому гранту',
      TIMEOUT,
      async () => {
        const file = await uploadToSe(stack, 'права.txt', 'x');
        await waitIndexed(stack, seqOf(file), 5000);
        const here = await stack.issuer.mint({
          name: 'свой',
          roles: [],
          grants: [`reader@se:${ELEMENT_ID}`],
        });
        const elsewhere = await stack.issuer.mint({
          name: 'чужой',
          roles: [],
          grants: ['reader@se:se-other'],
        });
        await record(stack.queryUrl, file.id, here);
        await record(stack.queryUrl, file.id, here);
        for (let i = 0; i < 2; i++) {
          const response = await fetch(`${stack.queryUrl}/api/files/${file.id}`, {
            headers: { authorization: `Bearer ${elsewhere}` },
          });
          await expectProblem(response, 403, 'FORBIDDEN');
        }
      },
    );
  });
}
