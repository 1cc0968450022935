// Порт хранилища байтов (SPEC SE-10): локальная ФС сейчас, S3 — с задачей SE.
// Только потоки: ни одна операция не буферизует файл целиком.
import type { Readable } from 'node:stream';

export interface BlobStat {
  size: number;
  modifiedAt: Date;
}

export interface ByteRange {
  /** Первый байт включительно. */
  start: number;
  /** Последний байт включительно. */
  end: number;
}

export interface PutResult {
  size: number;
}

export interface BlobStoreCapabilities {
  /** Запись атомарна: частично записанный объект никогда не виден под своим ключом. */
  atomicPut: true;
  /** Поддерживается перечисление ключей (list). */
  list: boolean;
}

export interface BlobStore {
  readonly kind: 'local' | 's3';
  readonly capabilities: BlobStoreCapabilities;
  /**
   * Пишет поток под ключ атомарно и надёжно (для ФС: temp → fsync → rename → fsync каталога).
   * Ключ — относительный путь с '/', без '..' и абсолютных частей; иначе ошибка.
   * Если поток оборвался, ничего не остаётся.
   */
  put(key: string, data: Readable, options?: { signal?: AbortSignal }): Promise<PutResult>;
  /** Поток байтов (или диапазона). Ошибка с кодом BLOB_NOT_FOUND, если ключа нет. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  stat(key: string): Promise<BlobStat | null>;
  /** Удаляет ключ; отсутствие ключа — не ошибка. */
  delete(key: string): Promise<void>;
  /** Все ключи с данным префиксом (если capabilities.list). */
  list?(prefix: string): AsyncIterable<string>;
}
