// Внутренний API возобновляемых загрузок ingester → SE (SPEC IN-1, BY-6): части загрузки tus живут на
// том SE, которому достанется файл, поэтому ingester остаётся без состояния.
import type { FileRecord } from './files.js';

export const UPLOAD_SESSION_HEADERS = {
  /** Полная длина файла, байт (tus Upload-Length). */
  length: 'upload-length',
  /** Смещение, с которого идёт кусок (tus Upload-Offset). */
  offset: 'upload-offset',
  /** `<алгоритм> <base64>` — контрольная сумма куска (tus checksum). */
  checksum: 'upload-checksum',
  /** Тип содержимого будущего файла: у POST сессии тела нет, Content-Type не годится. */
  contentType: 'artstore-content-type',
} as const;

/** Алгоритмы Upload-Checksum (tus checksum extension), в порядке предпочтения. */
export const UPLOAD_CHECKSUM_ALGORITHMS = ['sha256', 'sha1', 'md5'] as const;

/** Сессия возобновляемой загрузки на SE. */
export interface UploadSessionView {
  id: string;
  element_id: string;
  owner: string;
  name: string;
  content_type: string;
  length: number;
  offset: number;
  created_at: string;
  expires_at: string;
  /** Идентификатор будущего файла: назначен при создании, после завершения — id файла. */
  file_id: string;
  finished: boolean;
}

/** Ответ SE на кусок: сессия и, если кусок был последним, запись о файле с номером изменения. */
export interface UploadPatchResult extends UploadSessionView {
  /** seq — номер изменения в ленте SE; null, если файл был записан раньше (повтор завершения после сбоя). */
  file?: FileRecord & { seq: number | null };
}

export interface UploadSessionList {
  element_id: string;
  sessions: UploadSessionView[];
}
