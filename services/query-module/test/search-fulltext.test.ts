// Полнотекстовый поиск query-module (SPEC QR-2): морфология и префиксы, ранжирование, подсветка,
// спецсимволы, пагинация под параллельными загрузками. На обоих наборах портов: PGlite и PostgreSQL + Redis.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FileRecord, SearchItem, SearchResponse, UploadedFile } from '@artstore/contracts';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import { seqOf } from '@artstore/storage-element/testing';
import { expectProblem, startQueryStack, uploadToSe, waitIndexed, type QueryStack } from './harness.js';

const TIMEOUT = { timeout: 30_000 };

function stripToken(file: UploadedFile): FileRecord {
  const { consistency_token: _token, ...record } = file;
  return record;
}

function withoutHighlight(item: SearchItem): FileRecord {
  const { highlight: _highlight, ...record } = item;
  return record;
}

for (const backend of SERVICE_BACKENDS) {
  describe(`полнотекстовый поиск (QR-2) — ${backend.name}`, () => {
    let stack: QueryStack;
    let token: string;
    let report: UploadedFile;
    let annual: UploadedFile;
    let reference: UploadedFile;
    let html: UploadedFile;

    const get = (path: string) =>
      fetch(`${stack.queryUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    async function search(params: Record<string, string | number>): Promise<SearchResponse> {
      const response = await get(
        `/api/search?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString()}`,
      );
      const text = await response.text();
      assert.equal(response.status, 200, text);
      return JSON.parse(text) as SearchResponse;
    }

    before(async () => {
      stack = await startQueryStack({
        backend,
        sharedCoordination: true,
        pollIntervalMs: 60_000,
        consistencyWaitMs: 1000,
      });
      token = await stack.issuer.mint({ name: 'reader-1', roles: ['reader'] });
      report = await uploadToSe(stack, 'Отчёт о проверке.pdf', '%PDF-1.7 ru', {
        contentType: 'application/pdf',
        metadata: { description: 'Архивные документы предприятия' },
      });
      annual = await uploadToSe(stack, 'Annual report 2026.pdf', '%PDF-1.7 en', {
        contentType: 'application/pdf',
      });
      // «отчёт» только в описании: по рангу ниже файла, у которого «отчёт» в имени.
      reference = await uploadToSe(stack, 'Справка.txt', 'x', {
        metadata: { description: 'Приложение: годовой отчёт для налоговой' },
      });
      html = await uploadToSe(stack, 'Tom & Jerry "quoted" xq.txt', 'x');
      await waitIndexed(stack, seqOf(html), 5000);
    });
    after(() => stack?.close());

    const cases: [string, string, () => UploadedFile][] = [
      ['Проверке', 'как в имени', () => report],
      ['ОТЧЁТ О ПРОВЕРКЕ', 'верхний регистр, несколько слов', () => report],
      ['проверка', 'другая форма слова', () => report],
      ['пров', 'префикс слова', () => report],
      ['документ', 'описание: «документы»', () => report],
      ['архив', 'описание: стеммер даёт «архивн», префикс находит', () => report],
      ['предприятие', 'описание: «предприятия»', () => report],
      ['reports', 'английская морфология', () => annual],
      ['"annual report"', 'фраза', () => annual],
      ['2026', 'число из имени', () => annual],
    ];
    for (const [q, why, expected] of cases) {
      it(`«${q}» находит ровно нужный файл (${why})`, TIMEOUT, async () => {
        const body = await search({ q });
        assert.deepEqual(
          body.items.map((i) => i.name),
          [expected().name],
          `q=${q}`,
        );
        assert.equal(body.total, 1);
        assert.equal(body.total_exact, true);
        assert.equal(body.next_cursor, null);
        assert.deepEqual(withoutHighlight(body.items[0]!), stripToken(expected()));
      });
    }

    it('OR и исключение: «отчёт OR reports», «отчёт -проверке»', TIMEOUT, async () => {
      const or = await search({ q: 'проверке OR reports', sort: 'name' });
      assert.deepEqual(
        or.items.map((i) => i.id),
        [annual.id, report.id],
      );
      const not = await search({ q: 'отчёт -проверке' });
      assert.deepEqual(
        not.items.map((i) => i.id),
        [reference.id],
      );
    });

    it('совпадение в имени ранжируется выше совпадения в описании', TIMEOUT, async () => {
      const body = await search({ q: 'отчёт' });
      assert.deepEqual(
        body.items.map((i) => i.id),
        [report.id, reference.id],
      );
      const asc = await search({ q: 'отчёт', order: 'asc' });
      assert.deepEqual(
        asc.items.map((i) => i.id),
        [reference.id, report.id],
      );
    });

    it('подсветка: <mark> в имени и описании, остальной текст экранирован', TIMEOUT, async () => {
      const [byName] = (await search({ q: 'отчёт' })).items;
      assert.deepEqual(byName!.highlight, { name: '<mark>Отчёт</mark> о проверке.pdf' });
      const [byDescription] = (await search({ q: 'документ предприятие' })).items;
      assert.deepEqual(byDescription!.highlight, {
        description: 'Архивные <mark>документы</mark> <mark>предприятия</mark>',
      });
      const [escaped] = (await search({ q: 'xq' })).items;
      assert.deepEqual(escaped!.highlight, { name: 'Tom &#38; Jerry &#34;quoted&#34; <mark>xq.txt</mark>' });
      // Без q подсветки нет.
      const plain = await search({ content_type: 'application/pdf', limit: 1 });
      assert.equal(plain.items[0]!.highlight, undefined);
    });

    it('ничего не найдено — пустой ответ с total 0', TIMEOUT, async () => {
      assert.deepEqual(await search({ q: 'несуществующеесловоzzz' }), {
        items: [],
        total: 0,
        total_exact: true,
        next_cursor: null,
      });
    });

    it('спецсимволы LIKE и tsquery в запросе не ломают поиск', TIMEOUT, async () => {
      for (const q of [
        '%',
        '_',
        '\\',
        "'",
        '!(&|)',
        '"незакрытая',
        'zq:*',
        "zq' | '",
        'OR',
        '""',
        '-',
        '(',
        '<->',
        '\u0001',
      ]) {
        assert.deepEqual(
          await search({ q }),
          { items: [], total: 0, total_exact: true, next_cursor: null },
          `q=${q}`,
        );
      }
    });

    it('пагинация: каждый файл ровно один раз, пока идут параллельные загрузки', TIMEOUT, async () => {
      const initial: UploadedFile[] = [];
      for (let i = 1; i <= 7; i++)
        initial.push(await uploadToSe(stack, `Журнал смены ${i}.txt`, `смена ${i}`));
      await waitIndexed(stack, seqOf(initial.at(-1)!), 5000);
      let uploads = 0;
      for (const sort of ['created_at', 'name', 'size', 'relevance']) {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const params: Record<string, string | number> = { q: 'журнал', limit: 2, sort };
          if (cursor !== null) params.cursor = cursor;
          const body: SearchResponse = await search(params);
          seen.push(...body.items.map((i) => i.id));
          cursor = body.next_cursor;
          // Новая загрузка между страницами: keyset не сдвигает и не дублирует выдачу.
          await uploadToSe(stack, `Журнал смены новый ${++uploads}.txt`, 'n');
          assert.ok(++pages <= 30, 'курсор зациклился');
        } while (cursor !== null);
        assert.equal(new Set(seen).size, seen.length, `${sort}: повторы ${JSON.stringify(seen)}`);
        for (const file of initial) assert.ok(seen.includes(file.id), `${sort}: пропущен ${file.name}`);
      }
    });

    it(
      'курсор: испорченный, от другой сортировки или других фильтров → 400 VALIDATION_FAILED',
      TIMEOUT,
      async () => {
        const first = await search({ q: 'журнал', limit: 1 });
        assert.ok(first.next_cursor);
        const cursor = encodeURIComponent(first.next_cursor);
        await expectProblem(
          await get(`/api/search?q=журнал&limit=1&sort=name&cursor=${cursor}`),
          400,
          'VALIDATION_FAILED',
        );
        await expectProblem(
          await get(`/api/search?q=журнал&limit=1&order=asc&cursor=${cursor}`),
          400,
          'VALIDATION_FAILED',
        );
        await expectProblem(
          await get(`/api/search?q=смены&limit=1&cursor=${cursor}`),
          400,
          'VALIDATION_FAILED',
        );
        await expectProblem(
          await get(`/api/search?q=журнал&limit=1&tag=x&cursor=${cursor}`),
          400,
          'VALIDATION_FAILED',
        );
        const ok = await get(`/api/search?q=журнал&limit=1&cursor=${cursor}`);
        assert.equal(ok.status, 200);
        const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
        for (const bad of [
          'мусор',
          'bm90LWpzb24',
          b64([1, 2]),
          b64(null),
          b64(['2026-01-01T00:00:00.000Z', randomUUID()]),
        ]) {
          await expectProblem(
            await get(`/api/search?q=x&cursor=${encodeURIComponent(bad)}`),
            400,
            'VALIDATION_FAILED',
          );
        }
      },
    );

    it('неверные параметры → 400 VALIDATION_FAILED', TIMEOUT, async () => {
      for (const qs of [
        'limit=0',
        'limit=201',
        'limit=abc',
        'sort=random',
        'order=up',
        'sort=relevance',
        'status=pending',
        'content_type=image',
        'created_from=2026-02-30T00:00:00Z',
        'created_to=вчера',
        'size_min=-1',
        'storage_element=SE_A',
        `q=${'x'.repeat(513)}`,
      ]) {
        await expectProblem(await get(`/api/search?${qs}`), 400, 'VALIDATION_FAILED');
      }
    });
  });
}
