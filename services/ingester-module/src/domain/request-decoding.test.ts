import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { ArtError } from '@artstore/core';
import { decodeRequestBody, maxDecodedLength, requestEncoding } from './request-decoding.js';

const LIMITS = { max_ratio: 10, allowance: 64 * 1024, max_size: 1024 * 1024 };

const isCode = (code: string) => (error: unknown) => error instanceof ArtError && error.code === code;

describe('Content-Encoding тела загрузки (SPEC IN-1)', () => {
  it('кодировки: gzip, x-gzip, br, deflate; identity и пусто — как есть; прочее и цепочки — 415', () => {
    assert.equal(requestEncoding(undefined), undefined);
    assert.equal(requestEncoding('identity'), undefined);
    assert.equal(requestEncoding(' GZIP '), 'gzip');
    assert.equal(requestEncoding('x-gzip'), 'x-gzip');
    assert.equal(requestEncoding('br'), 'br');
    assert.equal(requestEncoding('deflate'), 'deflate');
    assert.equal(requestEncoding('identity, br'), 'br');
    for (const bad of ['zstd', 'compress', 'gzip, br', '__proto__', 'toString']) {
      assert.throws(() => requestEncoding(bad), isCode('UNSUPPORTED_CONTENT_ENCODING'), bad);
    }
  });

  it('распаковка в пределах границы — исходные байты', async () => {
    // Повтор одной фразы сжимается в тысячи раз: граница пропорции здесь заведомо не мешает.
    const text = Buffer.from('строка, которая сжимается; '.repeat(4000));
    for (const [coding, encode] of [
      ['gzip', gzipSync],
      ['br', brotliCompressSync],
      ['deflate', deflateSync],
    ] as const) {
      const decoded = await buffer(
        decodeRequestBody(Readable.from([encode(text)]), coding, { ...LIMITS, max_ratio: 1_000_000 }),
      );
      assert.ok(decoded.equals(text), coding);
    }
  });

  it('allowance + max_ratio × сжатых: граница по прочитанному, а не по заявленному', async () => {
    // 200 КиБ нулей сжимаются в сотни байтов: 64 КиБ + 10 × сотни байтов их не пропускают.
    const zeros = gzipSync(Buffer.alloc(200 * 1024));
    await assert.rejects(
      buffer(decodeRequestBody(Readable.from([zeros]), 'gzip', LIMITS)),
      isCode('CONTENT_ENCODING_BOMB'),
    );
    // Те же нули в пределах allowance проходят.
    const small = gzipSync(Buffer.alloc(60 * 1024));
    assert.equal((await buffer(decodeRequestBody(Readable.from([small]), 'gzip', LIMITS))).length, 60 * 1024);
  });

  it('max_size — предел независимо от пропорции', async () => {
    const random = Buffer.alloc(2 * 1024 * 1024, 'абвгдежзийклмноп');
    await assert.rejects(
      buffer(decodeRequestBody(Readable.from([gzipSync(random, { level: 0 })]), 'gzip', LIMITS)),
      isCode('CONTENT_ENCODING_BOMB'),
    );
    assert.equal(maxDecodedLength(10, LIMITS), 64 * 1024 + 100);
    assert.equal(maxDecodedLength(10_000_000, LIMITS), LIMITS.max_size);
  });

  it('испорченный поток — VALIDATION_FAILED; обрыв источника — ошибка, а не обрезанный файл', async () => {
    const broken = gzipSync(Buffer.alloc(10_000, 'x'));
    broken.fill(0xff, 10, 40);
    await assert.rejects(
      buffer(decodeRequestBody(Readable.from([broken]), 'gzip', LIMITS)),
      isCode('VALIDATION_FAILED'),
    );

    const source = new Readable({ read() {} });
    source.push(gzipSync(Buffer.alloc(1000)).subarray(0, 20));
    const decoded = buffer(decodeRequestBody(source, 'gzip', LIMITS));
    setImmediate(() => source.destroy(new Error('aborted')));
    await assert.rejects(decoded);
  });
});
