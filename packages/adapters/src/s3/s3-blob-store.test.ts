import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isArtError, type BlobStore } from '@artstore/core';
import { blobStoreContract, freePort } from '@artstore/core/testing';
import { startTestS3Server, uniqueS3Prefix, type TestS3Server } from '../testing/s3-test-server.js';
import { createS3BlobStore, type S3BlobStoreOptions } from './s3-blob-store.js';

const MiB = 1024 * 1024;

let server: Promise<TestS3Server> | undefined;
const s3 = () => (server ??= startTestS3Server());
after(async () => {
  await (await server)?.stop();
});

blobStoreContract('s3 (s3rver)', async () => {
  // Свой префикс на каждый тест: в общем бакете тесты не видят ключей друг друга.
  const store = createS3BlobStore({ ...(await s3()).options, prefix: uniqueS3Prefix('contract') });
  return { store, cleanup: () => Promise.resolve() };
});

function rawClient(options: S3BlobStoreOptions): S3Client {
  return new S3Client({ ...options, requestChecksumCalculation: 'WHEN_REQUIRED' });
}

async function rawKeys(options: S3BlobStoreOptions, prefix: string): Promise<string[]> {
  const page = await rawClient(options).send(new ListObjectsV2Command({ Bucket: options.bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key!).sort();
}

async function keys(store: BlobStore, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const key of store.list!(prefix)) out.push(key);
  return out;
}

const put = (store: BlobStore, key: string, body: string) => store.put(key, Readable.from([Buffer.from(body)]));

interface RecordedRequest {
  method: string;
  query: URLSearchParams;
}

/**
 * Прозрачный HTTP-прокси перед s3rver: видно, какие запросы S3 шлёт адаптер, и сколько байт тел
 * уже ушло серверу. s3rver не умеет ListMultipartUploads, поэтому отмену multipart видно здесь.
 */
async function recordingProxy(target: string): Promise<{ endpoint: string; requests: RecordedRequest[]; sentBytes: () => number; close: () => Promise<void> }> {
  const upstream = new URL(target);
  const requests: RecordedRequest[] = [];
  let sent = 0;
  const proxy: Server = createServer((req, res) => {
    requests.push({ method: req.method!, query: new URL(req.url!, target).searchParams });
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      },
    );
    req.on('data', (chunk: Buffer) => (sent += chunk.length));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    requests,
    sentBytes: () => sent,
    close: () => new Promise((resolve) => proxy.close(() => resolve())),
  };
}

// Живая память — после полной сборки мусора: без неё рост кучи зависит от того, когда сработал GC.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function liveBytes(): number {
  // Второй проход дожидается освобождения буферов, найденных мёртвыми в первом (их чистят в фоне).
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

const isMultipartPart = (r: RecordedRequest) => r.method === 'PUT' && r.query.has('partNumber');

void describe('s3: особенности адаптера', () => {
  let options: S3BlobStoreOptions;
  before(async () => {
    options = (await s3()).options;
  });

  void it('префиксы изолируют хранилища в одном бакете', async () => {
    const firstPrefix = uniqueS3Prefix('iso');
    const a = createS3BlobStore({ ...options, prefix: firstPrefix });
    // Префикс-продолжение («<p>-2») — другое хранилище, а не подкаталог первого.
    const b = createS3BlobStore({ ...options, prefix: `${firstPrefix}-2/` });
    await put(a, 'doc/same.txt', 'первое');
    await put(b, 'doc/same.txt', 'второе');
    await put(b, 'only-b', 'b');
    assert.deepEqual(await keys(a), ['doc/same.txt']);
    assert.deepEqual(await keys(b), ['doc/same.txt', 'only-b']);
    assert.equal(await text(await a.get('doc/same.txt')), 'первое');
    assert.equal(await a.stat('only-b'), null);
    await a.delete('doc/same.txt');
    assert.equal(await text(await b.get('doc/same.txt')), 'второе');
    assert.deepEqual(await rawKeys(options, `${firstPrefix}/`), []);
    assert.deepEqual(await rawKeys(options, `${firstPrefix}-2/`), [`${firstPrefix}-2/doc/same.txt`, `${firstPrefix}-2/only-b`]);
  });

  void it('кириллический ключ лежит в бакете байт в байт под своим префиксом', async () => {
    const prefix = uniqueS3Prefix('cyr');
    const store = createS3BlobStore({ ...options, prefix });
    const key = '2026/11/30/10/Отчёт о проверке_0195f0c1.pdf';
    const attrKey = `${key}.attr.json`;
    await put(store, key, '%PDF');
    await put(store, attrKey, '{}');
    assert.deepEqual(await rawKeys(options, `${prefix}/`), [`${prefix}/${key}`, `${prefix}/${attrKey}`]);
    assert.deepEqual(await keys(store, '2026/11/30/10/Отчёт'), [key, attrKey]);
    assert.equal(await text(await store.get(key, { start: 1, end: 2 })), 'PD');
  });

  void it('служебные ключи .artstore/ и «папки» не видны в list и недоступны как ключи', async () => {
    const prefix = uniqueS3Prefix('internal');
    const store = createS3BlobStore({ ...options, prefix });
    await put(store, 'visible', 'v');
    const raw = rawClient(options);
    for (const Key of [`${prefix}/.artstore/wal.log`, `${prefix}/folder/`]) {
      await raw.send(new PutObjectCommand({ Bucket: options.bucket, Key, Body: 'служебное' }));
    }
    assert.deepEqual(await keys(store), ['visible']);
    assert.deepEqual(await keys(store, '.artstore'), []);
    await assert.rejects(store.get('.artstore/wal.log'), (e) => isArtError(e, 'BLOB_KEY_INVALID'));
  });

  void it('40 MiB — multipart; память записи не растёт с размером файла', async () => {
    const proxy = await recordingProxy(options.endpoint!);
    try {
      // Самые мелкие части (минимум S3) и одна в полёте: граница памяти заметно меньше файла.
      const partSize = 5 * MiB;
      const queueSize = 1;
      const store = createS3BlobStore({ ...options, endpoint: proxy.endpoint, prefix: uniqueS3Prefix('big'), partSize, queueSize });
      const size = 40 * MiB;
      const hash = createHash('sha256');
      // Отставание отправленного от прочитанного — ровно то, что адаптер держит у себя; в отличие от
      // памяти процесса оно не зависит ни от GC, ни от s3rver в том же процессе.
      let produced = 0;
      let maxLag = 0;
      const baseline = liveBytes();
      let peak = baseline;
      function* chunks(): Generator<Buffer> {
        for (let i = 0; produced < size; i++) {
          const chunk = Buffer.alloc(256 * 1024, i % 251);
          hash.update(chunk);
          produced += chunk.length;
          maxLag = Math.max(maxLag, produced - proxy.sentBytes());
          if (i % 16 === 0) peak = Math.max(peak, liveBytes());
          yield chunk;
        }
      }
      assert.equal((await store.put('big.bin', Readable.from(chunks(), { objectMode: false }))).size, size);
      assert.equal(proxy.requests.filter(isMultipartPart).length, size / partSize);
      // Часть в полёте и собираемая: (queueSize + 1) × partSize = 10 MiB, +1 MiB на буферы потоков.
      assert.ok(maxLag <= (queueSize + 1) * partSize + MiB, `не отправлено ${(maxLag / MiB).toFixed(1)} MiB`);
      // Живая память всего процесса (с s3rver и прокси), нестрогая граница: (queueSize + 2) × partSize
      // из комментария адаптера + 4 MiB = 19 MiB; буферизация файла целиком дала бы ≥ 40 MiB.
      const growth = peak - baseline;
      assert.ok(growth <= (queueSize + 2) * partSize + 4 * MiB, `рост живой памяти ${(growth / MiB).toFixed(1)} MiB`);
      const download = createHash('sha256');
      for await (const chunk of await store.get('big.bin')) download.update(chunk as Buffer);
      assert.equal(download.digest('hex'), hash.digest('hex'));
    } finally {
      await proxy.close();
    }
  });

  void it('прерванная multipart-загрузка: объекта нет, AbortMultipartUpload отправлен', async () => {
    const proxy = await recordingProxy(options.endpoint!);
    try {
      const store = createS3BlobStore({ ...options, endpoint: proxy.endpoint, prefix: uniqueS3Prefix('abort') });
      const controller = new AbortController();
      let stalled!: () => void;
      const reachedStall = new Promise<void>((resolve) => (stalled = resolve));
      // Две с лишним части, затем источник замирает (клиент перестал слать тело).
      let sent = 0;
      const source = new Readable({
        read() {
          if (sent < 17 * MiB) {
            sent += MiB;
            this.push(Buffer.alloc(MiB, 1));
          } else stalled();
        },
      });
      const pending = store.put('aborted.bin', source, { signal: controller.signal });
      await reachedStall;
      while (proxy.requests.filter(isMultipartPart).length < 2) await new Promise((r) => setTimeout(r, 10));
      controller.abort();
      await assert.rejects(pending, { name: 'AbortError' });
      assert.ok(source.destroyed, 'источник закрыт');
      const uploadId = proxy.requests.find(isMultipartPart)!.query.get('uploadId');
      assert.ok(
        proxy.requests.some((r) => r.method === 'DELETE' && r.query.get('uploadId') === uploadId),
        'AbortMultipartUpload не отправлен',
      );
      assert.equal(proxy.requests.some((r) => r.method === 'POST' && r.query.has('uploadId')), false, 'CompleteMultipartUpload отправлен');
      assert.equal(await store.stat('aborted.bin'), null);
      assert.deepEqual(await keys(store), []);
    } finally {
      await proxy.close();
    }
  });

  void it('ошибки S3 переводятся в коды каталога', async () => {
    const noBucket = createS3BlobStore({ ...options, bucket: 'no-such-bucket' });
    await assert.rejects(put(noBucket, 'x', 'x'), (e) => isArtError(e, 'CONFIG_INVALID') && /no-such-bucket/.test(e.message));
    await assert.rejects(noBucket.get('x'), (e) => isArtError(e, 'CONFIG_INVALID'));
    await assert.rejects(keys(noBucket), (e) => isArtError(e, 'CONFIG_INVALID'));

    // s3rver не проверяет подпись V4, но знает свои ключи доступа.
    const stranger = createS3BlobStore({ ...options, credentials: { accessKeyId: 'stranger', secretAccessKey: 'secret-value' } });
    await assert.rejects(put(stranger, 'x', 'x'), (e) => isArtError(e, 'CONFIG_INVALID') && !/secret-value/.test(e.message));

    const down = createS3BlobStore({ ...options, endpoint: `http://127.0.0.1:${await freePort()}` });
    await assert.rejects(down.stat('x'), (e) => isArtError(e, 'UPSTREAM_UNAVAILABLE'));
  });

  void it('проверяет опции', () => {
    const invalid: Partial<S3BlobStoreOptions>[] = [
      { bucket: '' },
      { region: ' ' },
      { endpoint: 'not a url' },
      { prefix: '../up' },
      { prefix: '.artstore' },
      { partSize: 4 * MiB },
      { queueSize: 0 },
      { credentials: { accessKeyId: 'a', secretAccessKey: '' } },
    ];
    for (const override of invalid) {
      assert.throws(() => createS3BlobStore({ ...options, ...override }), (e) => isArtError(e, 'CONFIG_INVALID'), JSON.stringify(override));
    }
  });
});
