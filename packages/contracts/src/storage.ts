// Состояние элемента хранения для администраторов и аудиторов: место (SPEC SE-8, BY-5) и сроки
// хранения (SPEC SE-9, BY-4).
import type { FileRecord } from './files.js';

/** GET /api/capacity на SE. */
export interface CapacityStatus {
  element_id: string;
  /** Занято активными файлами и не стёртыми ещё удалёнными. */
  used_bytes: number;
  /** Зарезервировано идущими загрузками. */
  reserved_bytes: number;
  max_bytes: number;
  /** Свободно на файловой системе (statfs); null — у хранилища нет statfs (S3). */
  disk_free_bytes: number | null;
  disk_used_percent: number | null;
  /** Запас ФС для WAL и attr, недоступный загрузкам (storage.capacity.headroom). */
  headroom_bytes: number;
  /** Сколько может занять следующая загрузка. */
  available_bytes: number;
  /** Заполнение в %: по max_size или по ФС — что больше. */
  usage_percent: number;
  /** 0 или наибольший пройденный порог storage.capacity.alarm_thresholds. */
  alarm_level: number;
  alarm_thresholds: number[];
}

/** GET /api/retention/expiring и /api/retention/expired на SE: активные файлы по сроку хранения. */
export interface RetentionListResponse {
  element_id: string;
  /** Момент, от которого считано «истекает» и «истёк». */
  as_of: string;
  /** Граница выборки: retention_until ≤ until (для истёкших — as_of). */
  until: string;
  /** По возрастанию retention_until. */
  files: FileRecord[];
  next_cursor: string | null;
}
