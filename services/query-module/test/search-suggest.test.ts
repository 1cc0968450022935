// Подсказки GET /api/search/suggest (SPEC QR-3, QR-8) на обоих наборах портов: имена и теги по префиксу
// и с опечаткой (pg_trgm), популярные запросы, права по грантам.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SearchSuggestion, SuggestResponse } from '@artstore/contracts';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import { expectProblem, startQueryStack, type QueryStack } from './harness.js';
import { indexRecords, recordOf } from './search-records.js';

const TIMEOUT = { timeout: 30_000 };

const annual = recordOf({
  element: 'se-a',
  name: 'Annual report 2026.pdf',
  created_at: '2026-01-01T00:00:00.000Z',
  metadata: { tags: ['финансы', 'годовой'] },
});
const budget = recordOf({
  element: 'se-a',
  name: 'Annual budget.xlsx',
  created_at: '2026-01-02T00:00:00.000Z',
});
const secret = recordOf({
  element: 'se-b',
  name: 'Секретный план.docx',
  created_at: '2026-01-03T00:00:00.000Z',
  metadata: { tags: ['секретно'] },
});

for (const backend of SERVICE_BACKENDS) {
  describe(`подсказки (QR-3) — ${backend.name}`, () => {
    let stack: QueryStack;
    let reader: string;
    let scoped: string;

    async function suggest(q: string, as = reader, limit = 10): Promise<SearchSuggestion[]> {
      const response = await fetch(
        `${stack.queryUrl}/api/search/suggest?${new URLSearchParams({ q, limit: String(limit) }).toString()}`,
        {
          headers: { authorization: `Bearer ${as}` },
        },
      );
      const text = await response.text();
      assert.equal(response.status, 200, text);
      return (JSON.parse(text) as SuggestResponse).suggestions;
    }
    async function search(q: string, as = reader): Promise<void> {
      const response = await fetch(`${stack.queryUrl}/api/search?q=${encodeURIComponent(q)}`, {
        headers: { authorization: `Bearer ${as}` },
      });
      assert.equal(response.status, 200);
    }
    /** Счётчики популярных запросов пишутся пачкой раз в секунду — ждём, пока подсказка появится. */
    async function eventually(
      q: string,
      expected: SearchSuggestion,
      as = reader,
    ): Promise<SearchSuggestion[]> {
      const deadline = performance.now() + 5000;
      for (;;) {
        const list = await suggest(q, as);
        if (list.some((s) => s.kind === expected.kind && s.text === expected.text)) return list;
        if (performance.now() > deadline)
          assert.fail(`нет ${JSON.stringify(expected)} в ${JSON.stringify(list)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    before(async () => {
      stack = await startQueryStack({
        backend,
        sharedCoordination: true,
        pollIntervalMs: 60_000,
        consistencyWaitMs: 1000,
      });
      reader = await stack.issuer.mint({ name: 'reader-1', roles: ['reader'] });
      scoped = await stack.issuer.mint({ name: 'scoped', roles: [], grants: ['reader@se:se-a'] });
      await indexRecords(stack, [annual, budget, secret]);
    });
    after(() => stack?.close());

    it('префикс имени, без учёта регистра', TIMEOUT, async () => {
      const list = await suggest('ANNU');
      assert.deepEqual(
        list.filter((s) => s.kind === 'name').map((s) => s.text),
        ['Annual budget.xlsx', 'Annual report 2026.pdf'],
      );
    });

    it('опечатка в имени — нечёткое совпадение по триграммам', TIMEOUT, async () => {
      const list = await suggest('anual');
      assert.ok(
        list.some((s) => s.kind === 'name' && s.text === annual.name),
        JSON.stringify(list),
      );
      assert.deepEqual(await suggest('qqqzzz'), []);
    });

    it('тег по префиксу и с опечаткой', TIMEOUT, async () => {
      assert.deepEqual(await suggest('фина'), [{ kind: 'tag', text: 'финансы' }]);
      assert.ok((await suggest('финансв')).some((s) => s.kind === 'tag' && s.text === 'финансы'));
    });

    it('популярный запрос: нормализован, появляется после поиска с результатами', TIMEOUT, async () => {
      await search('  Annual   Report ');
      await search('annual report');
      await search('annual zzzнетрезультатов');
      const list = await eventually('annual r', { kind: 'query', text: 'annual report' });
      assert.ok(
        !list.some((s) => s.text === 'annual zzzнетрезультатов'),
        'запрос без результатов не подсказывается',
      );
      // Виды чередуются: имя, запрос — и лимит соблюдён.
      assert.deepEqual(await suggest('annual r', reader, 2), [
        { kind: 'name', text: annual.name },
        { kind: 'query', text: 'annual report' },
      ]);
    });

    it('права: грант только на se-a — ни имён, ни тегов, ни запросов se-b', TIMEOUT, async () => {
      await search('секретный');
      await eventually('секр', { kind: 'query', text: 'секретный' });
      const global = await suggest('секр');
      assert.ok(global.some((s) => s.kind === 'name' && s.text === secret.name));
      assert.ok(global.some((s) => s.kind === 'tag' && s.text === 'секретно'));
      assert.deepEqual(await suggest('секр', scoped), []);
      assert.ok((await suggest('annu', scoped)).some((s) => s.text === annual.name));
    });

    it('тег пропадает из подсказок, когда нет активных файлов с ним', TIMEOUT, async () => {
      await indexRecords(stack, [{ ...secret, status: 'deleted', updated_at: '2026-02-01T00:00:00.000Z' }]);
      const list = await suggest('секретн');
      assert.ok(!list.some((s) => s.kind === 'tag' || s.kind === 'name'), JSON.stringify(list));
    });

    it('limit вне 1..20 → 400; без files:read → 403', TIMEOUT, async () => {
      for (const limit of ['0', '21', 'x']) {
        await expectProblem(
          await fetch(`${stack.queryUrl}/api/search/suggest?q=a&limit=${limit}`, {
            headers: { authorization: `Bearer ${reader}` },
          }),
          400,
          'VALIDATION_FAILED',
        );
      }
      const nobody = await stack.issuer.mint({ roles: [] });
      await expectProblem(
        await fetch(`${stack.queryUrl}/api/search/suggest?q=a`, {
          headers: { authorization: `Bearer ${nobody}` },
        }),
        403,
        'FORBIDDEN',
      );
    });
  });
}
