// Контрактный набор тестов порта BlobStore (CONVENTIONS, «Contract suites as functions taking a
// factory»): один и тот же набор гоняется против каждой реализации — локальной ФС и S3 (SPEC SE-10).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isArtError, type ErrorCode } from '../errors.js';
import type { BlobStore } from '../ports/blob-store.js';

export interface BlobStoreFixture {
  store: BlobStore;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function sha256Of(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Поток заданной длины, порождаемый по кусочку: целиком в памяти не бывает никогда. */
function generatedStream(size: number): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  const chunkSize = 64 * 1024;
  function* chunks(): Generator<Buffer> {
    for (let offset = 0, index = 0; offset < size; offset += chunkSize, index++) {
      const chunk = Buffer.alloc(Math.min(chunkSize, size - offset), index % 251);
      chunk.writeUInt32BE(index, 0);
      hash.update(chunk);
      yield chunk;
    }
  }
  return { stream: Readable.from(chunks(), { objectMode: false }), sha256: () => hash.digest('hex') };
}

/** Источник, который отдаёт несколько кусков и затем обрывается ошибкой. */
function failingStream(error: Error): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent < 4) this.push(Buffer.alloc(64 * 1024, ++sent));
      else this.destroy(error);
    },
  });
}

/** Источник, который отдаёт один кусок и замирает; started выполняется, когда его начали читать. */
function stallingStream(): { stream: Readable; started: Promise<void> } {
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  let pushed = false;
  const stream = new Readable({
    read() {
      if (!pushed) {
        pushed = true;
        this.push(Buffer.alloc(64 * 1024, 7));
      } else {
        markStarted();
      }
    },
  });
  return { stream, started };
}

function hasCode(code: ErrorCode): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isArtError(error, code), `ожидалась ArtError ${code}, получено: ${String(error)}`);
    return true;
  };
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of iterable) keys.push(key);
  return keys.sort();
}

export function blobStoreContract(name: string, factory: () => Promise<BlobStoreFixture>): void {
  void describe(`BlobStore contract: ${name}`, () => {
    let fixture: BlobStoreFixture;
    let store: BlobStore;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    async function keys(prefix = ''): Promise<string[]> {
      assert.equal(typeof store.list, 'function', 'хранилище не умеет list');
      return collect(store.list!(prefix));
    }

    /** Видимые ключи; у хранилищ без list видимость проверяют stat и get в самом тесте. */
    async function assertKeys(prefix: string, expected: string[]): Promise<void> {
      if (store.capabilities.list) assert.deepEqual(await keys(prefix), expected);
    }

    void it('объявляет атомарную запись', () => {
      assert.equal(store.capabilities.atomicPut, true);
      assert.equal(typeof store.list === 'function', store.capabilities.list);
    });

    void it('put/get возвращают те же байты (все 256 значений)', async () => {
      const bytes = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 7) % 256));
      const result = await store.put('bin/all-bytes.dat', Readable.from([bytes]));
      assert.equal(result.size, bytes.length);
      assert.deepEqual(await readAll(await store.get('bin/all-bytes.dat')), bytes);
      assert.equal((await store.stat('bin/all-bytes.dat'))?.size, bytes.length);
    });

    void it('пустой файл', async () => {
      assert.equal((await store.put('empty', Readable.from([]))).size, 0);
      assert.equal((await readAll(await store.get('empty'))).length, 0);
      assert.equal((await store.stat('empty'))?.size, 0);
    });

    void it('20 MiB потоком: sha256 совпадает', async () => {
      const size = 20 * MiB;
      const source = generatedStream(size);
      assert.equal((await store.put('big/file.bin', source.stream)).size, size);
      const expected = source.sha256();
      assert.deepEqual(await sha256Of(await store.get('big/file.bin')), { sha256: expected, size });
      assert.equal((await store.stat('big/file.bin'))?.size, size);
    });

    void it('диапазоны: первый байт, середина, последний байт, конец за пределами', async () => {
      const bytes = Buffer.from('0123456789abcdefghij');
      await store.put('range.txt', Readable.from([bytes]));
      const read = async (start: number, end: number) =>
        (await readAll(await store.get('range.txt', { start, end }))).toString();
      assert.equal(await read(0, 0), '0');
      assert.equal(await read(5, 12), '56789abc');
      assert.equal(await read(19, 19), 'j');
      assert.equal(await read(15, 1000), 'fghij');
      await assert.rejects(store.get('range.txt', { start: 20, end: 25 }), hasCode('RANGE_NOT_SATISFIABLE'));
      await assert.rejects(store.get('range.txt', { start: 5, end: 4 }), hasCode('RANGE_NOT_SATISFIABLE'));
    });

    void it('stat: размер и время изменения; отсутствующий ключ → null', async () => {
      const before = Date.now();
      await store.put('s/one', Readable.from([Buffer.alloc(3000, 1)]));
      const info = await store.stat('s/one');
      assert.ok(info);
      assert.equal(info.size, 3000);
      assert.ok(info.modifiedAt instanceof Date);
      assert.ok(info.modifiedAt.getTime() >= before - 2000, 'время изменения не из прошлого');
      assert.equal(await store.stat('s/missing'), null);
      assert.equal(await store.stat('s'), null, 'префикс — не объект');
    });

    void it('перезапись заменяет содержимое целиком', async () => {
      await store.put('over', Readable.from([Buffer.from('длинное старое содержимое')]));
      await store.put('over', Readable.from([Buffer.from('новое')]));
      assert.equal((await readAll(await store.get('over'))).toString(), 'новое');
      assert.equal((await store.stat('over'))?.size, Buffer.byteLength('новое'));
    });

    void it('delete: после него get → BLOB_NOT_FOUND; повторный delete не ошибка', async () => {
      await store.put('d/x', Readable.from([Buffer.from('x')]));
      await store.delete('d/x');
      await assert.rejects(store.get('d/x'), hasCode('BLOB_NOT_FOUND'));
      assert.equal(await store.stat('d/x'), null);
      await store.delete('d/x');
      await store.delete('never/existed');
      await assertKeys('d/', []);
    });

    void it('враждебные ключи отвергаются всеми операциями', async () => {
      const hostile = ['../x', '/abs', 'a/../../b', 'a\\b', 'a\u0000b', 'C:/x', '', 'a/./b', 'a//b'];
      for (const key of hostile) {
        await assert.rejects(
          store.put(key, Readable.from([Buffer.from('evil')])),
          hasCode('BLOB_KEY_INVALID'),
          key,
        );
        await assert.rejects(store.get(key), hasCode('BLOB_KEY_INVALID'), key);
        await assert.rejects(store.stat(key), hasCode('BLOB_KEY_INVALID'), key);
        await assert.rejects(store.delete(key), hasCode('BLOB_KEY_INVALID'), key);
      }
      if (store.list) await assert.rejects(collect(store.list('../')), hasCode('BLOB_KEY_INVALID'));
      await assertKeys('', []);
    });

    void it('оборванный источник: put отклонён, под ключом ничего, прежняя версия цела', async () => {
      const failure = new Error('источник оборвался');
      await assert.rejects(store.put('broken/new', failingStream(failure)), (error) => error === failure);
      assert.equal(await store.stat('broken/new'), null);
      await assert.rejects(store.get('broken/new'), hasCode('BLOB_NOT_FOUND'));

      await store.put('broken/old', Readable.from([Buffer.from('целая версия')]));
      await assert.rejects(store.put('broken/old', failingStream(failure)), (error) => error === failure);
      assert.equal((await readAll(await store.get('broken/old'))).toString(), 'целая версия');
      await assertKeys('', ['broken/old']);
    });

    void it('прерванный put (AbortSignal): отклонён с AbortError, ничего не видно', async () => {
      const controller = new AbortController();
      const source = stallingStream();
      const pending = store.put('aborted/file', source.stream, { signal: controller.signal });
      await source.started;
      controller.abort();
      await assert.rejects(pending, { name: 'AbortError' });
      assert.equal(await store.stat('aborted/file'), null);

      await assert.rejects(
        store.put('aborted/early', Readable.from([Buffer.from('x')]), { signal: AbortSignal.abort() }),
        { name: 'AbortError' },
      );
      assert.equal(await store.stat('aborted/early'), null);
      await assertKeys('', []);
    });

    void it('кириллические ключи', async () => {
      const key = '2026/11/30/10/Отчёт_о_проверке.pdf';
      await store.put(key, Readable.from([Buffer.from('%PDF-1.7')]));
      assert.equal((await readAll(await store.get(key))).toString(), '%PDF-1.7');
      assert.equal((await store.stat(key))?.size, 8);
      await assertKeys('2026/11/', [key]);
    });

    void it('list по префиксу', async (t) => {
      if (!store.list) {
        t.skip('хранилище не умеет list');
        return;
      }
      for (const key of ['a/1', 'a/2', 'a/b/3', 'ab/4', 'b/5'])
        await store.put(key, Readable.from([Buffer.from(key)]));
      assert.deepEqual(await keys(), ['a/1', 'a/2', 'a/b/3', 'ab/4', 'b/5']);
      assert.deepEqual(await keys('a/'), ['a/1', 'a/2', 'a/b/3']);
      assert.deepEqual(await keys('a'), ['a/1', 'a/2', 'a/b/3', 'ab/4']);
      assert.deepEqual(await keys('a/b'), ['a/b/3']);
      assert.deepEqual(await keys('zzz/'), []);
    });
  });
}
