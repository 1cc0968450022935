// Правка метаданных файла на SE (SPEC IN-8): оптимистичная блокировка по версии (If-Match); правки
// одного файла идут по очереди, новая версия attr — через replaceAttr.
import { ArtError, type Logger } from '@artstore/core';
import { normalizeMetadata } from '@artstore/contracts';
import type { FileCache } from '../store/file-cache.js';
import type { WriteAheadLog } from '../wal/index.js';
import type { AttrRecord } from './attr.js';
import type { ReplaceAttr } from './attr-replacer.js';
import type { KeyedLock } from './keyed-lock.js';
import type { ModeController } from './mode-controller.js';

export interface MetadataPatch {
  description?: string;
  tags?: string[];
  custom?: Record<string, string>;
}

export interface FileChangeDeps {
  elementId: string;
  cache: FileCache;
  logger: Logger;
  wal: WriteAheadLog;
  modes: ModeController;
  lock: KeyedLock;
  replaceAttr: ReplaceAttr;
}

/** Общая проверка перед изменением записи: запись не остановлена, файл есть и активен. */
export async function loadActive(deps: Pick<FileChangeDeps, 'elementId' | 'cache' | 'wal'>, id: string): Promise<AttrRecord> {
  if (deps.wal.failed) throw new ArtError('STORAGE_WRITES_STOPPED', `SE ${deps.elementId} не принимает запись после сбоя журнала`);
  const current = await deps.cache.get(id);
  if (!current || current.status !== 'active') throw new ArtError('FILE_NOT_FOUND', `Файл ${id} не найден`);
  return current;
}

export function createMetadataUpdater(deps: FileChangeDeps) {
  return {
    async update(id: string, expectedVersion: number, patch: MetadataPatch, actor: string): Promise<{ attr: AttrRecord; seq: number }> {
      deps.modes.assert('update_metadata');
      return deps.lock(id, async () => {
        const current = await loadActive(deps, id);
        if (current.version !== expectedVersion) {
          throw new ArtError('PRECONDITION_FAILED', `Версия файла ${current.version}, а If-Match требует ${expectedVersion}`, {
            extra: { current_version: current.version },
            headers: { etag: metadataEtag(current.version) },
          });
        }
        const metadata = normalizeMetadata({ ...current.metadata, ...patch });
        const result = await deps.replaceAttr(current, (next) => ({ ...next, metadata }), actor);
        deps.logger.info({ file_id: id, version: result.attr.version, seq: result.seq }, 'file_metadata_updated');
        return result;
      });
    },
  };
}
export type MetadataUpdater = ReturnType<typeof createMetadataUpdater>;

/** ETag версии метаданных: "v<версия>" (отличается от ETag байтов — sha256). */
export function metadataEtag(version: number): string {
  return `"v${version}"`;
}

/** If-Match: "v3" → 3; иначе null. */
export function parseMetadataIfMatch(header: string | undefined): number | null {
  const match = /^\s*"v(\d{1,9})"\s*$/.exec(header ?? '');
  return match ? Number(match[1]) : null;
}
