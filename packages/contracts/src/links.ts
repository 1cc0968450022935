// Временные ссылки на скачивание (SPEC QR-6, §9 POST /api/links): выдаются query-module, действуют без
// входа — право даёт подпись ссылки, а не токен держателя.

/** Срок ссылки, секунд: от 1 секунды до 7 дней, по умолчанию час. */
export const LINK_EXPIRES_IN = { min: 1, max: 7 * 24 * 3600, default: 3600 } as const;

/** Тело POST /api/links. */
export interface CreateLinkRequest {
  file_id: string;
  /** Секунд до истечения (LINK_EXPIRES_IN). */
  expires_in?: number;
  /** Одноразовая: байты выдаются один раз (HEAD ссылку не расходует). */
  single_use?: boolean;
}

/** Ответ POST /api/links (201). */
export interface TemporaryLink {
  /** Идентификатор ссылки: в журнале аудита (link.create, file.download) и в отметке использования. */
  id: string;
  file_id: string;
  token: string;
  /** Путь скачивания от корня публичного API: `/api/links/<token>`. */
  url: string;
  expires_at: string;
  single_use: boolean;
}
