// Read-your-writes (SPEC QR-4) и пробуждение индекса событиями (QR-1): загрузка и сразу поиск с consistency_token
// находят файл каждый раз; ожидание ограничено consistency_wait_ms, ответ без догнавшего индекса помечен stale.
// Опрос редкий (60 с): всё, что индекс успевает раньше, — заслуга событий SE или ожидания по токену.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import type { FileRecord, SearchResponse } from '@artstore/contracts';
import { seqOf } from '@artstore/storage-element/testing';
import {
  ELEMENT_ID,
  expectProblem,
  startQueryStack,
  uploadToSe,
  waitIndexed,
  type QueryStack,
} from './harness.js';
import { patchOnSe } from './se-edits.js';

const TIMEOUT = { timeout: 120_000 };
const CONSISTENCY_WAIT_MS = 1000;
const REPEATS = 100;

for (const backend of SERVICE_BACKENDS) {
  describe(`read-your-writes (${backend.name})`, () => {
    let stack: QueryStack;
    let readerToken: string;

    before(async () => {
      stack = await startQueryStack({
        backend,
        sharedCoordination: true,
        pollIntervalMs: 60_000,
        consistencyWaitMs: CONSISTENCY_WAIT_MS,
      });
      readerToken = await stack.issuer.mint({ name: 'reader-1', roles: ['reader'] });
    });

    after(async () => {
      await stack?.close();
    });

    function get(path: string) {
      return fetch(`${stack.queryUrl}${path}`, { headers: { authorization: `Bearer ${readerToken}` } });
    }

    async function search(
      params: Record<string, string>,
    ): Promise<{ body: SearchResponse; response: Response }> {
      const response = await get(`/api/search?${new URLSearchParams(params).toString()}`);
      const text = await response.text();
      assert.equal(response.status, 200, text);
      return { body: JSON.parse(text) as SearchResponse, response };
    }

    it('событие SE будит query: индекс догоняет без опроса', TIMEOUT, async () => {
      const file = await uploadToSe(stack, 'событие.txt', 'x');
      // Опрос раз в 60 с (первый прошёл при старте) — раньше индекс может дойти только по событию.
      await waitIndexed(stack, seqOf(file), 5000);
      const { body } = await search({ q: 'событие' });
      assert.deepEqual(
        body.items.map((i) => i.id),
        [file.id],
      );
    });

    it(
      `${REPEATS} раз подряд: загрузка и сразу поиск с consistency_token — файл найден каждый раз`,
      TIMEOUT,
      async (t) => {
        const started = performance.now();
        for (let i = 0; i < REPEATS; i++) {
          const word = `ryw${i}x${randomBytes(4).toString('hex')}`;
          const file = await uploadToSe(stack, `${word}.txt`, `содержимое ${i}`);
          const { body, response } = await search({ q: word, consistency_token: file.consistency_token });
          assert.equal(response.headers.get('artstore-consistency'), null, `итерация ${i}: индекс не догнал`);
          assert.deepEqual(
            body.items.map((item) => item.id),
            [file.id],
            `итерация ${i}`,
          );
          assert.equal(body.total, 1);
        }
        t.diagnostic(`${REPEATS} загрузок с поиском: ${(performance.now() - started).toFixed(0)} мс`);
      },
    );

    it(
      'правка и сразу чтение записи после поиска с токеном — новая версия, а не закешированная',
      TIMEOUT,
      async () => {
        const file = await uploadToSe(stack, 'правка-и-чтение.txt', 'x', { metadata: { description: 'до' } });
        await search({ q: 'правка', consistency_token: file.consistency_token });
        for (let i = 0; i < 10; i++) {
          assert.equal(
            ((await (await get(`/api/files/${file.id}`)).json()) as FileRecord).metadata.description,
            i === 0 ? 'до' : `после ${i - 1}`,
          );
          const changed = await patchOnSe(stack, file, { description: `после ${i}` });
          const { response } = await search({
            q: 'правка',
            consistency_token: `${ELEMENT_ID}:${changed.seq}`,
          });
          assert.equal(response.headers.get('artstore-consistency'), null);
          assert.equal(
            ((await (await get(`/api/files/${file.id}`)).json()) as FileRecord).metadata.description,
            `после ${i}`,
            `итерация ${i}`,
          );
        }
      },
    );

    it(
      'токен дальше ленты: ожидание ограничено consistency_wait_ms, ответ помечен stale',
      TIMEOUT,
      async () => {
        const file = await uploadToSe(stack, 'stale.txt', 'x');
        const started = performance.now();
        const { response } = await search({
          q: 'stale',
          consistency_token: `${ELEMENT_ID}:${seqOf(file) + 1000}`,
        });
        const elapsed = performance.now() - started;
        assert.equal(response.headers.get('artstore-consistency'), 'stale');
        assert.ok(
          elapsed >= CONSISTENCY_WAIT_MS - 50,
          `ответ через ${elapsed.toFixed(0)} мс — раньше срока ожидания`,
        );
        assert.ok(elapsed < CONSISTENCY_WAIT_MS + 2000, `ответ через ${elapsed.toFixed(0)} мс`);

        // Неизвестный этому узлу SE: ждать нечего — ответ сразу, тоже stale.
        const unknownStarted = performance.now();
        const unknown = await search({ q: 'stale', consistency_token: 'se-elsewhere:5' });
        assert.equal(unknown.response.headers.get('artstore-consistency'), 'stale');
        assert.ok(performance.now() - unknownStarted < CONSISTENCY_WAIT_MS);
      },
    );

    it('некорректный consistency_token → 400 VALIDATION_FAILED', TIMEOUT, async () => {
      for (const token of [
        'abc',
        `${ELEMENT_ID}:`,
        `${ELEMENT_ID}:-1`,
        `${ELEMENT_ID}:1:2`,
        'SE-Q:1',
        `${ELEMENT_ID}:1.5`,
        `:5`,
      ]) {
        await expectProblem(
          await get(`/api/search?q=x&consistency_token=${encodeURIComponent(token)}`),
          400,
          'VALIDATION_FAILED',
        );
      }
    });
  });
}
