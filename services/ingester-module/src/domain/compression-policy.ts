// Политика сжатия на лету (SPEC IN-3): по типу содержимого и заявленной длине решает, в какой
// кодировке SE будет хранить файл. Сжимается то, что сжимается хорошо (текст, JSON, XML, старые
// форматы Office, SVG, BMP …); уже сжатое (архивы, OOXML/ODF — это zip, PDF, JPEG/PNG, аудио, видео)
// и неизвестное (application/octet-stream) — никогда: повторное сжатие тратит CPU и не даёт места.
import type { Config } from '@artstore/core';
import {
  DEFAULT_ENCODING_LEVELS,
  formatStorageEncoding,
  SE_HEADERS,
  type StorageEncoding,
} from '@artstore/contracts';

export type CompressionSettings = Config['ingester']['compression'];

export interface CompressionPolicy {
  /** undefined — хранить как есть. declaredLength неизвестна (multipart, chunked) — решает только тип. */
  choose(contentType: string, declaredLength: number | undefined): StorageEncoding | undefined;
  /** Заголовок запроса к SE с выбранной кодировкой хранения (сжимает SE при записи) или пустой объект. */
  headers(contentType: string, declaredLength: number | undefined): Record<string, string>;
}

export function createCompressionPolicy(settings: CompressionSettings): CompressionPolicy {
  const compress = settings.compress.map(globPattern);
  const never = settings.never.map(globPattern);
  const chosen: StorageEncoding = {
    encoding: settings.algorithm,
    level: settings.level ?? DEFAULT_ENCODING_LEVELS[settings.algorithm],
  };
  function choose(contentType: string, declaredLength: number | undefined): StorageEncoding | undefined {
    if (!settings.enabled) return undefined;
    if (declaredLength !== undefined && declaredLength < settings.min_size) return undefined;
    const type = mediaType(contentType);
    if (type === undefined || never.some((p) => p.test(type))) return undefined;
    return compress.some((p) => p.test(type)) ? chosen : undefined;
  }
  return {
    choose,
    headers(contentType, declaredLength): Record<string, string> {
      const encoding = choose(contentType, declaredLength);
      return encoding === undefined ? {} : { [SE_HEADERS.encoding]: formatStorageEncoding(encoding) };
    },
  };
}

/** `Text/HTML; charset=utf-8` → `text/html`; не `type/subtype` — undefined (не сжимаем непонятное). */
function mediaType(contentType: string): string | undefined {
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type) ? type : undefined;
}

/** Шаблон типа: `*` — любые символы (`text/*`, `*+json`, `application/vnd.oasis.opendocument.*`). */
function globPattern(pattern: string): RegExp {
  const escaped = pattern
    .trim()
    .toLowerCase()
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`);
}
