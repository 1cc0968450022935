// Курсор постраничной выдачи по ключу (момент, id): страница продолжается строго после последней
// записи предыдущей, вставки между запросами не сдвигают и не дублируют выдачу (в отличие от offset).
// Для клиента курсор непрозрачен: base64url от JSON [момент, id].
import { ArtError } from '../errors.js';
import { UUID_PATTERN } from '../ids.js';

export interface KeysetPosition {
  /** Момент в виде toISOString(). */
  at: string;
  id: string;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Момент ровно в записи toISOString (год из 4 цифр) — только такой принимают курсоры: Date.parse в V8
 * принимает и «1», и «2026-02-30», и «+010000-…», а PostgreSQL их отвергает — вышел бы 500 вместо 400.
 */
export function isCanonicalInstant(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    ISO_INSTANT.test(value) &&
    !Number.isNaN(Date.parse(value)) &&
    new Date(value).toISOString() === value
  );
}

export function encodeKeysetCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

/** Разбирает курсор из запроса; чужой или испорченный — VALIDATION_FAILED (400), а не 500 от базы. */
export function decodeKeysetCursor(cursor: string | undefined): KeysetPosition | null {
  if (cursor === undefined) return null;
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (!isCanonicalInstant(at) || typeof id !== 'string' || !UUID_PATTERN.test(id)) {
      throw new Error('bad cursor');
    }
    return { at, id };
  } catch {
    throw new ArtError('VALIDATION_FAILED', 'cursor: неизвестный формат курсора');
  }
}
