// Запись файла с WAL: порядок намерение → данные → attr → кеш → commit; сбой fsync журнала даёт 5xx,
// никогда 2xx, и останавливает приём записи вместо повтора (SPEC SE-3, fsyncgate).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createInProcessCoordination, createPgliteDatabase } from '@artstore/adapters';
import { isArtError, runMigrations, type Coordination, type Database } from '@artstore/core';
import { listFiles } from '@artstore/core/testing';
import { createTestWriter, FIXTURE_ELEMENT } from '../../test/writer-fixture.js';
import { storageElementMigrations } from '../store/migrations.js';
import { nodeWalIo, openWal, walDirectory, type WalIo } from '../wal/index.js';
import { verifyAttrSignature } from './attr-signing.js';

const metadata = { description: '', tags: [], custom: {} };

describe('запись файла с WAL', () => {
  let dir: string;
  let db: Database;
  let coordination: Coordination;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'artstore-writer-'));
    db = await createPgliteDatabase();
    await runMigrations(db, 'storage-element:se_', storageElementMigrations('se_'));
    coordination = createInProcessCoordination();
  });
  after(async () => {
    await coordination.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const writerWith = (name: string, io?: WalIo) => createTestWriter({ dir, name, db, coordination, io });

  const request = (bytes: Buffer) => ({
    body: Readable.from([bytes]),
    originalName: 'Отчёт.pdf',
    contentType: 'application/pdf',
    declaredLength: bytes.length,
    metadata,
    actor: 'tester',
  });

  it('успешная запись: подписанный attr, строка кеша, в WAL намерение и commit', async () => {
    const { root, writer, wal, signer, cache } = await writerWith('ok');
    const { attr, seq } = await writer.write(request(Buffer.from('hello')));
    assert.equal(verifyAttrSignature(attr, [signer.publicKey]), 'valid');
    assert.deepEqual(attr.vector_clock, { [FIXTURE_ELEMENT]: 1 });
    assert.equal((await cache.get(attr.id))?.sha256, attr.sha256);
    assert.ok(seq > 0);
    await wal.close();
    const reopened = await openWal({ dir: walDirectory(root) });
    const types = reopened.recovered.records.map((r) => r.type);
    assert.deepEqual(types, ['intent', 'commit']);
    assert.deepEqual(reopened.recovered.open, []);
    await reopened.wal.close();
  });

  it('сбой fsync журнала: 503 STORAGE_WRITES_STOPPED, данных нет, следующая запись отклоняется сразу', async () => {
    let fsyncs = 0;
    const failing: WalIo = {
      ...nodeWalIo,
      fsync() {
        fsyncs++;
        return Promise.reject(Object.assign(new Error('EIO: input/output error, fsync'), { code: 'EIO' }));
      },
    };
    const { root, writer, wal } = await writerWith('eio', failing);
    await assert.rejects(writer.write(request(Buffer.from('first'))), (error) => isArtError(error, 'STORAGE_WRITES_STOPPED') && error.status === 503);
    assert.ok(wal.failed);
    const fsyncsAfterFailure = fsyncs;
    // Тело второго запроса даже не читается: отказ до любого ввода-вывода.
    let read = false;
    const body = new Readable({
      read() {
        read = true;
        this.push(null);
      },
    });
    await assert.rejects(writer.write({ ...request(Buffer.alloc(0)), body }), (error) => isArtError(error, 'STORAGE_WRITES_STOPPED'));
    assert.equal(read, false);
    assert.equal(fsyncs, fsyncsAfterFailure, 'после сбоя fsync не повторяется');
    const stored = (await listFiles(root)).filter((f) => !f.startsWith('.artstore/'));
    assert.deepEqual(stored, []);
    await wal.close();
  });
});
