// Любая ошибка → ArtError → RFC 9457 problem+json (SPEC X-8). Клиент никогда не видит стек.
import { ArtError, type ErrorCode } from '../errors.js';

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  validation?: unknown[];
  message?: string;
}

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
  // Ошибки маршрутизатора (через frameworkErrors в server.ts): битое %-кодирование, длинный параметр пути.
  FST_ERR_BAD_URL: 'VALIDATION_FAILED',
  FST_ERR_MAX_PARAM_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
  FST_REQ_FILE_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_PARTS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_FILES_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_FIELDS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

/** Приводит произвольную ошибку к ArtError; неизвестное — INTERNAL_ERROR без подробностей. */
export function toArtError(error: unknown): ArtError {
  if (error instanceof ArtError) return error;
  const e = (error ?? {}) as FastifyLikeError;
  if (Array.isArray(e.validation)) {
    return new ArtError('VALIDATION_FAILED', e.message, { extra: { errors: e.validation } });
  }
  const mapped = e.code === undefined ? undefined : fastifyCodes[e.code];
  if (mapped) return new ArtError(mapped, e.message);
  if (error instanceof SyntaxError && e.statusCode === 400) return new ArtError('MALFORMED_JSON', error.message);
  return new ArtError('INTERNAL_ERROR', 'Внутренняя ошибка; подробности в журнале сервера по request_id', {
    cause: error,
  });
}
