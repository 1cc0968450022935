// Значение заголовка SE_HEADERS.encoding (SPEC IN-3): кодировка, в которой SE хранит байты файла, и
// уровень сжатия. Формат — `br` или `br; level=3`; разбирается строго, чужое значение — отказ, а не
// молчаливое хранение как есть.

export type StoredEncoding = 'identity' | 'gzip' | 'br';

export interface StorageEncoding {
  encoding: Exclude<StoredEncoding, 'identity'>;
  /** br 0–11, gzip 1–9; без уровня SE берёт свой по умолчанию. */
  level?: number;
}

const LEVELS = { br: [0, 11], gzip: [1, 9] } as const;

/**
 * Уровни по умолчанию (bench/compression.ts, 64 MiB JSON-строк): br 1 — ≈150 MiB/s на ядро при
 * сжатии до 0,22 (быстрее линии 1 GbE; br 3–4 медленнее вдвое-втрое при выигрыше ≤ 10 %), gzip 4 — ≈100 MiB/s, 0,20.
 */
export const DEFAULT_ENCODING_LEVELS = { br: 1, gzip: 4 } as const;

export function formatStorageEncoding(value: StorageEncoding): string {
  return value.level === undefined ? value.encoding : `${value.encoding}; level=${value.level}`;
}

/** null — значение не распознано или уровень вне допустимого для алгоритма. */
export function parseStorageEncoding(header: string): StorageEncoding | null {
  const match = /^\s*(br|gzip)\s*(?:;\s*level=(\d{1,2})\s*)?$/.exec(header);
  if (!match) return null;
  const encoding = match[1] as StorageEncoding['encoding'];
  if (match[2] === undefined) return { encoding };
  const level = Number(match[2]);
  const [min, max] = LEVELS[encoding];
  return level >= min && level <= max ? { encoding, level } : null;
}
