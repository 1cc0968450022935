// Курсор поиска (SPEC QR-2): keyset по (ключ сортировки, id), как core/http/keyset-cursor, но ключ
// зависит от сортировки, а курсор привязан к сортировке, порядку и отпечатку запроса с фильтрами:
// продолжение выдачи с другими условиями дало бы пропуски и повторы — это 400, а не тихая ошибка.
import { createHash } from 'node:crypto';
import type { SearchOrder, SearchSort } from '@artstore/contracts';
import { ArtError, UUID_PATTERN, canonicalJson, isCanonicalInstant } from '@artstore/core';

export interface SearchPosition {
  /** Значение ключа сортировки последней строки: ISO-момент, имя, размер или ранг. */
  key: string | number;
  id: string;
}

export interface SearchCursorScope {
  sort: SearchSort;
  order: SearchOrder;
  /** Отпечаток запроса и фильтров (searchFingerprint). */
  fingerprint: string;
}

/** Отпечаток всего, что определяет выборку; права сюда не входят — они проверяются на каждой странице. */
export function searchFingerprint(conditions: unknown): string {
  return createHash('sha256').update(canonicalJson(conditions)).digest('base64url').slice(0, 16);
}

export function encodeSearchCursor(scope: SearchCursorScope, position: SearchPosition): string {
  return Buffer.from(
    JSON.stringify([scope.sort, scope.order, scope.fingerprint, position.key, position.id]),
  ).toString('base64url');
}

function validKey(sort: SearchSort, key: unknown): key is string | number {
  switch (sort) {
    case 'created_at':
      return isCanonicalInstant(key);
    case 'name':
      return typeof key === 'string' && key.length <= 4096 && !key.includes('\u0000');
    case 'size':
      return Number.isSafeInteger(key) && (key as number) >= 0;
    case 'relevance':
      return typeof key === 'number' && Number.isFinite(key);
  }
}

/** Курсор из запроса; испорченный или от другой сортировки/фильтров — VALIDATION_FAILED. */
export function decodeSearchCursor(
  cursor: string | undefined,
  scope: SearchCursorScope,
): SearchPosition | null {
  if (cursor === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ArtError('VALIDATION_FAILED', 'cursor: неизвестный формат курсора');
  }
  if (!Array.isArray(parsed) || parsed.length !== 5)
    throw new ArtError('VALIDATION_FAILED', 'cursor: неизвестный формат курсора');
  const [sort, order, fingerprint, key, id] = parsed as unknown[];
  if (sort !== scope.sort || order !== scope.order || fingerprint !== scope.fingerprint) {
    throw new ArtError('VALIDATION_FAILED', 'cursor: выдан для другого запроса, фильтров или сортировки');
  }
  if (!validKey(scope.sort, key) || typeof id !== 'string' || !UUID_PATTERN.test(id)) {
    throw new ArtError('VALIDATION_FAILED', 'cursor: неизвестный формат курсора');
  }
  return { key, id };
}
