// Перестроение индекса с нуля (SPEC QR-1): индекс, накопленный инкрементально (загрузки, правки метаданных,
// удаления на SE), РАВЕН индексу, перестроенному из лент на тех же данных; строки, которых нет в ленте, убраны;
// поиск и записи отвечают всё время перестроения. Перестроение запускает второй экземпляр — первый узнаёт о
// сбросе курсоров из координации.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import type { IndexRebuildStarted, IndexStatusResponse, UploadedFile } from '@artstore/contracts';
import {
  ELEMENT_ID,
  expectProblem,
  seLastSeq,
  startQueryStack,
  uploadToSe,
  waitIndexed,
  type QueryStack,
} from './harness.js';
import { deleteOnSe, indexDetail, patchOnSe, waitInstanceIndexed } from './se-edits.js';

const TIMEOUT = { timeout: 90_000 };

for (const backend of SERVICE_BACKENDS) {
  describe(`перестроение индекса с нуля (${backend.name})`, () => {
    let stack: QueryStack;
    let secondUrl: string;
    let operatorToken: string;

    before(async () => {
      stack = await startQueryStack({
        backend,
        sharedCoordination: true,
        pollIntervalMs: 60_000,
        consistencyWaitMs: 5000,
      });
      secondUrl = await stack.startQueryInstance();
      operatorToken = await stack.issuer.mint({ name: 'operator', roles: ['operator'] });
    });

    after(async () => {
      await stack?.close();
    });

    /** Все строки индекса без служебных колонок (эпоха перестроения). */
    async function indexRows(): Promise<string[]> {
      const { rows } = await stack.db.query<Record<string, unknown>>('select * from query_files order by id');
      return rows.map(({ index_epoch: _epoch, ...row }) =>
        JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value)),
      );
    }

    /** Голова ленты SE, когда она перестала расти: удаление дописывает в ленту ещё и фоновое стирание байтов. */
    async function settledHead(): Promise<number> {
      let head = await seLastSeq(stack);
      for (let stable = 0; stable < 5;) {
        await new Promise((r) => setTimeout(r, 100));
        const next = await seLastSeq(stack);
        stable = next === head ? stable + 1 : 0;
        head = next;
      }
      return head;
    }

    async function indexStatus(url: string): Promise<IndexStatusResponse> {
      const response = await fetch(`${url}/api/index`, {
        headers: { authorization: `Bearer ${operatorToken}` },
      });
      const text = await response.text();
      assert.equal(response.status, 200, text);
      return JSON.parse(text) as IndexStatusResponse;
    }

    it(
      'инкрементальный индекс равен перестроенному; лишние строки SE убраны; поиск не пустеет',
      TIMEOUT,
      async () => {
        const files: UploadedFile[] = [];
        for (let i = 0; i < 12; i++) {
          files.push(
            await uploadToSe(stack, `перестроение ${i}.txt`, `данные ${i}`, {
              metadata: { description: `файл ${i}`, tags: [`t${i % 3}`] },
            }),
          );
        }
        for (const file of files.slice(0, 6))
          await patchOnSe(stack, file, { description: `${file.name}: правка`, tags: ['правлено'] });
        for (const file of files.slice(3, 5)) await patchOnSe(stack, file, { custom: { round: '2' } });
        for (const file of files.slice(8, 11)) await deleteOnSe(stack, file);
        const head = await settledHead();
        await waitIndexed(stack, head, 10_000);
        await waitInstanceIndexed(secondUrl, ELEMENT_ID, head, 10_000);
        const incremental = await indexRows();
        assert.equal(incremental.length, 12);

        // Строка этого SE, которой нет в его ленте (файл пропал мимо ленты), — перестроение обязано её убрать.
        const ghost = randomUUID();
        await stack.db.query(
          `insert into query_files (id, element_id, name, content_type, size, sha256, status, created_at, updated_at, record, change_seq)
         select $1::uuid, element_id, 'призрак.txt', content_type, size, sha256, status, created_at, updated_at,
                jsonb_set(record, '{id}', to_jsonb($1::text)), change_seq
         from query_files where id = $2`,
          [ghost, files[0]!.id],
        );

        const started = await fetch(`${secondUrl}/api/index/reindex`, {
          method: 'POST',
          headers: { authorization: `Bearer ${operatorToken}` },
        });
        assert.equal(started.status, 202);
        const body = (await started.json()) as IndexRebuildStarted;
        assert.deepEqual(body.elements, [ELEMENT_ID]);
        assert.ok(body.epoch >= 1);

        // Строки остаются на время перестроения: запись и поиск отвечают.
        const reader = await stack.issuer.mint({ roles: ['reader'] });
        const record = await fetch(`${stack.queryUrl}/api/files/${files[11]!.id}`, {
          headers: { authorization: `Bearer ${reader}` },
        });
        assert.equal(record.status, 200);
        const found = await fetch(`${stack.queryUrl}/api/search?q=${encodeURIComponent('перестроение')}`, {
          headers: { authorization: `Bearer ${reader}` },
        });
        assert.equal(found.status, 200);
        assert.ok(((await found.json()) as { items: unknown[] }).items.length > 0);

        const deadline = performance.now() + 20_000;
        for (;;) {
          const status = (await indexStatus(secondUrl)).elements[ELEMENT_ID];
          if (status && !status.rebuilding && status.last_seq >= head && status.epoch === body.epoch) break;
          assert.ok(performance.now() < deadline, `перестроение не закончилось: ${JSON.stringify(status)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.deepEqual(await indexRows(), incremental);

        // Первый экземпляр узнал о сбросе (событие) и снова дошёл до головы ленты своим следованием.
        await waitInstanceIndexed(stack.queryUrl, ELEMENT_ID, head, 10_000);
        assert.deepEqual((await indexDetail(stack.queryUrl))[ELEMENT_ID], {
          last_seq: head,
          head_seq: head,
          lag: 0,
          lag_seconds: 0,
        });
      },
    );

    it('после перестроения новые изменения индексируются как обычно', TIMEOUT, async () => {
      const file = await uploadToSe(stack, 'после перестроения.txt', 'x');
      const head = await seLastSeq(stack);
      await waitIndexed(stack, head, 5000);
      const { rows } = await stack.db.query<{ n: number }>(
        'select count(*)::int as n from query_files where id = $1',
        [file.id],
      );
      assert.equal(rows[0]?.n, 1);
    });

    it('без storage:manage — 403; без токена — 401', TIMEOUT, async () => {
      const reader = await stack.issuer.mint({ roles: ['reader'] });
      await expectProblem(
        await fetch(`${stack.queryUrl}/api/index/reindex`, {
          method: 'POST',
          headers: { authorization: `Bearer ${reader}` },
        }),
        403,
        'FORBIDDEN',
      );
      await expectProblem(
        await fetch(`${stack.queryUrl}/api/index`, { headers: { authorization: `Bearer ${reader}` } }),
        403,
        'FORBIDDEN',
      );
      assert.equal((await fetch(`${stack.queryUrl}/api/index/reindex`, { method: 'POST' })).status, 401);
    });
  });
}
