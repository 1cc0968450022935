// Тело сырой загрузки с Content-Encoding (SPEC IN-1, RFC 9110 §8.4): ingester распаковывает его потоком
// и хранит файл — распакованные байты. Сжатая бомба (10 ГиБ нулей в 10 МиБ gzip) упирается в границу:
// распакованных байтов не больше allowance + max_ratio × сжатых и не больше max_size — иначе
// CONTENT_ENCODING_BOMB до того, как SE успеет получить лишнее; память не растёт (backpressure).
import { finished, pipeline, Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { ArtError, type Config } from '@artstore/core';

export type ContentEncodingLimits = Config['ingester']['content_encoding'];

const DECODERS = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  br: createBrotliDecompress,
  // RFC 9110 §8.4.1.2: deflate — поток zlib (RFC 1950), а не «голый» deflate.
  deflate: createInflate,
} as const;

/** Ответ с отказом закрывает соединение: недочитанное тело (возможно, гигабайты) не читается вхолостую. */
const CLOSE = { connection: 'close' };

/**
 * Кодировка тела из заголовка: undefined — тело как есть (нет заголовка или identity). Несколько
 * кодировок подряд и неизвестные — UNSUPPORTED_CONTENT_ENCODING (415, RFC 9110 §15.5.16).
 */
export function requestEncoding(header: string | undefined): keyof typeof DECODERS | undefined {
  if (header === undefined) return undefined;
  const codings = header
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return undefined;
  const [coding] = codings;
  if (codings.length > 1 || !Object.hasOwn(DECODERS, coding!)) {
    throw new ArtError(
      'UNSUPPORTED_CONTENT_ENCODING',
      `Content-Encoding «${header}»: поддерживаются gzip, br, deflate — по одному`,
      {
        headers: { 'accept-encoding': 'gzip, br, deflate', ...CLOSE },
      },
    );
  }
  return coding as keyof typeof DECODERS;
}

/** Наибольшая длина распакованного тела из encodedLength сжатых байтов — для выбора SE по месту (IN-2). */
export function maxDecodedLength(encodedLength: number, limits: ContentEncodingLimits): number {
  return Math.min(limits.max_size, limits.allowance + limits.max_ratio * encodedLength);
}

/**
 * Распаковка тела с границей. Источник не разрушается (это тело HTTP-запроса: его разрушение закрыло бы
 * сокет до ответа) — при отказе чтение просто прекращается, ответ уходит с Connection: close.
 */
export function decodeRequestBody(
  source: Readable,
  coding: keyof typeof DECODERS,
  limits: ContentEncodingLimits,
): Readable {
  let encoded = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      encoded += chunk.length;
      callback(null, chunk);
    },
  });
  // Обрыв тела клиентом — ошибка распаковки, иначе поток ждал бы вечно.
  finished(source, (error) => {
    if (error) counter.destroy(error);
  });
  source.pipe(counter);
  const decoded = pipeline(counter, DECODERS[coding](), () => undefined);

  async function* bounded(): AsyncGenerator<Buffer> {
    let total = 0;
    try {
      for await (const chunk of decoded as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > maxDecodedLength(encoded, limits)) {
          throw new ArtError(
            'CONTENT_ENCODING_BOMB',
            `Тело распаковалось больше ${total} байт из ${encoded} сжатых: предел — ${limits.max_ratio}× + ` +
              `${limits.allowance} байт, не больше ${limits.max_size}`,
            { headers: CLOSE },
          );
        }
        yield chunk;
      }
    } catch (error) {
      if (error instanceof ArtError) throw error;
      throw new ArtError('VALIDATION_FAILED', `Тело не распаковывается как ${coding}`, {
        cause: error,
        headers: CLOSE,
      });
    } finally {
      source.unpipe(counter);
    }
  }
  return Readable.from(bounded(), { objectMode: false });
}
