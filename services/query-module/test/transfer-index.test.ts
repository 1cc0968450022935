// Глобальный индекс после переноса файла между SE (SPEC IN-6, QR-1): один id приходит из двух лент —
// надгробие transferred с источника и активная копия с целевого SE — в любом порядке. Индекс всегда
// показывает активную копию. На PGlite и на настоящем PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabaseBackends, type OpenedTestDatabase } from '@artstore/adapters/testing';
import { runMigrations, uuidv7 } from '@artstore/core';
import type { FileRecord, FileStatus } from '@artstore/contracts';
import { queryMigrations } from '../src/store/migrations.js';
import { createFileIndex } from '../src/store/file-index.js';
import { createSearchIndex } from '../src/store/search-index.js';

function recordOf(id: string, element: string, status: FileStatus, updatedAt: string): FileRecord {
  return {
    id,
    name: 'Договор.pdf',
    content_type: 'application/pdf',
    size: 10,
    sha256: 'a'.repeat(64),
    storage_element: element,
    path: `2026/01/01/00/Договор_${id}.pdf`,
    created_at: '2026-01-01T00:00:00.000Z',
    created_by: 'alice',
    updated_at: updatedAt,
    retention_until: null,
    status,
    metadata: { description: '', tags: [], custom: {} },
    version: 1,
  };
}

for (const backend of testDatabaseBackends('query_transfer_index')) {
  describe(`query-module: индекс после переноса (${backend.name})`, () => {
    let database: OpenedTestDatabase;
    before(async () => {
      database = await backend.open();
      await runMigrations(database.db, 'query-module', queryMigrations);
    });
    after(() => database.close());

    const orders = {
      'источник раньше целевого': ['source-active', 'source-transferred', 'target-active'],
      'целевой раньше надгробия': ['source-active', 'target-active', 'source-transferred'],
      'целевой раньше всего, старая активная запись источника позже': [
        'target-active',
        'source-active',
        'source-transferred',
      ],
    } as const;

    for (const [title, order] of Object.entries(orders)) {
      it(title, async () => {
        const index = createFileIndex(database.db);
        const id = uuidv7();
        const entries = {
          'source-active': {
            element: 'se-a',
            record: recordOf(id, 'se-a', 'active', '2026-01-01T00:00:00.000Z'),
          },
          'source-transferred': {
            element: 'se-a',
            record: recordOf(id, 'se-a', 'transferred', '2026-01-02T00:00:01.000Z'),
          },
          'target-active': {
            element: 'se-b',
            record: recordOf(id, 'se-b', 'active', '2026-01-02T00:00:00.500Z'),
          },
        };
        let seq = 0;
        for (const key of order) {
          const { element, record } = entries[key];
          await index.apply(element, [{ seq: ++seq, record }], seq, 0);
        }
        const indexed = await index.get(id);
        assert.deepEqual([indexed?.storage_element, indexed?.status], ['se-b', 'active']);
        const found = await createSearchIndex(database.db).search({
          q: '',
          sort: 'created_at',
          order: 'desc',
          filters: { status: 'active' },
          limit: 100,
          allowed: 'all',
        });
        assert.equal(found.items.filter((item) => item.id === id).length, 1);
      });
    }

    it('устаревшая пачка того же SE не воскрешает удалённый файл (два экземпляра query на одной ленте)', async () => {
      const index = createFileIndex(database.db);
      const id = uuidv7();
      // Экземпляр 2 применил удаление (seq 20), экземпляр 1 — позже — страницу, прочитанную раньше (seq 10).
      await index.apply(
        'se-a',
        [{ seq: 20, record: recordOf(id, 'se-a', 'deleted', '2026-01-02T00:00:00.000Z') }],
        20,
        0,
      );
      await index.apply(
        'se-a',
        [{ seq: 10, record: recordOf(id, 'se-a', 'active', '2026-01-01T00:00:00.000Z') }],
        10,
        0,
      );
      assert.equal((await index.get(id))?.status, 'deleted');
    });
  });
}
