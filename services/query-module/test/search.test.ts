// Интеграционные тесты query-module (SPEC QR-1, QR-2, QR-4, QR-6, §9): настоящий SE в том же процессе,
// общая с ним координация — события SE будят query. Опрос редкий (60 с), поэтому всё, что индекс
// успевает раньше, — заслуга событий или ожидания по consistency_token.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FileRecord, SearchResponse, UploadedFile } from '@artstore/contracts';
import { seqOf } from '@artstore/storage-element/testing';
import {
  expectProblem,
  startQueryStack,
  uploadToSe,
  waitIndexed,
  type QueryStack,
} from './harness.js';

const TIMEOUT = { timeout: 20_000 };
const CONSISTENCY_WAIT_MS = 1000;

let stack: QueryStack;
let readerToken: string;

before(async () => {
  stack = await startQueryStack({ sharedCoordination: true, pollIntervalMs: 60_000, consistencyWaitMs: CONSISTENCY_WAIT_MS });
  readerToken = await stack.issuer.mint({ name: 'reader-1', roles: ['reader'] });
});

after(async () => {
  await stack?.close();
});

function get(path: string, init: { token?: string | null; headers?: Record<string, string>; method?: string } = {}) {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? readerToken : init.token;
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${stack.queryUrl}${path}`, { headers, method: init.method ?? 'GET' });
}

async function search(params: Record<string, string | number>): Promise<{ body: SearchResponse; response: Response }> {
  const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
  const response = await get(`/api/search?${qs.toString()}`);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return { body: JSON.parse(text) as SearchResponse, response };
}

// Read-your-writes (QR-4) и пробуждение событиями — test/consistency.test.ts.

// Полнотекстовый поиск, фильтры, сортировки и пагинация — search-fulltext/search-filters/search-suggest.test.ts.

function stripToken(file: UploadedFile): FileRecord {
  const { consistency_token: _token, ...record } = file;
  return record;
}

describe('запись о файле и байты (§9, QR-6)', () => {
  let file: UploadedFile;
  const bytes = Buffer.concat([Buffer.from('0123456789'), randomBytes(300 * 1024)]);

  before(async () => {
    file = await uploadToSe(stack, 'Скан договора.bin', bytes, { contentType: 'application/x-scan', metadata: { tags: ['договор'] } });
    await waitIndexed(stack, seqOf(file), 5000);
  });

  it('GET /api/files/{id} — запись как на SE', TIMEOUT, async () => {
    const response = await get(`/api/files/${file.id}`);
    assert.equal(response.status, 200);
    const record = (await response.json()) as FileRecord;
    assert.deepEqual(record, stripToken(file));
    const onSe = await fetch(`${stack.seUrl}/api/files/${file.id}`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    assert.deepEqual(record, await onSe.json());
  });

  it('неизвестный id → 404 FILE_NOT_FOUND; не UUID → 400 VALIDATION_FAILED', TIMEOUT, async () => {
    const unknown = randomUUID();
    await expectProblem(await get(`/api/files/${unknown}`), 404, 'FILE_NOT_FOUND');
    await expectProblem(await get(`/api/files/${unknown}/content`), 404, 'FILE_NOT_FOUND');
    await expectProblem(await get('/api/files/not-a-uuid'), 400, 'VALIDATION_FAILED');
    await expectProblem(await get('/api/files/not-a-uuid/content'), 400, 'VALIDATION_FAILED');
    await expectProblem(await get(`/api/files/${file.id.toUpperCase()}`), 400, 'VALIDATION_FAILED');
  });

  it('GET content отдаёт байты с ETag, типом и именем', TIMEOUT, async () => {
    const response = await get(`/api/files/${file.id}/content`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('etag'), `"${file.sha256}"`);
    assert.equal(response.headers.get('content-type'), 'application/x-scan');
    assert.equal(response.headers.get('content-length'), String(bytes.length));
    assert.equal(response.headers.get('accept-ranges'), 'bytes');
    assert.ok(
      (response.headers.get('content-disposition') ?? '').includes(`filename*=UTF-8''${encodeURIComponent('Скан договора.bin')}`),
      response.headers.get('content-disposition') ?? '',
    );
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes), 'байты отличаются');
  });

  it('Range bytes=0-4 → 206 и Content-Range; открытый диапазон с конца', TIMEOUT, async () => {
    const head = await get(`/api/files/${file.id}/content`, { headers: { range: 'bytes=0-4' } });
    assert.equal(head.status, 206);
    assert.equal(head.headers.get('content-range'), `bytes 0-4/${bytes.length}`);
    assert.equal(head.headers.get('content-length'), '5');
    assert.equal(await head.text(), '01234');

    const tail = await get(`/api/files/${file.id}/content`, { headers: { range: 'bytes=-7' } });
    assert.equal(tail.status, 206);
    assert.equal(tail.headers.get('content-range'), `bytes ${bytes.length - 7}-${bytes.length - 1}/${bytes.length}`);
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 7)));
  });

  it('If-None-Match с текущим ETag → 304 без тела; с чужим → 200', TIMEOUT, async () => {
    const notModified = await get(`/api/files/${file.id}/content`, { headers: { 'if-none-match': `"${file.sha256}"` } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get('etag'), `"${file.sha256}"`);
    assert.equal((await notModified.arrayBuffer()).byteLength, 0);

    const changed = await get(`/api/files/${file.id}/content`, { headers: { 'if-none-match': '"0000"' } });
    assert.equal(changed.status, 200);
    assert.equal((await changed.arrayBuffer()).byteLength, bytes.length);
  });

  it('диапазон за концом файла → 416 с Content-Range: bytes */<size>', TIMEOUT, async () => {
    const response = await get(`/api/files/${file.id}/content`, { headers: { range: `bytes=${bytes.length + 10}-` } });
    assert.equal(response.headers.get('content-range'), `bytes */${bytes.length}`);
    await expectProblem(response, 416, 'RANGE_NOT_SATISFIABLE');
  });

  it('HEAD — заголовки с Content-Length, без тела', TIMEOUT, async () => {
    const response = await get(`/api/files/${file.id}/content`, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), String(bytes.length));
    assert.equal(response.headers.get('etag'), `"${file.sha256}"`);
    assert.equal((await response.arrayBuffer()).byteLength, 0);
  });

  it('без files:read (roles: []) → 403 FORBIDDEN на поиск, запись и байты; без токена → 401', TIMEOUT, async () => {
    const nobody = await stack.issuer.mint({ roles: [] });
    for (const path of [`/api/search?q=x`, `/api/files/${file.id}`, `/api/files/${file.id}/content`]) {
      const problem = await expectProblem(await get(path, { token: nobody }), 403, 'FORBIDDEN');
      assert.equal(problem.permission, 'files:read');
      await expectProblem(await get(path, { token: null }), 401, 'AUTH_TOKEN_MISSING');
    }
    // У ответа на HEAD нет тела: проверяем статус.
    assert.equal((await get(`/api/files/${file.id}/content`, { token: nobody, method: 'HEAD' })).status, 403);
  });

  it('сервисный токен запрошен у admin один раз и переиспользуется', TIMEOUT, () => {
    assert.equal(stack.tokenRequests, 1);
  });

  // Последним: останавливает SE до конца файла.
  it('SE недоступен: выдача байтов — быстрый 503 problem+json, поиск и запись — из индекса', TIMEOUT, async () => {
    await stack.stopStorageElement();
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const response = await get(`/api/files/${file.id}/content`);
      const elapsed = performance.now() - started;
      await expectProblem(response, 503, ['UPSTREAM_UNAVAILABLE', 'CIRCUIT_OPEN']);
      assert.ok(elapsed < 500, `отказ занял ${elapsed.toFixed(0)} мс`);
    }
    const { body } = await search({ q: 'договора' });
    assert.deepEqual(body.items.map((i) => i.id), [file.id]);
    const record = await get(`/api/files/${file.id}`);
    assert.equal(record.status, 200);
  });
});
