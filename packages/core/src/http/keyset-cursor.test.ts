import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isArtError } from '../errors.js';
import { decodeKeysetCursor, encodeKeysetCursor } from './keyset-cursor.js';

const position = { at: '2026-03-01T12:00:00.000Z', id: '01900000-0000-7000-8000-000000000001' };

describe('курсор по ключу (момент, id)', () => {
  it('туда и обратно; без курсора — первая страница', () => {
    assert.deepEqual(decodeKeysetCursor(encodeKeysetCursor(position)), position);
    assert.equal(decodeKeysetCursor(undefined), null);
  });

  it('чужие и испорченные курсоры — VALIDATION_FAILED', () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const bad of [
      'не-курсор',
      encode([position.at]),
      encode(['2026-02-30T00:00:00.000Z', position.id]),
      encode(['1', position.id]),
      encode([position.at, 'x']),
    ]) {
      assert.throws(
        () => decodeKeysetCursor(bad),
        (error) => isArtError(error) && error.code === 'VALIDATION_FAILED',
        bad,
      );
    }
  });
});
