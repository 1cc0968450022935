// Проверка ответа S3 на Range (SPEC SE-11): SE уже пообещал клиенту Content-Range и Content-Length,
// лишний байт из хранилища испортил бы ответ. S3-совместимые сервисы ошибаются (s3rver на `bytes=0-0`
// отдаёт весь объект), поэтому лишнее отрезается, а чужой диапазон — ошибка.
import { Readable } from 'node:stream';
import type { ByteRange } from '@artstore/core';

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;

async function* take(source: Readable, length: number): AsyncGenerator<Buffer> {
  let left = length;
  // Выход из цикла закрывает source: остаток ответа не дочитывается.
  for await (const chunk of source) {
    const bytes = chunk as Buffer;
    yield bytes.length > left ? bytes.subarray(0, left) : bytes;
    left -= Math.min(left, bytes.length);
    if (left === 0) break;
  }
}

/** Тело ровно запрошенного диапазона (конец усечён по размеру объекта) или ошибка. */
export function exactRangeBody(body: Readable, range: ByteRange, contentRange: string | undefined): Readable {
  const match = CONTENT_RANGE.exec(contentRange ?? '');
  const [start, end, size] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [NaN, NaN, NaN];
  const expectedEnd = Math.min(range.end, size - 1);
  if (start !== range.start || !(end >= expectedEnd)) {
    body.destroy();
    throw new Error(`S3 ответил на Range bytes=${range.start}-${range.end} диапазоном ${String(contentRange)}`);
  }
  return end === expectedEnd ? body : Readable.from(take(body, expectedEnd - start + 1), { objectMode: false });
}
