import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from './crc32.js';
import {
  decodeSegment,
  encodeFrame,
  FRAME_HEADER_BYTES,
  MAX_PAYLOAD_BYTES,
  WalError,
  type WalRecord,
} from './record-codec.js';

const AT = '2026-01-02T03:04:05.000Z';
const rec = (tx: string, extra: Record<string, unknown> = {}): WalRecord => ({
  type: 'intent',
  tx,
  epoch: 7,
  at: AT,
  ...extra,
});

function isWalError(code: string) {
  return (error: unknown) => error instanceof WalError && error.code === code;
}

describe('кадр записи WAL', () => {
  it('записи с кириллицей и вложенными полями читаются обратно без изменений', () => {
    const records = [
      rec('a', { op: 'put', path: '2026/01/02/03/Отчёт_x.pdf' }),
      { ...rec('a'), type: 'commit' as const },
    ];
    const bytes = Buffer.concat(records.map(encodeFrame));
    assert.deepEqual(decodeSegment(bytes), { records, validBytes: bytes.length, defect: null });
  });

  it('нагрузка больше 1 MiB отклоняется, ровно 1 MiB принимается', () => {
    const base = Buffer.byteLength(JSON.stringify(rec('a', { pad: '' })));
    const fits = rec('a', { pad: 'x'.repeat(MAX_PAYLOAD_BYTES - base) });
    assert.equal(encodeFrame(fits).length, FRAME_HEADER_BYTES + MAX_PAYLOAD_BYTES);
    assert.throws(
      () => encodeFrame(rec('a', { pad: 'x'.repeat(MAX_PAYLOAD_BYTES - base + 1) })),
      isWalError('WAL_RECORD_TOO_LARGE'),
    );
  });

  it('запись без обязательных полей или с циклом не кодируется', () => {
    assert.throws(() => encodeFrame({ ...rec('a'), epoch: -1 }), isWalError('WAL_RECORD_INVALID'));
    assert.throws(() => encodeFrame({ ...rec('a'), tx: '' }), isWalError('WAL_RECORD_INVALID'));
    assert.throws(
      () => encodeFrame({ ...rec('a'), type: 'drop' as 'intent' }),
      isWalError('WAL_RECORD_INVALID'),
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => encodeFrame(rec('a', { cyclic })), isWalError('WAL_RECORD_INVALID'));
  });

  it('разбор останавливается на первой негодной записи и называет причину', () => {
    const first = encodeFrame(rec('a'));
    const second = encodeFrame(rec('b'));
    const decode = (tail: Buffer) => {
      const result = decodeSegment(Buffer.concat([first, tail]));
      assert.deepEqual(result.records, [rec('a')]);
      assert.equal(result.validBytes, first.length);
      return result.defect;
    };
    assert.equal(decode(second.subarray(0, 5)), 'torn', 'оборван заголовок');
    assert.equal(decode(second.subarray(0, second.length - 1)), 'torn', 'оборвана нагрузка');
    assert.equal(decode(Buffer.alloc(16)), 'length', 'нулевой хвост');
    const huge = Buffer.from(second);
    huge.writeUInt32BE(MAX_PAYLOAD_BYTES + 1, 0);
    assert.equal(decode(huge), 'length');
    const flipped = Buffer.from(second);
    flipped[FRAME_HEADER_BYTES + 3]! ^= 0x01;
    assert.equal(decode(Buffer.concat([flipped, encodeFrame(rec('c'))])), 'checksum');
    // CRC верен, но нагрузка — не запись WAL: ошибка кодировщика, а не диска.
    const alien = encodeFrame(rec('x'));
    const payload = Buffer.from(JSON.stringify({ hello: 1 }));
    const frame = Buffer.concat([alien.subarray(0, FRAME_HEADER_BYTES), payload]);
    frame.writeUInt32BE(payload.length, 0);
    frame.writeUInt32BE(crc32(payload), 4);
    assert.equal(decode(frame), 'json');
  });
});
