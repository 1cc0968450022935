// Сжатие хранимых байтов (SPEC IN-3): SE сжимает тело при записи, если ingester попросил (заголовок
// artstore-encoding), и отдаёт исходные байты клиенту, который кодировку хранения не принимает, —
// распаковывая на лету, потоком, без буферизации файла.
import { Readable, pipeline } from 'node:stream';
import {
  constants,
  createBrotliCompress,
  createBrotliDecompress,
  createGunzip,
  createGzip,
  type BrotliOptions,
} from 'node:zlib';
import { DEFAULT_ENCODING_LEVELS, type StorageEncoding, type StoredEncoding } from '@artstore/contracts';

export function createEncoder({ encoding, level }: StorageEncoding, sizeHint?: number) {
  if (encoding === 'gzip') return createGzip({ level: level ?? DEFAULT_ENCODING_LEVELS.gzip });
  const params: NonNullable<BrotliOptions['params']> = {
    [constants.BROTLI_PARAM_QUALITY]: level ?? DEFAULT_ENCODING_LEVELS.br,
  };
  // Подсказка размера помогает brotli выбрать окно; не влияет на результат распаковки.
  if (sizeHint !== undefined) params[constants.BROTLI_PARAM_SIZE_HINT] = sizeHint;
  return createBrotliCompress({ params });
}

function createDecoder(encoding: Exclude<StoredEncoding, 'identity'>) {
  return encoding === 'gzip' ? createGunzip() : createBrotliDecompress();
}

/**
 * Исходные байты [start, end] из хранимого потока: распаковка с начала и пропуск до start (сжатый поток
 * не позволяет прыгнуть к смещению). После end чтение хранимых байтов прекращается.
 */
export function decodedSlice(
  stored: Readable,
  encoding: Exclude<StoredEncoding, 'identity'>,
  range?: { start: number; end: number },
): Readable {
  // Ошибку (повреждённые байты, обрыв клиента) получает потребитель из decoded; колбэк лишь гасит её.
  const decoded = pipeline(stored, createDecoder(encoding), () => undefined);
  if (range === undefined) return decoded;
  return Readable.from(slice(decoded, range.start, range.end), { objectMode: false });
}

async function* slice(source: Readable, start: number, end: number): AsyncGenerator<Buffer> {
  let position = 0;
  // Выход из цикла уничтожает распаковку, а pipeline — и поток хранимых байтов.
  for await (const chunk of source as AsyncIterable<Buffer>) {
    const chunkEnd = position + chunk.length;
    if (chunkEnd > start)
      yield chunk.subarray(Math.max(0, start - position), Math.min(chunk.length, end + 1 - position));
    position = chunkEnd;
    if (position > end) return;
  }
}

/**
 * Принимает ли клиент кодировку по Accept-Encoding (RFC 9110 §12.5.3): явное упоминание с q > 0 или
 * `*` с q > 0, если кодировка не упомянута явно. Нет заголовка — не принимает: такой клиент (curl без
 * --compressed) ждёт исходные байты.
 */
export function acceptsEncoding(header: string | undefined, encoding: string): boolean {
  if (header === undefined) return false;
  let wildcard: number | undefined;
  for (const item of header.split(',')) {
    const [token, ...params] = item.split(';').map((part) => part.trim().toLowerCase());
    if (!token) continue;
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    const weight = Number.isFinite(q) ? q : 0;
    if (token === encoding || (encoding === 'gzip' && token === 'x-gzip')) return weight > 0;
    if (token === '*') wildcard = weight;
  }
  return wildcard !== undefined && wildcard > 0;
}
