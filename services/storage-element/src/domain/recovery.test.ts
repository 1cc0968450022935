// Восстановление по WAL (SPEC SE-3) на настоящих WAL, локальной ФС и PGlite: каждое состояние, в
// котором может застать процесс kill -9, либо доводится до конца, либо откатывается.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { createLocalFsBlobStore, createPgliteDatabase } from '@artstore/adapters';
import { createLogger, runMigrations, uuidv7, type BlobStore, type Database } from '@artstore/core';
import { createEpochStore } from '../store/epochs.js';
import { createFileCache } from '../store/file-cache.js';
import { storageElementMigrations } from '../store/migrations.js';
import { openWal, walDirectory } from '../wal/index.js';
import { ATTR_SCHEMA, serializeAttr, type AttrRecord } from './attr.js';
import { loadOrCreateAttrSigner, type AttrSigner } from './attr-signing.js';
import { recover } from './recovery.js';

const logger = createLogger({ level: 'silent' });

describe('восстановление по WAL', () => {
  let dir: string;
  let root: string;
  let db: Database;
  let blobs: BlobStore;
  let signer: AttrSigner;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'artstore-recovery-'));
    root = join(dir, 'se');
    blobs = createLocalFsBlobStore({ root });
    db = await createPgliteDatabase();
    await runMigrations(db, 'storage-element:se_', storageElementMigrations('se_'));
    signer = await loadOrCreateAttrSigner(join(dir, 'key.pem'));
  });
  after(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  function attrFor(id: string, path: string, size: number): AttrRecord {
    const stamp = new Date().toISOString();
    return signer.sign<AttrRecord>({
      schema: ATTR_SCHEMA,
      id,
      element_id: 'se-r',
      path,
      original_name: 'x.bin',
      content_type: 'application/octet-stream',
      size,
      sha256: '0'.repeat(64),
      stored: { encoding: 'identity', size, sha256: '0'.repeat(64) },
      created_at: stamp,
      created_by: 't',
      updated_at: stamp,
      updated_by: 't',
      retention_until: null,
      status: 'active',
      metadata: { description: '', tags: [], custom: {} },
      version: 1,
      vector_clock: { 'se-r': 1 },
    });
  }

  const put = (key: string, bytes: Buffer) => blobs.put(key, Readable.from([bytes]));
  const readText = async (key: string) => text(await blobs.get(key));

  it('каждое состояние после сбоя: довести до конца или откатить; временные файлы удалены', async () => {
    const cache = createFileCache(db, 'se_');
    const cases = ['nothing', 'data-only', 'torn-attr', 'complete', 'short-data', 'forged-attr'] as const;
    const ids = Object.fromEntries(cases.map((c) => [c, uuidv7()])) as Record<(typeof cases)[number], string>;
    const path = (c: (typeof cases)[number]) => `2026/11/30/10/${c}_${ids[c]}.bin`;

    const first = await openWal({ dir: walDirectory(root) });
    for (const c of cases) {
      await first.wal.append({ type: 'intent', tx: `tx-${c}`, epoch: 1, op: 'put', id: ids[c], path: path(c), attr_path: `${path(c)}.attr.json` });
    }
    await put(path('data-only'), Buffer.alloc(10, 1));
    await put(path('torn-attr'), Buffer.alloc(10, 1));
    await put(`${path('torn-attr')}.attr.json`, serializeAttr(attrFor(ids['torn-attr'], path('torn-attr'), 10)).subarray(0, 40));
    await put(path('complete'), Buffer.alloc(10, 1));
    await put(`${path('complete')}.attr.json`, serializeAttr(attrFor(ids.complete, path('complete'), 10)));
    await put(path('short-data'), Buffer.alloc(10, 1));
    await put(`${path('short-data')}.attr.json`, serializeAttr(attrFor(ids['short-data'], path('short-data'), 10)));
    await truncate(join(root, path('short-data')), 4);
    await put(path('forged-attr'), Buffer.alloc(10, 1));
    await put(`${path('forged-attr')}.attr.json`, serializeAttr({ ...attrFor(ids['forged-attr'], path('forged-attr'), 10), size: 11 }));
    const tempDir = join(root, '.artstore', 'tmp');
    await mkdir(tempDir, { recursive: true });
    await writeFile(join(tempDir, 'orphan.tmp'), 'x');
    // Процесс «убит»: WAL не закрыт штатно — открываем заново, как при старте.
    const second = await openWal({ dir: walDirectory(root) });
    assert.equal(second.recovered.open.length, cases.length);

    const epoch = await createEpochStore(db, 'se_').advance('recovery');
    const report = await recover(second.recovered, { blobs, cache, wal: second.wal, signingKeys: [signer.publicKey], logger, tempDir, epoch });
    assert.deepEqual({ finished: report.finished, rolledBack: report.rolledBack, corrupted: report.corrupted }, { finished: 1, rolledBack: 4, corrupted: 1 });

    for (const c of ['nothing', 'data-only', 'torn-attr', 'forged-attr'] as const) {
      assert.equal(await blobs.stat(path(c)), null, `${c}: данные откатаны`);
      assert.equal(await blobs.stat(`${path(c)}.attr.json`), null, `${c}: attr откатан`);
      assert.equal(await cache.get(ids[c]), undefined);
    }
    assert.equal((await cache.get(ids.complete))?.id, ids.complete, 'полная запись попала в кеш');
    // Повреждение носителя не «лечится» удалением: attr и данные остаются для сверки.
    assert.notEqual(await blobs.stat(`${path('short-data')}.attr.json`), null);
    assert.deepEqual(await readdir(tempDir).catch(() => []), []);
    await second.wal.close();

    const third = await openWal({ dir: walDirectory(root) });
    assert.deepEqual(third.recovered.open, [], 'после восстановления открытых транзакций нет');
    await third.wal.close();
  });
  it('журнал отстранённого узла (SPEC SE-12): решает кеш — зафиксированное остаётся, прочее откатывается', async () => {
    const cache = createFileCache(db, 'se_');
    const epoch = await createEpochStore(db, 'se_').advance('new-master');
    const walDir = join(dir, 'foreign-wal');
    const path = (name: string) => `2026/02/02/02/${name}`;
    const committed = attrFor(uuidv7(), path('committed.bin'), 3);
    const uncommitted = attrFor(uuidv7(), path('uncommitted.bin'), 3);
    const updated = attrFor(uuidv7(), path('updated.bin'), 3);
    // Зафиксированы: загрузка committed и прежняя версия updated; uncommitted целая на диске, но строки нет.
    for (const attr of [committed, uncommitted, updated]) {
      await put(attr.path, Buffer.from('abc'));
      await put(`${attr.path}.attr.json`, Buffer.from(serializeAttr(attr)));
    }
    await cache.upsert(committed, epoch);
    await cache.upsert(updated, epoch);
    const { integrity: _sig, ...unsigned } = updated;
    const newer = signer.sign<AttrRecord>({ ...unsigned, version: 2, metadata: { ...updated.metadata, description: 'не зафиксировано' } });
    await put(`${updated.path}.attr.json`, Buffer.from(serializeAttr(newer)));

    const foreign = await openWal({ dir: walDir });
    for (const attr of [committed, uncommitted]) {
      await foreign.wal.append({ type: 'intent', tx: `tx-${attr.id}`, epoch: epoch - 1, op: 'put', id: attr.id, path: attr.path, attr_path: `${attr.path}.attr.json` });
    }
    await foreign.wal.append({ type: 'intent', tx: 'tx-update', epoch: epoch - 1, op: 'update', id: updated.id, attr_path: `${updated.path}.attr.json`, version: 2 });
    await foreign.wal.close();

    const replay = await openWal({ dir: walDir });
    const report = await recover(replay.recovered, { blobs, cache, wal: replay.wal, signingKeys: [signer.publicKey], logger, epoch, adopt: 'committed' });
    await replay.wal.close();
    assert.deepEqual({ finished: report.finished, rolledBack: report.rolledBack }, { finished: 1, rolledBack: 2 });
    assert.notEqual(await blobs.stat(committed.path), null, 'зафиксированная загрузка на месте');
    assert.equal(await blobs.stat(uncommitted.path), null, 'незафиксированная удалена, хоть и целая');
    assert.equal(await blobs.stat(`${uncommitted.path}.attr.json`), null);
    const restored = JSON.parse(await readText(`${updated.path}.attr.json`)) as AttrRecord;
    assert.equal(restored.version, 1, 'attr возвращён к зафиксированной версии');
    assert.equal((await cache.get(updated.id))?.version, 1);
  });
});
