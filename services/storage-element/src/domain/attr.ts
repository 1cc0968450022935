// attr.json — единственный источник истины о файле (SPEC SE-2). Версионированная схема;
// кеш в БД и все индексы строятся из этих файлов.
import { createHash } from 'node:crypto';
import type { FileMetadata, FileRecord, FileStatus } from '@artstore/contracts';
import { canonicalJson } from '@artstore/core';
import type { AttrIntegrity } from './attr-signing.js';

export const ATTR_SCHEMA = 'artstore.attr/v1';

export interface AttrRecord {
  schema: typeof ATTR_SCHEMA;
  id: string;
  element_id: string;
  path: string;
  original_name: string;
  content_type: string;
  size: number;
  sha256: string;
  stored: { encoding: 'identity' | 'gzip' | 'br'; size: number; sha256: string };
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
  retention_until: string | null;
  status: FileStatus;
  metadata: FileMetadata;
  version: number;
  /**
   * Надгробие удалённого файла (SPEC SE-9, BY-4) — свидетельство удаления: кто, когда, почему,
   * какая была контрольная сумма и срок хранения, был ли срок преодолён администратором; purged_at —
   * когда байты стёрты. attr остаётся навсегда.
   */
  deletion?: {
    at: string;
    by: string;
    reason: string;
    sha256: string;
    size: number;
    retention_until: string | null;
    retention_overridden: boolean;
    purged_at: string | null;
  };
  /**
   * Перенос между SE (SPEC IN-6): на целевом SE — с prepare (status pending, committed_at: null до
   * commit), на источнике — в надгробии transferred (purged_at — когда байты стёрты очисткой).
   */
  transfer?: AttrTransfer;
  /**
   * История проверок целостности байтов (SPEC BY-3): каждый итог scrub дописывается в конец, ничего
   * не удаляется. Необязательное поле: attr без него остаются верными, подписи не меняются.
   */
  fixity?: FixityEntry[];
  /** Векторные часы записи: element_id → счётчик изменений на этом SE (SPEC SE-2, SE-3). */
  vector_clock: Record<string, number>;
  /** Подпись над каноническим JSON остальных полей (SPEC SE-2). */
  integrity: AttrIntegrity;
}

export interface AttrTransfer {
  id: string;
  source: string;
  target: string;
  by: string;
  at: string;
  committed_at: string | null;
  purged_at: string | null;
}

export type UnsignedAttr = Omit<AttrRecord, 'integrity'>;

/** Итог одной проверки байтов: mismatch — размер или sha256 хранимых байтов не совпали с attr. */
export interface FixityEntry {
  at: string;
  algorithm: 'sha256';
  verdict: 'ok' | 'mismatch' | 'missing';
  by: 'scrub';
}

export function recordFromAttr(attr: AttrRecord): FileRecord {
  return {
    id: attr.id,
    name: attr.original_name,
    content_type: attr.content_type,
    size: attr.size,
    sha256: attr.sha256,
    storage_element: attr.element_id,
    path: attr.path,
    created_at: attr.created_at,
    created_by: attr.created_by,
    updated_at: attr.updated_at,
    retention_until: attr.retention_until,
    status: attr.status,
    metadata: attr.metadata,
    version: attr.version,
  };
}

/** Отпечаток содержимого attr: строка кеша «свежая», если он совпадает с отпечатком файла. */
export function attrDigest(attr: AttrRecord): string {
  return createHash('sha256').update(canonicalJson(attr)).digest('hex');
}

/** Сериализация attr: ключи по алфавиту и отступы — стабильный, читаемый человеком вид. */
export function serializeAttr(attr: AttrRecord): Buffer {
  return Buffer.from(`${JSON.stringify(sortKeys(attr), null, 2)}\n`, 'utf8');
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
