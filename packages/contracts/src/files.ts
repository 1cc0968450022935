// Публичные формы данных о файлах (SPEC §9): запись о файле, лента изменений SE, ответы поиска.
// JSON в snake_case, как конфигурация и attr-файлы.

/**
 * pending — копия на целевом SE между prepare и commit переноса (SPEC IN-6): не выдаётся, не считается
 * активной и не попадает в ленту изменений, пока перенос не зафиксирован.
 */
export type FileStatus = 'active' | 'deleted' | 'transferred' | 'pending';

export interface FileMetadata {
  description: string;
  tags: string[];
  /** Свободные пары ключ-значение пользователя. */
  custom: Record<string, string>;
}

/** Запись о файле — то, что видят клиенты (SPEC §9 «A file record»). */
export interface FileRecord {
  id: string;
  name: string;
  content_type: string;
  size: number;
  sha256: string;
  storage_element: string;
  path: string;
  created_at: string;
  created_by: string;
  updated_at: string;
  retention_until: string | null;
  status: FileStatus;
  metadata: FileMetadata;
  version: number;
}

/** Ответ загрузки: запись плюс токен согласованности для read-your-writes (SPEC QR-4). */
export interface UploadedFile extends FileRecord {
  consistency_token: string;
}

export interface UploadResponse {
  files: UploadedFile[];
}

/** Одно изменение в ленте SE (SPEC SE-5): последнее состояние записи с номером изменения. */
export interface ChangeEntry {
  seq: number;
  record: FileRecord;
}

export interface ChangesResponse {
  element_id: string;
  changes: ChangeEntry[];
  /** Номер последнего изменения в выдаче (или `after`, если изменений нет). */
  last_seq: number;
}

/** Подсветка совпадений (SPEC QR-2): текст экранирован от HTML, совпадения — в <mark>…</mark>. */
export interface SearchHighlight {
  name?: string;
  description?: string;
}

export type SearchItem = FileRecord & { highlight?: SearchHighlight };

export type SearchSort = 'relevance' | 'created_at' | 'name' | 'size';
export type SearchOrder = 'asc' | 'desc';

export interface SearchResponse {
  items: SearchItem[];
  next_cursor: string | null;
  total: number;
  /** false — total оценка планировщика: совпадений больше порога точного подсчёта. */
  total_exact: boolean;
  /**
   * Только при sort=relevance и неточном total: ранжированы не все совпадения, а столько самых новых
   * (частый термин — ранг по всем стоил бы секунд).
   */
  relevance_window?: number;
}

/** Подсказка (SPEC QR-3): имя файла, тег или популярный запрос. */
export interface SearchSuggestion {
  kind: 'name' | 'tag' | 'query';
  text: string;
}

export interface SuggestResponse {
  suggestions: SearchSuggestion[];
}

/** consistency_token = «<element_id>:<seq>». */
export function formatConsistencyToken(elementId: string, seq: number): string {
  return `${elementId}:${seq}`;
}

export function parseConsistencyToken(token: string): { elementId: string; seq: number } | null {
  const match = /^([a-z0-9][a-z0-9-]{0,62}):(\d{1,15})$/.exec(token);
  return match ? { elementId: match[1]!, seq: Number(match[2]) } : null;
}

/** Заголовки внутреннего протокола ingester → SE. */
export const SE_HEADERS = {
  /** Исходное имя файла, percent-encoded UTF-8. */
  name: 'artstore-name',
  /** Метаданные пользователя: base64url(JSON FileMetadata). */
  metadata: 'artstore-metadata',
  /** Идентификатор файла, назначенный ingester заранее (сага загрузки, SPEC IN-4); UUID. */
  fileId: 'artstore-file-id',
  /**
   * Кодировка хранения, выбранная ingester по политике сжатия (SPEC IN-3): `br` или `gzip`, по желанию
   * с уровнем — `br; level=3`. SE сжимает тело при записи; без заголовка байты хранятся как есть.
   */
  encoding: 'artstore-encoding',
  /** Перенос между SE (SPEC IN-6): base64url(JSON TransferSource) — запись источника для prepare на целевом SE. */
  transferSource: 'artstore-transfer-source',
} as const;

/** Что целевой SE берёт из записи источника при prepare переноса (SPEC IN-6); sha256 и size сверяются до ответа. */
export interface TransferSource {
  transfer_id: string;
  source_element: string;
  name: string;
  content_type: string;
  size: number;
  sha256: string;
  metadata: FileMetadata;
  created_at: string;
  created_by: string;
  retention_until: string | null;
}

/** Канал координации, в который SE сообщает о новых изменениях: JSON { element_id, seq } (SPEC QR-1). */
export const SE_CHANGES_CHANNEL = 'se.changes';

export interface SeChangeEvent {
  element_id: string;
  seq: number;
}
