// Состояние глобального индекса query-module и его перестроение (SPEC QR-1): GET /api/index,
// POST /api/index/reindex, команда `artstore query reindex`.

/** Следование ленте одного SE. */
export interface IndexElementStatus {
  /** До какого изменения ленты индекс применён этим экземпляром query. */
  last_seq: number;
  /** Голова ленты SE, известная query (события SE и прочитанные страницы). */
  head_seq: number;
  /** head_seq − last_seq. */
  lag: number;
  /** Секунд с момента, когда стало известно о первом неприменённом изменении (0 — догнал). */
  lag_seconds: number;
  /** Эпоха перестроения курсора. */
  epoch: number;
  /** true — перестроение SE ещё идёт: лента не дочитана, неотмеченные строки не убраны. */
  rebuilding: boolean;
}

/** Ответ GET /api/index. */
export interface IndexStatusResponse {
  elements: Record<string, IndexElementStatus>;
}

/** Ответ POST /api/index/reindex (202): новая эпоха и SE, чьи курсоры сброшены. */
export interface IndexRebuildStarted {
  epoch: number;
  elements: string[];
}
