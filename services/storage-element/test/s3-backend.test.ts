// SE на S3 (SPEC SE-10): тот же протокол, что на ФС; данные и attr — объекты бакета с раскладкой SE-1
// под префиксом элемента, а в base_path остаётся только служебное состояние (WAL). Офлайн-перестройка
// кеша (SE-6) находит все файлы по attr-объектам.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { createS3BlobStore, type S3BlobStoreOptions } from '@artstore/adapters';
import { startTestS3Server, uniqueS3Prefix, type TestS3Server } from '@artstore/adapters/testing';
import { loadConfig, type BlobStore } from '@artstore/core';
import { listFiles } from '@artstore/core/testing';
import { LAYOUT_FILES } from '../src/domain/layout.js';
import { rebuildStorageElementCache } from '../src/index.js';
import { uploadOk, type StoredRecord } from './stack.js';
import { ELEMENT_ID, expectProblem, startSe, waitFor, type RunningSe } from './helpers.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('storage-element на S3', () => {
  let s3: TestS3Server;
  let options: S3BlobStoreOptions;
  let blobs: BlobStore;
  let se: RunningSe;
  let admin: string;

  before(async () => {
    s3 = await startTestS3Server();
    options = { ...s3.options, prefix: uniqueS3Prefix('se') };
    blobs = createS3BlobStore(options);
    se = await startSe({ blobs, storage: { type: 's3', s3: { bucket: options.bucket, prefix: options.prefix } } });
    admin = await se.token(['admin']);
  });
  after(async () => {
    await se?.stop();
    await s3?.stop();
  });

  const fileUrl = (record: StoredRecord, suffix = '') => `${se.url}/api/files/${record.id}${suffix}`;
  const authorized = (headers: Record<string, string> = {}) => ({ authorization: `Bearer ${admin}`, ...headers });

  /** Ключи бакета под префиксом SE, увиденные из корня бакета — мимо фильтров хранилища SE. */
  async function bucketKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of createS3BlobStore(s3.options).list!(`${options.prefix}/`)) keys.push(key.slice(options.prefix!.length + 1));
    return keys.sort();
  }

  const records: StoredRecord[] = [];
  const cyrillic = Buffer.from('Акт сверки: ёлка, щука, съезд — 0123456789', 'utf8');
  const cyrillicName = 'Акт сверки №3 «ёлка».txt';
  // Больше части multipart (8 MiB): запись через SE идёт потоком, частями.
  const big = Buffer.alloc(12 * 1024 * 1024, 7);

  it('загрузка: данные и attr — объекты бакета рядом друг с другом, раскладка SE-1', async () => {
    records.push(await uploadOk(se, cyrillic, { token: admin, name: cyrillicName, contentType: 'text/plain; charset=utf-8', metadata: { tags: ['s3'] } }));
    records.push(await uploadOk(se, big, { token: admin, name: 'scan.bin' }));
    const [text, binary] = records as [StoredRecord, StoredRecord];
    assert.equal(text.sha256, sha256(cyrillic));
    assert.equal(binary.size, big.length);
    // safe-stem (SE-1): кириллица остаётся, «№», ««» и «»» становятся «_».
    assert.match(text.path, /^\d{4}\/\d{2}\/\d{2}\/\d{2}\/Акт сверки _3 _ёлка__[0-9a-f-]{36}\.txt$/u);

    const expected = [...LAYOUT_FILES, ...records.flatMap((r) => [r.path, `${r.path}.attr.json`])].sort();
    assert.deepEqual(await bucketKeys(), expected);
    // Служебное состояние — локально: WAL в base_path, данных там нет.
    const local = await listFiles(se.basePath);
    assert.ok(local.every((f) => f.startsWith('.artstore/')), `в base_path лишнее: ${local.join(', ')}`);
    assert.ok((await readdir(`${se.basePath}/.artstore/wal`)).length > 0, 'WAL ведётся в base_path');
  });

  it('выдача целиком и по Range; Content-Disposition с кириллицей', async () => {
    const [text, binary] = records as [StoredRecord, StoredRecord];
    const whole = await fetch(fileUrl(text, '/content'), { headers: authorized() });
    assert.equal(whole.status, 200);
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), cyrillic);
    assert.ok(whole.headers.get('content-disposition')?.includes(encodeURIComponent(cyrillicName)), whole.headers.get('content-disposition') ?? '');

    const first = await fetch(fileUrl(text, '/content'), { headers: authorized({ range: 'bytes=0-0' }) });
    assert.equal(first.status, 206);
    assert.deepEqual(Buffer.from(await first.arrayBuffer()), cyrillic.subarray(0, 1));

    const middle = await fetch(fileUrl(binary, '/content'), { headers: authorized({ range: 'bytes=8388600-8388615' }) });
    assert.equal(middle.status, 206);
    assert.equal(middle.headers.get('content-range'), `bytes 8388600-8388615/${big.length}`);
    assert.deepEqual(Buffer.from(await middle.arrayBuffer()), big.subarray(8388600, 8388616));

    const beyond = await fetch(fileUrl(text, '/content'), { headers: authorized({ range: `bytes=${cyrillic.length}-` }) });
    assert.equal(beyond.headers.get('content-range'), `bytes */${cyrillic.length}`);
    await expectProblem(beyond, 416, 'RANGE_NOT_SATISFIABLE');

    const download = await fetch(fileUrl(binary, '/content'), { headers: authorized() });
    assert.equal(sha256(Buffer.from(await download.arrayBuffer())), sha256(big));
  });

  it('правка метаданных переписывает attr-объект', async () => {
    const [text] = records as [StoredRecord];
    const patched = await fetch(fileUrl(text), {
      method: 'PATCH',
      headers: authorized({ 'content-type': 'application/json', 'if-match': '"v1"' }),
      body: JSON.stringify({ description: 'проверено' }),
    });
    assert.equal(patched.status, 200, await patched.clone().text());
    const attr = JSON.parse(await new Response(await blobs.get(`${text.path}.attr.json`)).text()) as { version: number; metadata: { description: string } };
    assert.equal(attr.version, 2);
    assert.equal(attr.metadata.description, 'проверено');
  });

  it('удаление: данные стираются из бакета, надгробие-attr остаётся', async () => {
    const [, binary] = records as [StoredRecord, StoredRecord];
    const deleted = await fetch(fileUrl(binary, `?reason=${encodeURIComponent('проверка S3')}&override_retention=true`), {
      method: 'DELETE',
      headers: authorized(),
    });
    assert.equal(deleted.status, 200, await deleted.clone().text());
    await waitFor('очистка объекта данных', async () => (await blobs.stat(binary.path)) === null);
    assert.ok(await blobs.stat(`${binary.path}.attr.json`), 'надгробие на месте');
    await expectProblem(await fetch(fileUrl(binary, '/content'), { headers: authorized() }), 404, 'FILE_NOT_FOUND');
  });

  it('офлайн-перестройка кеша по attr-объектам находит все файлы', async () => {
    // Пустой кеш — таблицы с другим префиксом в той же БД (SE-4): всё, что найдётся, взято из бакета.
    const config = loadConfig({
      env: {},
      overrides: {
        data_dir: se.root,
        database: { host: '127.0.0.1', username: 'unused', database: 'unused', table_prefix: 'rebuilt_' },
        storage: { element_id: ELEMENT_ID, type: 's3', s3: { bucket: options.bucket } },
      },
    });
    const summary = await rebuildStorageElementCache({ config, db: se.db, blobs }, false);
    assert.deepEqual(summary.problems, []);
    assert.equal(summary.scanned, records.length);
    assert.deepEqual([...summary.diff.missing].sort(), records.map((r) => r.id).sort());
    const again = await rebuildStorageElementCache({ config, db: se.db, blobs }, true);
    assert.equal(again.unchanged, records.length, 'после применения кеш совпадает с attr-объектами');
  });
});
