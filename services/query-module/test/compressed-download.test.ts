// Выдача сжатого на SE файла (SPEC IN-3) через прокси query-module: Accept-Encoding уходит к SE,
// Content-Encoding и Vary возвращаются клиенту; без br — исходные байты, Range — над исходными.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { brotliDecompressSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { FileRecord } from '@artstore/contracts';
import { rawGet } from '@artstore/core/testing';
import { startQueryStack, waitIndexed, type QueryStack } from './harness.js';

const TIMEOUT = { timeout: 20_000 };

let stack: QueryStack;
let readerToken: string;

before(async () => {
  stack = await startQueryStack({
    sharedCoordination: true,
    pollIntervalMs: 60_000,
    consistencyWaitMs: 1000,
  });
  readerToken = await stack.issuer.mint({ name: 'reader-1', roles: ['reader'] });
});

after(async () => {
  await stack?.close();
});

describe('сжатый файл через прокси выдачи (IN-3, QR-6)', () => {
  const text = Buffer.from('строка журнала, которая хорошо сжимается\n'.repeat(8000));
  let file: FileRecord & { seq: number };

  before(async () => {
    // Запись прямо на SE по внутреннему протоколу, как её делает ingester для сжимаемого типа.
    const response = await fetch(`${stack.seUrl}/api/files`, {
      method: 'POST',
      body: text,
      headers: {
        authorization: `Bearer ${stack.adminToken}`,
        'content-type': 'text/plain',
        'artstore-name': 'journal.txt',
        'artstore-encoding': 'br',
      },
    });
    assert.equal(response.status, 201, await response.clone().text());
    file = (await response.json()) as FileRecord & { seq: number };
    await waitIndexed(stack, file.seq, 5000);
  });

  const content = (headers: Record<string, string> = {}) =>
    rawGet(`${stack.queryUrl}/api/files/${file.id}/content`, {
      authorization: `Bearer ${readerToken}`,
      ...headers,
    });

  it('без Accept-Encoding — исходные байты и их длина; Vary: Accept-Encoding', TIMEOUT, async () => {
    const response = await content();
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-encoding'], undefined);
    assert.equal(response.headers['content-length'], String(text.length));
    assert.equal(response.headers.vary, 'Accept-Encoding');
    assert.equal(response.headers.etag, `"${createHash('sha256').update(text).digest('hex')}"`);
    assert.ok(response.body.equals(text));
  });

  it('Accept-Encoding: br — сжатые байты с Content-Encoding и своим ETag', TIMEOUT, async () => {
    const response = await content({ 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-encoding'], 'br');
    assert.equal(response.headers.vary, 'Accept-Encoding');
    assert.equal(response.headers.etag, `"${file.sha256}-br"`);
    assert.equal(response.headers['content-length'], String(response.body.length));
    assert.ok(response.body.length * 10 < text.length);
    assert.ok(brotliDecompressSync(response.body).equals(text));
  });

  it('Range с Accept-Encoding: br — 206 над исходными байтами', TIMEOUT, async () => {
    const response = await content({ 'accept-encoding': 'br', range: 'bytes=1000-1999' });
    assert.equal(response.status, 206);
    assert.equal(response.headers['content-encoding'], undefined);
    assert.equal(response.headers['content-range'], `bytes 1000-1999/${text.length}`);
    assert.ok(response.body.equals(text.subarray(1000, 2000)));
  });
});
