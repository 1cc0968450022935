// Записи индекса для тестов поиска: строки «других SE» кладутся прямо в индекс стенда тем же путём,
// что и ленты (FileIndex.apply), — так проверяются фильтры по SE и права по грантам (SPEC QR-2, QR-8).
import { randomUUID } from 'node:crypto';
import type { FileMetadata, FileRecord, FileStatus } from '@artstore/contracts';
import { createFileIndex } from '../src/store/file-index.js';
import type { QueryStack } from './harness.js';

export interface RecordSpec {
  element: string;
  name: string;
  content_type?: string;
  size?: number;
  created_at: string;
  created_by?: string;
  retention_until?: string | null;
  status?: FileStatus;
  metadata?: Partial<FileMetadata>;
}

export function recordOf(spec: RecordSpec): FileRecord {
  const id = randomUUID();
  return {
    id,
    name: spec.name,
    content_type: spec.content_type ?? 'application/octet-stream',
    size: spec.size ?? 1,
    sha256: 'a'.repeat(64),
    storage_element: spec.element,
    path: `2026/01/01/00/${id}`,
    created_at: spec.created_at,
    created_by: spec.created_by ?? 'tester',
    updated_at: spec.created_at,
    retention_until: spec.retention_until ?? null,
    status: spec.status ?? 'active',
    metadata: { description: '', tags: [], custom: {}, ...spec.metadata },
    version: 1,
  };
}

/** Кладёт записи в индекс стенда; записи одного SE — одной пачкой ленты. */
export async function indexRecords(stack: QueryStack, records: readonly FileRecord[]): Promise<void> {
  const index = createFileIndex(stack.db);
  for (const element of new Set(records.map((r) => r.storage_element))) {
    const own = records.filter((r) => r.storage_element === element);
    const { last_seq, epoch } = await index.cursor(element);
    await index.apply(
      element,
      own.map((record, i) => ({ seq: last_seq + i + 1, record })),
      last_seq + own.length,
      epoch,
    );
  }
}
