import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { crc32 } from './crc32.js';

describe('crc32 (кадры WAL, SPEC SE-3)', () => {
  it('контрольное значение IEEE: crc32("123456789") = 0xCBF43926', () => {
    assert.equal(crc32('123456789'), 0xcbf43926);
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(''), 0);
  });

  it('совпадает с zlib.crc32 на случайных данных, где он есть', (t) => {
    const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
    if (native === undefined) return t.skip('в этой версии Node нет zlib.crc32');
    for (const size of [1, 7, 64, 1000, 65_537]) {
      const data = randomBytes(size);
      assert.equal(crc32(data), native(data), `размер ${size}`);
    }
  });
});
