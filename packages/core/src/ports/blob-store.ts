// Порт хранилища байтов (SPEC SE-10): локальная ФС и S3 (adapters/src/local-fs, adapters/src/s3).
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

export interface PutOptions {
  signal?: AbortSignal;
  /**
   * false — не закреплять запись каталога fsync-ем сейчас: вызывающий обязуется следующим put в тот
   * же каталог (без этого флага) закрепить обе записи одним fsync каталога. Так SE платит за пару
   * «данные + attr» одним fsync каталога, а не двумя. До этого put объект виден, но может не пережить
   * сбой питания. Хранилища без каталогов (S3) флаг игнорируют. По умолчанию true.
   */
  directorySync?: boolean;
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
  put(key: string, data: Readable, options?: PutOptions): Promise<PutResult>;
  /** Поток байтов (или диапазона). Ошибка с кодом BLOB_NOT_FOUND, если ключа нет. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  stat(key: string): Promise<BlobStat | null>;
  /** Удаляет ключ; отсутствие ключа — не ошибка. */
  delete(key: string): Promise<void>;
  /** Все ключи с данным префиксом (если capabilities.list). */
  list?(prefix: string): AsyncIterable<string>;
  /**
   * Только хранилища на локальной ФС: готовый файл localPath (на той же ФС, что и хранилище) становится
   * объектом key без копирования байтов — жёсткой ссылкой, атомарно и надёжно (fsync файла, fsync
   * каталога по тем же правилам directorySync, что у put). Исходный файл остаётся на месте: вызывающий
   * удаляет его сам, когда запись зафиксирована, — откат записи (удаление key) ничего не теряет.
   * Так сборка загрузки tus из кусков не переписывает файл второй раз (SPEC IN-1). Нет метода — только put.
   */
  adopt?(localPath: string, key: string, options?: Pick<PutOptions, 'directorySync'>): Promise<PutResult>;
}
