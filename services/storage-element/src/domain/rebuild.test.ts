// Перестройка кеша из attr-файлов (SPEC SE-6, BY-2): кеш удалён целиком → после перестройки каждая
// запись на месте, записи и содержимое ленты те же (без учёта порядка); подделка и пропажа данных —
// в отчёте, а не в кеше; dry-run ничего не меняет.
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  createInProcessCoordination,
  createPgliteDatabase,
  createPostgresDatabase,
} from '@artstore/adapters';
import { createThrowawayPostgres } from '@artstore/adapters/testing';
import { runMigrations, type BlobStore, type Coordination, type Database } from '@artstore/core';
import { createTestWriter } from '../../test/writer-fixture.js';
import { createEpochStore, type EpochStore } from '../store/epochs.js';
import { createFileCache, type FileCache } from '../store/file-cache.js';
import { storageElementMigrations } from '../store/migrations.js';
import type { WriteAheadLog } from '../wal/index.js';
import { serializeAttr, type AttrRecord } from './attr.js';
import type { AttrSigner } from './attr-signing.js';
import { applyRebuild, planRebuild } from './rebuild.js';

interface FreshCache {
  db: Database;
  cache: FileCache;
  epochs: EpochStore;
  close: () => Promise<void>;
}

async function freshCache(): Promise<FreshCache> {
  const db = await createPgliteDatabase();
  await runMigrations(db, 'storage-element:se_', storageElementMigrations('se_'));
  return {
    db,
    cache: createFileCache(db, 'se_'),
    epochs: createEpochStore(db, 'se_'),
    close: () => db.close(),
  };
}

/** Одноразовая база на настоящем PostgreSQL: close() закрывает соединения и удаляет её. */
async function freshPostgresCache(): Promise<FreshCache> {
  const pg = await createThrowawayPostgres('se_rebuild');
  const db = createPostgresDatabase(pg.options);
  await runMigrations(db, 'storage-element:se_', storageElementMigrations('se_'));
  const close = async () => {
    await db.close();
    await pg.drop();
  };
  return { db, cache: createFileCache(db, 'se_'), epochs: createEpochStore(db, 'se_'), close };
}

async function feed(cache: FileCache) {
  const changes = await cache.changes(0, 10_000);
  return changes.map((c) => JSON.stringify(c.record)).sort();
}

describe('перестройка кеша из attr-файлов', () => {
  let dir: string;
  let root: string;
  let blobs: BlobStore;
  let signer: AttrSigner;
  let coordination: Coordination;
  let original: FreshCache;
  let epoch: number;
  let wal: WriteAheadLog;
  const stored: AttrRecord[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'artstore-rebuild-'));
    coordination = createInProcessCoordination();
    original = await freshCache();
    const fixture = await createTestWriter({ dir, name: 'se', db: original.db, coordination });
    ({ blobs, signer, wal, root, epoch } = fixture);
    const writer = fixture.writer;
    for (let i = 0; i < 25; i++) {
      const bytes = Buffer.from(`файл номер ${i}`.repeat(i + 1));
      const { attr } = await writer.write({
        body: Readable.from([bytes]),
        originalName: `Документ ${i}.txt`,
        contentType: 'text/plain',
        declaredLength: bytes.length,
        metadata: { description: `описание ${i}`, tags: [`t${i % 3}`], custom: { n: String(i) } },
        actor: 'tester',
      });
      stored.push(attr);
    }
  });
  after(async () => {
    await wal.close();
    await coordination.close();
    await original.db.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const backend of ['PGlite', 'PostgreSQL'] as const) {
    it(`кеш удалён целиком: перестройка в ${backend} возвращает каждую запись, лента — то же содержимое`, async () => {
      const rebuilt = backend === 'PGlite' ? await freshCache() : await freshPostgresCache();
      try {
        const plan = await planRebuild({ blobs, cache: rebuilt.cache, signingKeys: [signer.publicKey] });
        assert.equal(plan.scanned, 25);
        assert.equal(plan.missing.length, 25);
        assert.deepEqual([plan.stale.length, plan.orphans.length, plan.problems.length], [0, 0, 0]);
        // dry-run: план посчитан, кеш не тронут.
        assert.deepEqual(await feed(rebuilt.cache), []);
        await applyRebuild(plan, rebuilt.cache, await rebuilt.epochs.advance('rebuild'));
        assert.deepEqual(await feed(rebuilt.cache), await feed(original.cache));
        for (const attr of stored)
          assert.deepEqual(await rebuilt.cache.get(attr.id), await original.cache.get(attr.id));
        const again = await planRebuild({ blobs, cache: rebuilt.cache, signingKeys: [signer.publicKey] });
        assert.deepEqual(
          [again.missing.length, again.stale.length, again.orphans.length, again.unchanged],
          [0, 0, 0, 25],
        );
      } finally {
        await rebuilt.close();
      }
    });
  }

  it('дрейф: устаревшая строка и сирота исправляются; подделка и пропавшие данные — в отчёте', async () => {
    const [staleOne, forged, lost] = [stored[0]!, stored[1]!, stored[2]!];
    // Устаревшая строка: в кеше старая версия attr.
    await original.db.query(`update se_files set attr_digest = 'old' where id = $1`, [staleOne.id]);
    // Сирота: строка кеша без attr-файла.
    const orphan = {
      ...stored[3]!,
      id: '01900000-0000-7000-8000-000000000000',
      path: '2020/01/01/00/x_01900000-0000-7000-8000-000000000000.txt',
    };
    await original.cache.upsert(signer.sign<AttrRecord>({ ...orphan }), epoch);
    // Подделка: attr изменён без ключа подписи.
    await writeFile(
      join(root, `${forged.path}.attr.json`),
      serializeAttr({ ...forged, size: forged.size + 1 }),
    );
    // Пропавшие данные.
    await unlink(join(root, lost.path));

    const plan = await planRebuild({ blobs, cache: original.cache, signingKeys: [signer.publicKey] });
    assert.deepEqual(
      plan.stale.map((a) => a.id),
      [staleOne.id],
    );
    assert.deepEqual(plan.orphans, [orphan.id]);
    assert.deepEqual(plan.problems.map((p) => p.reason).sort(), ['data_missing', 'signature_invalid']);
    await applyRebuild(plan, original.cache, epoch);
    assert.equal(await original.cache.get(orphan.id), undefined);
    const after = await planRebuild({ blobs, cache: original.cache, signingKeys: [signer.publicKey] });
    assert.deepEqual([after.stale.length, after.orphans.length], [0, 0]);
    // Повреждения не исчезают молча: о них сообщается при каждой сверке, пока оператор не разберётся.
    assert.equal(after.problems.length, 2);
  });
});
