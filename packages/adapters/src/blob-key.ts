// Правила ключей BlobStore (SPEC SE-1, SE-10) — общие для всех адаптеров: ключ, допустимый в одном
// хранилище, допустим и в другом, поэтому корень SE переносится между ФС и S3 без переименований.
import { ArtError } from '@artstore/core';

/** Служебный каталог элемента хранения (SPEC SE-1): не ключ, в list не попадает. */
export const INTERNAL_DIR = '.artstore';

const DRIVE_LETTER = /^[A-Za-z]:/;

export function invalidKey(key: string, why: string): ArtError {
  return new ArtError('BLOB_KEY_INVALID', `Недопустимый ключ ${JSON.stringify(key)}: ${why}`);
}

export function blobNotFound(key: string, cause?: unknown): ArtError {
  return new ArtError('BLOB_NOT_FOUND', `Объект ${JSON.stringify(key)} не найден`, { cause });
}

/**
 * Ключ — относительный путь через '/'. Всё, что на какой-либо ОС может увести путь из корня или
 * сделать один ключ синонимом другого, отвергается заранее, а не «чинится».
 */
export function keySegments(key: string, { allowPartialTail }: { allowPartialTail: boolean }): string[] {
  if (typeof key !== 'string') throw invalidKey(String(key), 'ключ должен быть строкой');
  if (key === '' && !allowPartialTail) throw invalidKey(key, 'пустой ключ');
  if (key.includes('\0')) throw invalidKey(key, 'символ NUL');
  if (key.includes('\\')) throw invalidKey(key, 'обратная косая черта');
  if (key.startsWith('/')) throw invalidKey(key, 'абсолютный путь');
  if (DRIVE_LETTER.test(key)) throw invalidKey(key, 'буква диска');
  const segments = key.split('/');
  // У префикса list последний сегмент — начало имени (может быть пустым после '/'), не путь.
  const checked = allowPartialTail ? segments.slice(0, -1) : segments;
  for (const segment of checked) {
    if (segment === '') throw invalidKey(key, 'пустой сегмент пути');
    if (segment === '.' || segment === '..') throw invalidKey(key, `сегмент "${segment}"`);
  }
  if (segments[0] === INTERNAL_DIR && (segments.length > 1 || !allowPartialTail)) {
    throw invalidKey(key, `каталог ${INTERNAL_DIR} служебный`);
  }
  return segments;
}

/**
 * Может ли найденный при перечислении объект быть отдан list: служебное состояние и то, что нельзя
 * адресовать ключом (в S3 — «папки» `a/` из консолей и чужих утилит), наружу не выходят.
 */
export function isListableKey(key: string): boolean {
  try {
    keySegments(key, { allowPartialTail: false });
    return true;
  } catch {
    return false;
  }
}
