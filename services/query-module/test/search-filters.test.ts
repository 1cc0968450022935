// Фильтры, сортировки, total и права поиска (SPEC QR-2, QR-8) на обоих наборах портов. Записи трёх
// «SE» (se-a, se-b, se-c) кладутся в индекс стенда напрямую; у каждой в имени слово «zeta».
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FileRecord, SearchResponse } from '@artstore/contracts';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import { createSearchIndex } from '../src/store/search-index.js';
import { expectProblem, startQueryStack, type QueryStack } from './harness.js';
import { indexRecords, recordOf } from './search-records.js';

const TIMEOUT = { timeout: 30_000 };

const r1 = recordOf({
  element: 'se-a',
  name: 'zeta alpha.png',
  content_type: 'image/png',
  size: 100,
  created_at: '2026-01-01T00:00:00.000Z',
  created_by: 'alice',
  retention_until: '2027-01-01T00:00:00.000Z',
  metadata: { tags: ['red', 'big'] },
});
const r2 = recordOf({
  element: 'se-a',
  name: 'zeta beta.jpg',
  content_type: 'image/jpeg',
  size: 2000,
  created_at: '2026-01-02T00:00:00.000Z',
  created_by: 'bob',
  metadata: { tags: ['red'] },
});
const r3 = recordOf({
  element: 'se-b',
  name: 'zeta gamma.pdf',
  content_type: 'application/pdf',
  size: 300,
  created_at: '2026-01-03T00:00:00.000Z',
  created_by: 'alice',
  retention_until: '2026-06-01T00:00:00.000Z',
  metadata: { tags: ['big'] },
});
const r4 = recordOf({
  element: 'se-b',
  name: 'zeta delta.png',
  content_type: 'image/png',
  size: 5000,
  created_at: '2026-01-04T00:00:00.000Z',
  created_by: 'alice',
  retention_until: '2028-01-01T00:00:00.000Z',
  metadata: { tags: ['red', 'big'] },
});
const r5 = recordOf({
  element: 'se-a',
  name: 'zeta epsilon.txt',
  content_type: 'text/plain',
  size: 50,
  created_at: '2026-01-05T00:00:00.000Z',
  created_by: 'bob',
  status: 'deleted',
});
// Совпадение с «zeta» только в значении custom (вес D) — находится, но ниже всех по рангу.
const r6 = recordOf({
  element: 'se-c',
  name: 'custom.bin',
  size: 700,
  created_at: '2026-01-06T00:00:00.000Z',
  metadata: { custom: { project: 'zeta-x' } },
});
const active = [r1, r2, r3, r4, r6];

for (const backend of SERVICE_BACKENDS) {
  describe(`фильтры, сортировки, total, права (QR-2, QR-8) — ${backend.name}`, () => {
    let stack: QueryStack;
    let token: string;

    async function search(
      params: Record<string, string | number | string[]>,
      as = token,
    ): Promise<SearchResponse> {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(params))
        for (const value of [v].flat()) qs.append(k, String(value));
      const response = await fetch(`${stack.queryUrl}/api/search?${qs.toString()}`, {
        headers: { authorization: `Bearer ${as}` },
      });
      const text = await response.text();
      assert.equal(response.status, 200, text);
      return JSON.parse(text) as SearchResponse;
    }
    const names = (body: SearchResponse) => body.items.map((i) => i.name);
    const sorted = (records: FileRecord[]) => records.map((r) => r.name).sort();

    before(async () => {
      stack = await startQueryStack({
        backend,
        sharedCoordination: true,
        pollIntervalMs: 60_000,
        consistencyWaitMs: 1000,
      });
      token = await stack.issuer.mint({ name: 'reader-1', roles: ['reader'] });
      await indexRecords(stack, [r1, r2, r3, r4, r5, r6]);
    });
    after(() => stack?.close());

    const filterCases: [string, Record<string, string | string[] | number>, FileRecord[]][] = [
      ['без фильтров — только активные', {}, active],
      ['content_type=image/* — префикс типа', { content_type: 'image/*' }, [r1, r2, r4]],
      ['content_type=image/png', { content_type: 'image/png' }, [r1, r4]],
      [
        'content_type повторяется — любой из',
        { content_type: ['image/png', 'application/pdf'] },
        [r1, r3, r4],
      ],
      ['created_from включительно', { created_from: '2026-01-02T00:00:00Z' }, [r2, r3, r4, r6]],
      ['created_to включительно, со смещением зоны', { created_to: '2026-01-02T03:00:00+03:00' }, [r1, r2]],
      ['size_min', { size_min: 300 }, [r2, r3, r4, r6]],
      ['size_max', { size_max: 300 }, [r1, r3]],
      ['storage_element', { storage_element: 'se-a' }, [r1, r2]],
      ['storage_element повторяется', { storage_element: ['se-a', 'se-c'] }, [r1, r2, r6]],
      ['owner', { owner: 'alice' }, [r1, r3, r4]],
      ['tag', { tag: 'red' }, [r1, r2, r4]],
      ['tag повторяется — нужны все', { tag: ['red', 'big'] }, [r1, r4]],
      ['status=deleted', { status: 'deleted' }, [r5]],
      ['retention_before', { retention_before: '2027-06-01T00:00:00Z' }, [r1, r3]],
      ['retention_after', { retention_after: '2027-06-01T00:00:00Z' }, [r4]],
      [
        'несколько фильтров сразу',
        { content_type: 'image/*', owner: 'alice', tag: 'big', size_min: 200 },
        [r4],
      ],
      ['фильтры без q', { q: '', storage_element: 'se-b' }, [r3, r4]],
    ];
    for (const [why, params, expected] of filterCases) {
      it(`фильтр: ${why}`, TIMEOUT, async () => {
        const body = await search({ q: 'zeta', limit: 50, ...params });
        assert.deepEqual(names(body).sort(), sorted(expected));
        assert.equal(body.total, expected.length);
        assert.equal(body.total_exact, true);
      });
    }

    const sortCases: [string, Record<string, string>, FileRecord[]][] = [
      ['created_at по умолчанию без q — новые первыми', { q: '' }, [r6, r4, r3, r2, r1]],
      ['created_at asc', { sort: 'created_at', order: 'asc' }, [r1, r2, r3, r4, r6]],
      ['name — по умолчанию asc', { sort: 'name' }, [r6, r1, r2, r4, r3]],
      ['name desc', { sort: 'name', order: 'desc' }, [r3, r4, r2, r1, r6]],
      ['size desc', { sort: 'size' }, [r4, r2, r6, r3, r1]],
      ['size asc', { sort: 'size', order: 'asc' }, [r1, r3, r6, r2, r4]],
    ];
    for (const [why, params, expected] of sortCases) {
      it(`сортировка: ${why}; по страницам в 1 строку — тот же порядок`, TIMEOUT, async () => {
        const base = { q: 'zeta', ...params };
        assert.deepEqual(
          names(await search({ ...base, limit: 50 })),
          expected.map((r) => r.name),
        );
        const paged: string[] = [];
        let cursor: string | null = null;
        do {
          const body: SearchResponse = await search({
            ...base,
            limit: 1,
            ...(cursor === null ? {} : { cursor }),
          });
          paged.push(...names(body));
          cursor = body.next_cursor;
        } while (cursor !== null && paged.length <= expected.length);
        assert.deepEqual(
          paged,
          expected.map((r) => r.name),
        );
      });
    }

    it(
      'сортировка relevance: совпадение в имени выше, чем в custom; ключ курсора — ранг',
      TIMEOUT,
      async () => {
        const body = await search({ q: 'zeta', limit: 2 });
        assert.notEqual(body.items[0]!.id, r6.id);
        const all: string[] = names(body);
        let cursor = body.next_cursor;
        while (cursor !== null) {
          const next = await search({ q: 'zeta', limit: 2, cursor });
          all.push(...names(next));
          cursor = next.next_cursor;
        }
        assert.equal(all.at(-1), r6.name);
        assert.deepEqual([...all].sort(), sorted(active));
      },
    );

    it(
      'права: грант только на se-a — не видно se-b ни в выдаче, ни в total; чужой SE в фильтре — пусто',
      TIMEOUT,
      async () => {
        const scoped = await stack.issuer.mint({ name: 'scoped', roles: [], grants: ['reader@se:se-a'] });
        const body = await search({ q: 'zeta' }, scoped);
        assert.deepEqual(names(body).sort(), sorted([r1, r2]));
        assert.equal(body.total, 2);
        const foreign = await search({ q: 'zeta', storage_element: 'se-b' }, scoped);
        assert.deepEqual(foreign, { items: [], next_cursor: null, total: 0, total_exact: true });
        const both = await search({ q: '', storage_element: ['se-a', 'se-b'] }, scoped);
        assert.deepEqual(names(both).sort(), sorted([r1, r2]));
        assert.equal(both.total, 2);
      },
    );

    it('total: точный до порога, сверх — оценка с total_exact=false', TIMEOUT, async () => {
      const index = createSearchIndex(stack.db, { exactTotalLimit: 3 });
      const request = {
        q: 'zeta',
        sort: 'created_at',
        order: 'desc',
        filters: { status: 'active' },
        limit: 2,
        allowed: 'all',
      } as const;
      const over = await index.search(request);
      assert.equal(over.total_exact, false);
      assert.ok(over.total >= 4, `оценка ${over.total} не больше порога`);
      assert.equal(over.items.length, 2);
      const under = await index.search({
        ...request,
        filters: { status: 'active', storageElements: ['se-a'] },
      });
      assert.deepEqual([under.total, under.total_exact], [2, true]);
      await index.close();
    });

    it(
      'крайние значения — 400 VALIDATION_FAILED, а не 500 от базы: NUL, размер вне bigint, год 0',
      TIMEOUT,
      async () => {
        const bad = [
          '/api/search?q=a%00b',
          '/api/search?owner=%00',
          '/api/search?tag=x%00',
          '/api/search/suggest?q=ab%00c',
          '/api/search?size_min=100000000000000000000',
          '/api/search?size_max=9223372036854775808',
          '/api/search?created_from=0000-01-01T00:00Z',
          '/api/search?retention_before=0000-06-01T00:00Z',
        ];
        for (const path of bad) {
          const response = await fetch(`${stack.queryUrl}${path}`, {
            headers: { authorization: `Bearer ${token}` },
          });
          await expectProblem(response, 400, 'VALIDATION_FAILED');
        }
      },
    );

    it(
      'relevance сверх порога: ранжируются только самые новые совпадения, ответ называет окно',
      TIMEOUT,
      async () => {
        const index = createSearchIndex(stack.db, { exactTotalLimit: 3 });
        const request = {
          q: 'zeta',
          sort: 'relevance',
          order: 'desc',
          filters: { status: 'active' },
          limit: 2,
          allowed: 'all',
        } as const;
        const first = await index.search(request);
        assert.equal(first.total_exact, false);
        assert.equal(first.relevance_window, 3);
        const second = await index.search({ ...request, cursor: first.next_cursor! });
        assert.equal(second.next_cursor, null);
        // Окно — три самых новых из пяти совпадений (r6, r4, r3), каждое ровно один раз; совпадение только в
        // custom (r6, вес D) — последним.
        const seen = [...first.items, ...second.items].map((i) => i.name);
        assert.deepEqual([...seen].sort(), sorted([r3, r4, r6]));
        assert.equal(seen.at(-1), r6.name);
        // Совпадений не больше порога — ранжируются все, окна нет.
        const exact = await index.search({
          ...request,
          filters: { status: 'active', storageElements: ['se-a'] },
        });
        assert.equal(exact.relevance_window, undefined);
        await index.close();
      },
    );
  });
}
