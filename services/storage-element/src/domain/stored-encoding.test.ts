import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { acceptsEncoding, createEncoder, decodedSlice } from './stored-encoding.js';

describe('Accept-Encoding (RFC 9110 §12.5.3)', () => {
  it('явное упоминание с q > 0, * для неупомянутых, q=0 — отказ, без заголовка — нет', () => {
    assert.equal(acceptsEncoding(undefined, 'br'), false);
    assert.equal(acceptsEncoding('', 'br'), false);
    assert.equal(acceptsEncoding('br', 'br'), true);
    assert.equal(acceptsEncoding('gzip, deflate, BR', 'br'), true);
    assert.equal(acceptsEncoding('br;q=0', 'br'), false);
    assert.equal(acceptsEncoding('br; q=0.001', 'br'), true);
    assert.equal(acceptsEncoding('*', 'gzip'), true);
    assert.equal(acceptsEncoding('*;q=0', 'gzip'), false);
    assert.equal(acceptsEncoding('br;q=0, *', 'br'), false, 'явный отказ сильнее *');
    assert.equal(acceptsEncoding('x-gzip', 'gzip'), true);
    assert.equal(acceptsEncoding('identity', 'br'), false);
    assert.equal(acceptsEncoding('br;q=abc', 'br'), false);
  });
});

describe('decodedSlice: диапазон исходных байтов из сжатого потока', () => {
  const original = Buffer.concat(
    Array.from({ length: 40 }, () => Buffer.concat([randomBytes(1000), Buffer.alloc(3000, 'z')])),
  );

  for (const encoding of ['br', 'gzip'] as const) {
    it(`${encoding}: любые границы, в том числе поперёк кусков, первый и последний байт`, async () => {
      const chunks: Buffer[] = [];
      await pipeline(
        Readable.from([original]),
        createEncoder({ encoding }),
        async (source: AsyncIterable<Buffer>) => {
          for await (const chunk of source) chunks.push(chunk);
        },
      );
      const stored = Buffer.concat(chunks);
      const cases = [
        [0, 0],
        [0, original.length - 1],
        [16383, 16384],
        [65535, 70000],
        [original.length - 1, original.length - 1],
        [12345, 123456],
      ] as const;
      for (const [start, end] of cases) {
        const slice = await buffer(
          decodedSlice(Readable.from([stored.subarray(0, 7), stored.subarray(7)]), encoding, { start, end }),
        );
        assert.ok(slice.equals(original.subarray(start, end + 1)), `${start}-${end}`);
      }
      assert.ok((await buffer(decodedSlice(Readable.from([stored]), encoding))).equals(original));
    });
  }

  it('испорченный поток — ошибка, а не обрезанный результат', async () => {
    const chunks: Buffer[] = [];
    await pipeline(
      Readable.from([original]),
      createEncoder({ encoding: 'gzip' }),
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) chunks.push(chunk);
      },
    );
    const stored = Buffer.concat(chunks);
    stored.fill(0xff, 20, 200);
    await assert.rejects(buffer(decodedSlice(Readable.from([stored]), 'gzip')));
  });
});
