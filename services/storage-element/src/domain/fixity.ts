// Проверка хранимых байтов файла (SPEC SE-6 scrub, QR-7 verify): потоковое перехеширование и сравнение
// размера и sha256 с attr (stored — то, что лежит на носителе, в своей кодировке).
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isArtError, type BlobStore } from '@artstore/core';
import type { AttrRecord, FixityEntry } from './attr.js';
import { HashingMeter } from './hashing-meter.js';
import { Throttle, type RateLimiter } from './throttle.js';

export interface StoredBytesCheck {
  verdict: FixityEntry['verdict'];
  /** Фактические размер и sha256; null — байтов нет. */
  size: number | null;
  sha256: string | null;
}

export interface HashOptions {
  /** Ограничение скорости чтения (scrub); verify читает без него — его ждёт вызывающий. */
  limiter?: RateLimiter;
  signal?: AbortSignal;
}

export async function checkStoredBytes(blobs: BlobStore, attr: AttrRecord, options: HashOptions = {}): Promise<StoredBytesCheck> {
  let source: Readable;
  try {
    source = await blobs.get(attr.path);
  } catch (error) {
    if (isArtError(error, 'BLOB_NOT_FOUND')) return { verdict: 'missing', size: null, sha256: null };
    throw error;
  }
  const meter = new HashingMeter();
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const throttle = options.limiter ? [new Throttle(options.limiter, options.signal)] : [];
  await pipeline([source, ...throttle, meter, discard], { signal: options.signal });
  const sha256 = meter.digest();
  const intact = meter.bytes === attr.stored.size && sha256 === attr.stored.sha256;
  return { verdict: intact ? 'ok' : 'mismatch', size: meter.bytes, sha256 };
}
