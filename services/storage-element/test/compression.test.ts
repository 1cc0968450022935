// Хранение сжатым (SPEC IN-3) на стороне SE: запись с artstore-encoding, выдача исходных байтов тем, кто
// кодировку не принимает (целиком и с Range — распаковка на лету), и сжатых — тем, кто принимает;
// проверка целостности, scrub, rebuild и сверка кеша работают со сжатыми файлами.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { listFiles } from '@artstore/core/testing';
import { lastSeq, type StoredRecord } from './stack.js';
import { expectProblem, listStored, startSe, waitFor, type RunningSe } from './helpers.js';
import { flipByte, maintenanceReport, readStoredAttr, verifyOk } from './integrity-fixture.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Текст, который хорошо сжимается, но не вырожден: строки JSON с номерами. */
function jsonLines(bytes: number): Buffer {
  const lines: string[] = [];
  let total = 0;
  for (let i = 0; total < bytes; i++) {
    const line = `{"n":${i},"msg":"запись журнала номер ${i * 7919}","level":"${i % 3 === 0 ? 'warn' : 'info'}"}\n`;
    lines.push(line);
    total += Buffer.byteLength(line);
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** GET/HEAD через node:http: fetch сам распаковывает Content-Encoding и сам шлёт Accept-Encoding. */
function rawGet(url: string, headers: Record<string, string>, method = 'GET'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** POST на SE телом по частям (chunked, как ingester шлёт файлы из multipart). */
function postChunked(
  se: RunningSe,
  headers: Record<string, string>,
  parts: Buffer[],
): Promise<{ status: number | 'reset'; body: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(`${se.url}/api/files`, { method: 'POST', headers });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', () => resolve({ status: 'reset', body: '' }));
    });
    req.on('error', () => resolve({ status: 'reset', body: '' }));
    for (const part of parts) req.write(part);
    req.end();
  });
}

describe('storage-element: хранение сжатым (SPEC IN-3)', () => {
  let se: RunningSe;
  let admin: string;

  before(async () => {
    se = await startSe({
      storage: { scrub: { rate: '100MiB', interval: '100ms' }, reconcile: { interval: '150ms' } },
    });
    admin = await se.token(['admin']);
  });
  after(() => se.stop());

  async function put(
    body: Buffer,
    encoding: string | undefined,
    name: string,
    contentType = 'text/plain',
  ): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${admin}`,
      'content-type': contentType,
      'artstore-name': encodeURIComponent(name),
    };
    if (encoding !== undefined) headers['artstore-encoding'] = encoding;
    return fetch(`${se.url}/api/files`, { method: 'POST', headers, body });
  }

  async function putOk(body: Buffer, encoding: string | undefined, name: string): Promise<StoredRecord> {
    const response = await put(body, encoding, name);
    const text = await response.text();
    assert.equal(response.status, 201, text);
    return JSON.parse(text) as StoredRecord;
  }

  const content = (id: string, headers: Record<string, string> = {}, method = 'GET') =>
    rawGet(`${se.url}/api/files/${id}/content`, { authorization: `Bearer ${admin}`, ...headers }, method);

  const original = jsonLines(300 * 1024 + 17);
  let file: StoredRecord;

  it('br: в attr размер и sha256 исходных байтов, stored — того, что на диске; на диске сжатое', async () => {
    file = await putOk(original, 'br; level=5', 'журнал.ndjson');
    assert.equal(file.size, original.length);
    assert.equal(file.sha256, sha256(original));
    const attr = await readStoredAttr(se, file.path);
    const disk = await readFile(join(se.basePath, file.path));
    assert.equal(attr.stored.encoding, 'br');
    assert.equal(attr.stored.size, disk.length);
    assert.equal(attr.stored.sha256, sha256(disk));
    assert.ok(disk.length * 4 < original.length, `сжатое ${disk.length} из ${original.length}`);
    assert.ok(brotliDecompressSync(disk).equals(original));
  });

  it('клиент без Accept-Encoding получает исходные байты: Content-Length — исходный, Vary, ETag по sha256', async () => {
    const response = await content(file.id);
    assert.equal(response.status, 200);
    assert.ok(response.body.equals(original));
    assert.equal(response.headers['content-length'], String(original.length));
    assert.equal(response.headers['content-encoding'], undefined);
    assert.equal(response.headers.vary, 'Accept-Encoding');
    assert.equal(response.headers.etag, `"${file.sha256}"`);
    // Явный отказ от br (q=0) и чужая кодировка — тоже исходные байты.
    for (const accept of ['br;q=0, gzip', 'gzip, deflate', 'identity']) {
      const other = await content(file.id, { 'accept-encoding': accept });
      assert.equal(other.headers['content-encoding'], undefined, accept);
      assert.ok(other.body.equals(original), accept);
    }
  });

  it('клиент, принимающий br, получает байты с диска как есть: Content-Encoding, свой ETag, 304 по нему', async () => {
    const disk = await readFile(join(se.basePath, file.path));
    for (const accept of ['br', 'gzip, deflate, br', '*']) {
      const response = await content(file.id, { 'accept-encoding': accept });
      assert.equal(response.status, 200, accept);
      assert.equal(response.headers['content-encoding'], 'br', accept);
      assert.equal(response.headers['content-length'], String(disk.length));
      assert.equal(response.headers.etag, `"${file.sha256}-br"`);
      assert.equal(response.headers.vary, 'Accept-Encoding');
      assert.ok(response.body.equals(disk), accept);
    }
    const head = await content(file.id, { 'accept-encoding': 'br' }, 'HEAD');
    assert.equal(head.headers['content-length'], String(disk.length));
    assert.equal(head.body.length, 0);
    assert.equal(
      (await content(file.id, { 'accept-encoding': 'br', 'if-none-match': `"${file.sha256}-br"` })).status,
      304,
    );
    // ETag сжатого представления не подходит исходному: клиент без br получает файл целиком.
    const stale = await content(file.id, { 'if-none-match': `"${file.sha256}-br"` });
    assert.equal(stale.status, 200);
    assert.ok(stale.body.equals(original));
    assert.equal((await content(file.id, { 'if-none-match': `"${file.sha256}"` })).status, 304);
  });

  it('Range — всегда над исходными байтами (распаковка и пропуск до начала), If-Range по ETag исходных', async () => {
    for (const accept of [undefined, 'br']) {
      const headers: Record<string, string> = { range: 'bytes=100000-100999' };
      if (accept !== undefined) headers['accept-encoding'] = accept;
      const response = await content(file.id, headers);
      assert.equal(response.status, 206, String(accept));
      assert.equal(response.headers['content-encoding'], undefined);
      assert.equal(response.headers['content-range'], `bytes 100000-100999/${original.length}`);
      assert.equal(response.headers['content-length'], '1000');
      assert.ok(response.body.equals(original.subarray(100000, 101000)));
    }
    const tail = await content(file.id, { range: 'bytes=-100' });
    assert.equal(tail.status, 206);
    assert.ok(tail.body.equals(original.subarray(original.length - 100)));
    const first = await content(file.id, { range: 'bytes=0-0' });
    assert.ok(first.body.equals(original.subarray(0, 1)));
    const matching = await content(file.id, { range: 'bytes=5-9', 'if-range': `"${file.sha256}"` });
    assert.equal(matching.status, 206);
    assert.ok(matching.body.equals(original.subarray(5, 10)));
    const mismatching = await content(file.id, { range: 'bytes=5-9', 'if-range': `"${file.sha256}-br"` });
    assert.equal(mismatching.status, 200);
    assert.ok(mismatching.body.equals(original));
    const outside = await content(file.id, { range: `bytes=${original.length}-` });
    assert.equal(outside.status, 416);
    assert.equal(outside.headers['content-range'], `bytes */${original.length}`);
  });

  it('gzip с уровнем; x-gzip — то же, что gzip; пустой файл сжатым отдаётся пустым', async () => {
    const gz = await putOk(original, 'gzip; level=9', 'g.txt');
    const attr = await readStoredAttr(se, gz.path);
    assert.equal(attr.stored.encoding, 'gzip');
    const disk = await readFile(join(se.basePath, gz.path));
    assert.ok(gunzipSync(disk).equals(original));
    const encoded = await content(gz.id, { 'accept-encoding': 'x-gzip' });
    assert.equal(encoded.headers['content-encoding'], 'gzip');
    assert.ok(encoded.body.equals(disk));
    const plain = await content(gz.id, { 'accept-encoding': 'br' });
    assert.ok(plain.body.equals(original));

    const empty = await putOk(Buffer.alloc(0), 'br', 'empty.txt');
    assert.equal(empty.size, 0);
    assert.equal(empty.sha256, sha256(Buffer.alloc(0)));
    const emptyBody = await content(empty.id);
    assert.equal(emptyBody.status, 200);
    assert.equal(emptyBody.body.length, 0);
    assert.equal(emptyBody.headers['content-length'], '0');
  });

  it('chunked-тело (без Content-Length) сжимается так же', async () => {
    const parts = Array.from({ length: 8 }, (_, i) => original.subarray(i * 40_000, (i + 1) * 40_000));
    const body = Buffer.concat(parts);
    const response = await postChunked(
      se,
      {
        authorization: `Bearer ${admin}`,
        'content-type': 'text/plain',
        'artstore-name': 'chunked.txt',
        'artstore-encoding': 'br',
      },
      parts,
    );
    assert.equal(response.status, 201, response.body);
    const record = JSON.parse(response.body) as StoredRecord;
    assert.equal(record.size, body.length);
    assert.equal(record.sha256, sha256(body));
    assert.ok((await content(record.id)).body.equals(body));
  });

  it('проверка по запросу и scrub сверяют stored: целый — ok, перевёрнутый байт на диске — corrupted', async () => {
    const intact = await putOk(original, 'br', 'intact.txt');
    const damaged = await putOk(original, 'gzip', 'damaged.txt');
    assert.equal((await verifyOk(se, intact.id, admin)).verdict, 'ok');
    // Байт в середине сжатого потока: размер прежний, sha256 хранимых байтов — нет.
    const disk = await readFile(join(se.basePath, damaged.path));
    await flipByte(se, damaged.path, Math.floor(disk.length / 2));
    const report = await verifyOk(se, damaged.id, admin);
    assert.equal(report.verdict, 'corrupted');
    assert.deepEqual(
      report.checks.filter((c) => !c.ok).map((c) => c.name),
      ['sha256'],
    );
    // Scrub идёт непрерывно и мог пройти damaged ещё до порчи (тогда там «ok»): ждём прохода после неё.
    await waitFor(
      'scrub прошёл оба файла, испорченный — после порчи',
      async () => {
        const [a, b] = await Promise.all([readStoredAttr(se, intact.path), readStoredAttr(se, damaged.path)]);
        return a.fixity?.at(-1)?.verdict === 'ok' && b.fixity?.at(-1)?.verdict === 'mismatch';
      },
      15_000,
    );
  });

  it('rebuild: сжатый файл без расхождений; потерянная строка кеша восстанавливается из attr со stored', async () => {
    const kept = await putOk(original, 'br', 'kept.txt');
    type Plan = { problems: Array<{ path: string }>; diff: { missing: string[]; stale: string[] } };
    const rebuild = async (query = '') => {
      const response = await fetch(`${se.url}/api/maintenance/rebuild${query}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}` },
      });
      const text = await response.text();
      assert.equal(response.status, 200, text);
      return JSON.parse(text) as Plan;
    };
    const clean = await rebuild();
    assert.ok(
      !clean.diff.missing.includes(kept.id) && !clean.diff.stale.includes(kept.id),
      JSON.stringify(clean.diff),
    );
    assert.ok(!clean.problems.some((p) => p.path === kept.path), JSON.stringify(clean.problems));

    await se.db.query('delete from se_files where id = $1::uuid', [kept.id]);
    assert.equal((await content(kept.id, {}, 'HEAD')).status, 404);
    assert.ok((await rebuild()).diff.missing.includes(kept.id));
    await rebuild('?dry_run=false');
    const restored = await content(kept.id);
    assert.equal(restored.status, 200);
    assert.ok(restored.body.equals(original));
    assert.equal(restored.headers['content-length'], String(original.length));
    const encoded = await content(kept.id, { 'accept-encoding': 'br' });
    assert.ok(encoded.body.equals(await readFile(join(se.basePath, kept.path))));
  });

  it('нет байтов на диске — verify missing, сверка называет файл в отчёте', async () => {
    const gone = await putOk(original, 'br', 'gone.txt');
    await rm(join(se.basePath, gone.path));
    assert.equal((await verifyOk(se, gone.id, admin)).verdict, 'missing');
    await waitFor(
      'сверка нашла пропажу',
      async () => {
        const last = (await maintenanceReport(se, admin)).reconcile.last;
        return last?.problems.some((p) => p.path === gone.path) ?? false;
      },
      10_000,
    );
  });
});

describe('storage-element: сжатие — отказы и граница места (SPEC SE-8)', () => {
  let se: RunningSe;
  let admin: string;

  before(async () => {
    se = await startSe({
      maxSize: 1024 * 1024,
      storage: { scrub: { enabled: false }, reconcile: { enabled: false } },
    });
    admin = await se.token(['admin']);
  });
  after(() => se.stop());

  const put = (body: Buffer, encoding: string, name: string) =>
    fetch(`${se.url}/api/files`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${admin}`,
        'content-type': 'text/plain',
        'artstore-name': name,
        'artstore-encoding': encoding,
      },
      body,
    });

  it('чужое значение artstore-encoding — 400, ничего не записано', async () => {
    const seq = await lastSeq(se, admin);
    const stored = await listStored(se.basePath);
    for (const bad of ['zstd', 'br; level=12', 'gzip; level=0', 'identity', 'br, gzip']) {
      await expectProblem(await put(jsonLines(1000), bad, 'bad.txt'), 400, 'VALIDATION_FAILED');
    }
    assert.equal(await lastSeq(se, admin), seq);
    assert.deepEqual(await listStored(se.basePath), stored);
  });

  it('max_size считается в исходных байтах: 2 МиБ текста (сжатого до килобайтов) — 507, временных файлов нет', async () => {
    const body = jsonLines(2 * 1024 * 1024);
    const response = await fetch(`${se.url}/api/files`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${admin}`,
        'content-type': 'text/plain',
        'artstore-name': 'big.txt',
        'artstore-encoding': 'br',
      },
      body,
    });
    await expectProblem(response, 507, 'INSUFFICIENT_STORAGE');
    // Без заявленной длины резерв растёт по исходным байтам и упирается в max_size посреди тела.
    const chunked = await postChunked(
      se,
      {
        authorization: `Bearer ${admin}`,
        'content-type': 'text/plain',
        'artstore-name': 'big-chunked.txt',
        'artstore-encoding': 'br',
      },
      [body.subarray(0, 600_000), body.subarray(600_000)],
    );
    assert.ok(chunked.status === 507 || chunked.status === 'reset', JSON.stringify(chunked));
    await waitFor('временные файлы убраны', async () => (await listFiles(se.tmpDir)).length === 0);
    assert.deepEqual(await listStored(se.basePath), []);
  });
});
