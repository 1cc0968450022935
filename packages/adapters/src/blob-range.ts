// Диапазоны чтения BlobStore (SPEC SE-11) — одинаковые для всех адаптеров: что недостижимо, то 416
// с `Content-Range: bytes */<size>` (RFC 9110 §15.5.17); конец за пределами объекта усекается.
import { ArtError, type ByteRange } from '@artstore/core';

/** Диапазон осмыслен сам по себе, без учёта размера объекта. */
export function isWellFormedRange(range: ByteRange): boolean {
  return Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start;
}

export function rangeNotSatisfiable(range: ByteRange, size: number): ArtError {
  return new ArtError('RANGE_NOT_SATISFIABLE', `Диапазон ${range.start}-${range.end} недостижим для объекта размером ${size}`, {
    headers: { 'content-range': `bytes */${size}` },
  });
}

/** Диапазон в пределах объекта размером size (конец усечён, как в HTTP Range и в S3) или 416. */
export function clampRange(range: ByteRange, size: number): ByteRange {
  if (!isWellFormedRange(range) || range.start >= size) throw rangeNotSatisfiable(range, size);
  return { start: range.start, end: Math.min(range.end, size - 1) };
}
