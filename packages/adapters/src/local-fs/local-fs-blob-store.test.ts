import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { isArtError } from '@artstore/core';
import { blobStoreContract } from '@artstore/core/testing';
import { createLocalFsBlobStore } from './local-fs-blob-store.js';

async function makeRoot(): Promise<{ base: string; root: string }> {
  const base = await mkdtemp(path.join(tmpdir(), 'artstore-blob-'));
  return { base, root: path.join(base, 'root') };
}

blobStoreContract('local-fs', async () => {
  const { base, root } = await makeRoot();
  return {
    store: createLocalFsBlobStore({ root }),
    cleanup: async () => {
      // Ни одна операция контракта не оставляет временных файлов (SPEC SE-3, SE-8).
      const leftovers = await readdir(path.join(root, '.artstore', 'tmp')).catch(() => []);
      await rm(base, { recursive: true, force: true });
      assert.deepEqual(leftovers, [], 'во временном каталоге остались файлы');
    },
  };
});

void describe('local-fs: особенности адаптера', () => {
  let base: string;
  let root: string;

  before(async () => {
    ({ base, root } = await makeRoot());
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  void it('ключ ложится файлом внутри root, враждебный ключ ничего не создаёт снаружи', async () => {
    const store = createLocalFsBlobStore({ root });
    await store.put('2026/11/30/10/doc.txt', Readable.from([Buffer.from('внутри')]));
    assert.equal(await readFile(path.join(root, '2026/11/30/10/doc.txt'), 'utf8'), 'внутри');
    await assert.rejects(store.put('../escaped', Readable.from([Buffer.from('x')])), (e) =>
      isArtError(e, 'BLOB_KEY_INVALID'),
    );
    assert.deepEqual((await readdir(base)).sort(), ['root']);
  });

  void it('пока идёт запись, байты лежат только в tempDir; после — tempDir пуст', async () => {
    const tempDir = path.join(base, 'custom-tmp');
    const store = createLocalFsBlobStore({ root, tempDir });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* slow(): AsyncGenerator<Buffer> {
      yield Buffer.from('первая половина, ');
      await gate;
      yield Buffer.from('вторая половина');
    }
    const pending = store.put('slow/file.txt', Readable.from(slow()));
    // Дожидаемся появления временного файла: до rename под ключом ничего нет (атомарность).
    while ((await readdir(tempDir).catch(() => [])).length === 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(await store.stat('slow/file.txt'), null);
    release();
    assert.equal((await pending).size, Buffer.byteLength('первая половина, вторая половина'));
    assert.deepEqual(await readdir(tempDir), []);
    assert.equal(
      await readFile(path.join(root, 'slow/file.txt'), 'utf8'),
      'первая половина, вторая половина',
    );
  });

  void it('служебный каталог .artstore не виден в list и недоступен как ключ', async () => {
    const store = createLocalFsBlobStore({ root: path.join(base, 'internal') });
    await store.put('visible', Readable.from([Buffer.from('v')]));
    await writeFile(path.join(base, 'internal', '.artstore', 'wal.log'), 'служебное');
    const keys: string[] = [];
    for await (const key of store.list!('')) keys.push(key);
    assert.deepEqual(keys, ['visible']);
    await assert.rejects(store.get('.artstore/wal.log'), (e) => isArtError(e, 'BLOB_KEY_INVALID'));
  });

  void it('символьная ссылка наружу не попадает в list', async () => {
    const dir = path.join(base, 'links');
    const store = createLocalFsBlobStore({ root: dir });
    await store.put('real', Readable.from([Buffer.from('r')]));
    await symlink(base, path.join(dir, 'outside'));
    const keys: string[] = [];
    for await (const key of store.list!('')) keys.push(key);
    assert.deepEqual(keys, ['real']);
  });

  void it('ключ, конфликтующий с каталогом, отвергается и не оставляет мусора', async () => {
    const dir = path.join(base, 'conflict');
    const store = createLocalFsBlobStore({ root: dir });
    await store.put('a/b', Readable.from([Buffer.from('1')]));
    await assert.rejects(store.put('a', Readable.from([Buffer.from('2')])), (e) =>
      isArtError(e, 'BLOB_KEY_INVALID'),
    );
    await assert.rejects(store.put('a/b/c', Readable.from([Buffer.from('3')])), (e) =>
      isArtError(e, 'BLOB_KEY_INVALID'),
    );
    assert.deepEqual(await readdir(path.join(dir, '.artstore', 'tmp')), []);
    await store.delete('a');
    assert.equal(await readFile(path.join(dir, 'a/b'), 'utf8'), '1');
  });

  void it('adopt: файл становится ключом без копии, исходник переживает удаление ключа', async () => {
    const dir = path.join(base, 'adopt');
    const store = createLocalFsBlobStore({ root: dir });
    const partDir = path.join(dir, '.artstore', 'uploads', 'u1');
    await mkdir(partDir, { recursive: true });
    const part = path.join(partDir, 'data');
    await writeFile(part, 'собрано из кусков');
    assert.equal(typeof store.adopt, 'function', 'local-fs умеет adopt');
    const { size } = await store.adopt!(part, '2026/11/30/10/big.bin');
    assert.equal(size, Buffer.byteLength('собрано из кусков'));
    assert.deepEqual(await store.stat('2026/11/30/10/big.bin').then((s) => s?.size), size);
    assert.equal(await text(await store.get('2026/11/30/10/big.bin')), 'собрано из кусков');
    // Тот же inode: байты не переписывались.
    assert.equal((await stat(part)).ino, (await stat(path.join(dir, '2026/11/30/10/big.bin'))).ino);
    // Откат записи (удаление ключа) не трогает исходник — его можно принять снова.
    await store.delete('2026/11/30/10/big.bin');
    assert.equal(await readFile(part, 'utf8'), 'собрано из кусков');
    assert.deepEqual(await readdir(path.join(dir, '.artstore', 'tmp')).catch(() => []), []);
  });

  void it('adopt: занятый или враждебный ключ и отсутствующий исходник отвергаются', async () => {
    const dir = path.join(base, 'adopt-reject');
    const store = createLocalFsBlobStore({ root: dir });
    const part = path.join(base, 'adopt-reject-part');
    await writeFile(part, 'новое');
    await store.put('taken', Readable.from([Buffer.from('старое')]));
    await assert.rejects(store.adopt!(part, 'taken'), (e) => isArtError(e, 'BLOB_KEY_INVALID'));
    assert.equal(await readFile(path.join(dir, 'taken'), 'utf8'), 'старое');
    await assert.rejects(store.adopt!(part, '../escaped'), (e) => isArtError(e, 'BLOB_KEY_INVALID'));
    await assert.rejects(store.adopt!(path.join(base, 'нет-такого'), 'missing'), { code: 'ENOENT' });
    assert.equal(await store.stat('missing'), null);
    assert.deepEqual(
      (await readdir(base)).filter((name) => name.startsWith('escaped')),
      [],
    );
  });

  void it('проверяет опции', () => {
    assert.throws(
      () => createLocalFsBlobStore({ root: '' }),
      (e) => isArtError(e, 'CONFIG_INVALID'),
    );
    assert.throws(
      () => createLocalFsBlobStore({ root, tempDir: ' ' }),
      (e) => isArtError(e, 'CONFIG_INVALID'),
    );
  });
});
