// Запись файла на SE. Порядок (SPEC SE-3): байты во временный файл (fsync) → rename на место →
// attr-файл атомарно → кеш в БД → событие в ленту. Частичная запись не становится видимой:
// BlobStore.put атомарен, а при сбое после него данные и attr удаляются.
// WAL и восстановление после сбоя процесса — задача SE (SE-3, issue 3).
import { finished, Readable } from 'node:stream';
import { ArtError, uuidv7, type BlobStore, type Coordination, type Logger } from '@artstore/core';
import { SE_CHANGES_CHANNEL, type FileMetadata, type SeChangeEvent } from '@artstore/contracts';
import type { FileCache } from '../store/file-cache.js';
import { ATTR_SCHEMA, serializeAttr, type AttrRecord } from './attr.js';
import type { Capacity } from './capacity.js';
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
  capacity: Capacity;
}

export function createFileWriter(deps: FileWriterDeps) {
  return {
    async write(request: WriteRequest): Promise<{ attr: AttrRecord; seq: number }> {
      const reservation = await deps.capacity.reserve(request.declaredLength ?? 0);
      const now = new Date();
      const id = uuidv7(now.getTime());
      const path = storedPath(request.originalName, id, now);
      // Без заявленной длины резерв растёт по мере прихода байтов (SPEC SE-8): иначе chunked-загрузка
      // (файлы из multipart через ingester) писала бы сверх max_size.
      const meter = new HashingMeter(request.declaredLength === undefined ? (total) => reservation.ensure(total) : undefined);
      // Обрыв или ошибка тела разрушают meter — put() тогда удаляет временный файл. Обратного
      // разрушения нет (не pipeline): отказ записи (507, ключ) не рвёт соединение, клиент получает ответ.
      finished(request.body, (error) => {
        if (error) meter.destroy(error);
      });
      // Ошибку meter получает put() своим pipeline, но подключается он не сразу (await mkdir): обрыв тела
      // в этот промежуток без слушателя — необработанное 'error' от pipe(), и падает весь процесс.
      meter.on('error', () => {});
      request.body.pipe(meter);
      try {
        await deps.blobs.put(path, meter);
      } catch (error) {
        reservation.release();
        // Остаток тела читается вхолостую, как Node делает с непрочитанным телом: ответ с ошибкой
        // доходит до клиента, соединение остаётся пригодным. После обрыва клиента это ничего не делает.
        request.body.unpipe(meter);
        request.body.resume();
        throw error;
      }
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
        reservation.commit(attr.size);
        deps.logger.info({ file_id: id, path, size: attr.size, seq }, 'file_stored');
        await deps.coordination
          .publish(SE_CHANGES_CHANNEL, JSON.stringify({ element_id: deps.elementId, seq } satisfies SeChangeEvent))
          .catch((error: unknown) => deps.logger.warn({ err: error }, 'change_publish_failed'));
        return { attr, seq };
      } catch (error) {
        reservation.release();
        await deps.blobs.delete(`${path}${ATTR_SUFFIX}`).catch(() => undefined);
        await deps.blobs.delete(path).catch(() => undefined);
        throw error;
      }
    },
  };
}
export type FileWriter = ReturnType<typeof createFileWriter>;
