// Запись в кеш SE (SPEC SE-4, SE-12) на обеих БД: номер изменения и ограждение по эпохе в одном
// операторе; групповая запись параллельных изменений; повтор id в пачке.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPgliteDatabase, createPostgresDatabase } from '@artstore/adapters';
import { createThrowawayPostgres, type ThrowawayPostgres } from '@artstore/adapters/testing';
import { isArtError, runMigrations, uuidv7, type Database } from '@artstore/core';
import { ATTR_SCHEMA, type AttrRecord } from '../domain/attr.js';
import { createEpochStore } from './epochs.js';
import { createFileCache } from './file-cache.js';
import { storageElementMigrations } from './migrations.js';

function attr(id: string, version = 1): AttrRecord {
  const stamp = new Date().toISOString();
  return {
    schema: ATTR_SCHEMA,
    id,
    element_id: 'se-c',
    path: `2026/01/01/00/f_${id}.bin`,
    original_name: 'f.bin',
    content_type: 'application/octet-stream',
    size: 3,
    sha256: '0'.repeat(64),
    stored: { encoding: 'identity', size: 3, sha256: '0'.repeat(64) },
    created_at: stamp,
    created_by: 't',
    updated_at: stamp,
    updated_by: 't',
    retention_until: null,
    status: 'active',
    metadata: { description: '', tags: [], custom: {} },
    version,
    vector_clock: { 'se-c': version },
    integrity: { alg: 'Ed25519', key_id: 'k', signature: 'x' },
  };
}

function cacheSuite(name: string, open: () => Promise<{ db: Database; close: () => Promise<void> }>) {
  describe(`кеш SE: ${name}`, () => {
    let db: Database;
    let close: () => Promise<void>;
    before(async () => {
      ({ db, close } = await open());
      await runMigrations(db, 'storage-element:se_', storageElementMigrations('se_'));
    });
    after(() => close());

    it('фиксация прежней эпохи отвергается и ничего не пишет; действующая проходит', async () => {
      const cache = createFileCache(db, 'se_');
      const epochs = createEpochStore(db, 'se_');
      const old = await epochs.advance('a');
      const first = uuidv7();
      assert.ok((await cache.upsert(attr(first), old)) > 0);
      const current = await epochs.advance('b');
      const late = uuidv7();
      await assert.rejects(cache.upsert(attr(late), old), (error) => {
        assert.ok(isArtError(error, 'SE_WRITE_FENCED'));
        assert.deepEqual(error.extra, { epoch: old, current_epoch: current });
        return true;
      });
      await assert.rejects(cache.upsertMany([attr(uuidv7()), attr(uuidv7())], old), (error) => isArtError(error, 'SE_WRITE_FENCED'));
      assert.equal(await cache.get(late), undefined, 'отвергнутая запись не видна');
      assert.ok((await cache.upsert(attr(late), current)) > 0);
    });

    it('параллельные изменения: номера уникальны и растут; повтор id в пачке — последняя версия', async () => {
      const cache = createFileCache(db, 'se_');
      const epoch = await createEpochStore(db, 'se_').advance('c');
      const ids = Array.from({ length: 40 }, () => uuidv7());
      const seqs = await Promise.all(ids.map((id) => cache.upsert(attr(id), epoch)));
      assert.equal(new Set(seqs).size, seqs.length);
      const repeated = uuidv7();
      const batch = await cache.upsertMany([attr(repeated, 1), attr(uuidv7()), attr(repeated, 2)], epoch);
      assert.ok(batch[0]! < batch[2]!, 'вторая версия того же id получила больший номер');
      assert.equal((await cache.get(repeated))?.version, 2);
      const feed = await cache.changes(0, 10_000);
      const numbers = feed.map((entry) => entry.seq);
      assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
    });
  });
}

cacheSuite('PGlite', async () => {
  const db = await createPgliteDatabase();
  return { db, close: () => db.close() };
});

let pg: ThrowawayPostgres;
cacheSuite('PostgreSQL', async () => {
  pg = await createThrowawayPostgres('se_file_cache');
  const db = createPostgresDatabase(pg.options);
  return {
    db,
    close: async () => {
      await db.close();
      await pg.drop();
    },
  };
});
