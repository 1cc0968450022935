// Запись файла на SE. Порядок (SPEC SE-3): байты во временный файл (fsync) → rename на место →
// attr-файл атомарно → кеш в БД → событие в ленту. Частичная запись не становится видимой:
// BlobStore.put атомарен, а при сбое после него данные и attr удаляются.
// WAL и восстановление после сбоя процесса — задача SE (SE-3, issue 3).
import { statfs } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { ArtError, formatSize, uuidv7, type BlobStore, type Coordination, type Logger } from '@artstore/core';
import { SE_CHANGES_CHANNEL, type FileMetadata, type SeChangeEvent } from '@artstore/contracts';
import type { FileCache } from '../store/file-cache.js';
import { ATTR_SCHEMA, serializeAttr, type AttrRecord } from './attr.js';
import { HashingMeter } from './hashing-meter.js';
import { ATTR_SUFFIX, storedPath } from './naming.js';

export interface WriteRequest {
  body: Readable;
  originalName: string;
  contentType: string;
  declaredLength: number | undefined;
  metadata: FileMetadata;
  actor: string;
}

export interface FileWriterDeps {
  elementId: string;
  blobs: BlobStore;
  cache: FileCache;
  coordination: Coordination;
  logger: Logger;
  maxSizeBytes: number;
  basePath: string;
}

export function createFileWriter(deps: FileWriterDeps) {
  async function assertCapacity(declared: number): Promise<void> {
    const used = await deps.cache.usedBytes();
    const fs = await statfs(deps.basePath);
    const diskFree = fs.bavail * fs.bsize;
    const limitFree = deps.maxSizeBytes - used;
    const available = Math.min(limitFree, diskFree);
    if (declared > available) {
      throw new ArtError(
        'INSUFFICIENT_STORAGE',
        `На ${deps.elementId} нет места: нужно ${formatSize(declared)}, доступно ${formatSize(Math.max(0, available))} ` +
          `(занято ${formatSize(used)} из ${formatSize(deps.maxSizeBytes)}, свободно на диске ${formatSize(diskFree)})`,
        { extra: { element_id: deps.elementId, required_bytes: declared, available_bytes: Math.max(0, available), used_bytes: used, max_bytes: deps.maxSizeBytes, disk_free_bytes: diskFree } },
      );
    }
  }

  return {
    async write(request: WriteRequest): Promise<{ attr: AttrRecord; seq: number }> {
      await assertCapacity(request.declaredLength ?? 0);
      const now = new Date();
      const id = uuidv7(now.getTime());
      const path = storedPath(request.originalName, id, now);
      const meter = new HashingMeter();
      // pipeline разрушает meter при ошибке или обрыве тела — put() тогда удаляет временный файл.
      pipeline(request.body, meter, () => {});
      await deps.blobs.put(path, meter);
      try {
        if (request.declaredLength !== undefined && meter.bytes !== request.declaredLength) {
          throw new ArtError(
            'UPLOAD_LENGTH_MISMATCH',
            `Заявлено ${request.declaredLength} байт, получено ${meter.bytes}`,
          );
        }
        const sha256 = meter.digest();
        const stamp = now.toISOString();
        const attr: AttrRecord = {
          schema: ATTR_SCHEMA,
          id,
          element_id: deps.elementId,
          path,
          original_name: request.originalName,
          content_type: request.contentType,
          size: meter.bytes,
          sha256,
          stored: { encoding: 'identity', size: meter.bytes, sha256 },
          created_at: stamp,
          created_by: request.actor,
          updated_at: stamp,
          updated_by: request.actor,
          retention_until: null,
          status: 'active',
          metadata: request.metadata,
          version: 1,
        };
        await deps.blobs.put(`${path}${ATTR_SUFFIX}`, Readable.from([serializeAttr(attr)]));
        const seq = await deps.cache.upsert(attr);
        deps.logger.info({ file_id: id, path, size: attr.size, seq }, 'file_stored');
        await deps.coordination
          .publish(SE_CHANGES_CHANNEL, JSON.stringify({ element_id: deps.elementId, seq } satisfies SeChangeEvent))
          .catch((error: unknown) => deps.logger.warn({ err: error }, 'change_publish_failed'));
        return { attr, seq };
      } catch (error) {
        await deps.blobs.delete(`${path}${ATTR_SUFFIX}`).catch(() => undefined);
        await deps.blobs.delete(path).catch(() => undefined);
        throw error;
      }
    },
  };
}
export type FileWriter = ReturnType<typeof createFileWriter>;
