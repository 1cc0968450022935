// Ошибки S3 → каталог ArtStore (SPEC X-8): ошибка настройки видна как CONFIG_INVALID с подсказкой,
// нехватка места — 507 (SPEC SE-8), недоступность — 503; прочее (NoSuchKey, 416) разбирает вызывающий.
import { ArtError } from '@artstore/core';

interface S3ErrorShape {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
}

function shape(error: unknown): S3ErrorShape {
  return typeof error === 'object' && error !== null ? error : {};
}

/** Код ошибки S3 (`NoSuchKey`, `NotFound`, …) или сетевой код Node (`ECONNREFUSED`). */
export function s3ErrorName(error: unknown): string | undefined {
  const { name, code } = shape(error);
  if (typeof code === 'string') return code;
  return typeof name === 'string' ? name : undefined;
}

export function s3HttpStatus(error: unknown): number | undefined {
  return shape(error).$metadata?.httpStatusCode;
}

const ACCESS_DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'AllAccessDisabled']);
/** AWS, MinIO и Ceph RGW называют нехватку места по-разному. */
const NO_SPACE = new Set(['EntityTooLarge', 'QuotaExceeded', 'XMinioStorageFull', 'XMinioAdminBucketQuotaExceeded']);
const UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'TimeoutError', 'ServiceUnavailable', 'SlowDown', 'InternalError']);

/** Понятная ошибка ArtError там, где причина известна; иначе исходная ошибка без изменений. */
export function translateS3Error(error: unknown, bucket: string): unknown {
  if (error instanceof ArtError) return error;
  const name = s3ErrorName(error) ?? '';
  if (name === 'NoSuchBucket') {
    return new ArtError('CONFIG_INVALID', `S3: бакета ${JSON.stringify(bucket)} нет — проверьте storage.s3.bucket и endpoint`, { cause: error });
  }
  if (ACCESS_DENIED.has(name)) {
    return new ArtError(
      'CONFIG_INVALID',
      `S3 отказал в доступе к бакету ${JSON.stringify(bucket)} (${name}): проверьте storage.s3.access_key_id, secret_access_key и политику бакета`,
      { cause: error },
    );
  }
  if (NO_SPACE.has(name)) {
    return new ArtError('INSUFFICIENT_STORAGE', `S3 не принял объект: ${name} (бакет ${JSON.stringify(bucket)})`, { cause: error });
  }
  const status = s3HttpStatus(error);
  if (UNAVAILABLE.has(name) || (status !== undefined && status >= 500)) {
    return new ArtError('UPSTREAM_UNAVAILABLE', `S3 недоступен: ${name || `HTTP ${status}`}`, { cause: error });
  }
  return error;
}
