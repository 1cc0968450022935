// Участник двухфазного переноса файла между SE (SPEC IN-6). Координатор — ingester; здесь только шаги,
// каждый идемпотентен, потому что координатор повторяет их при восстановлении, пока не получит ответ:
// - prepare (целевой SE): байты пишутся обычным писателем (WAL, fsync, attr — SPEC SE-3) в статусе
//   pending, sha256 и размер сверяются с источником до ответа;
// - commit (целевой SE): pending → active новой версией attr (подпись, кеш, лента изменений);
// - abort (целевой SE): pending-копия удаляется целиком; активный файл abort не трогает никогда;
// - transferred (источник): надгробие transferred, байты стирает фоновая очистка (file-deleter.ts).
import type { Readable } from 'node:stream';
import { ArtError, type BlobStore, type JobQueue, type Principal } from '@artstore/core';
import type { StorageEncoding, TransferSource } from '@artstore/contracts';
import type { AttrRecord } from './attr.js';
import type { Capacity } from './capacity.js';
import { enqueuePurge } from './file-deleter.js';
import type { FileWriter } from './file-writer.js';
import { loadActive, type FileChangeDeps } from './metadata-updater.js';
import { ATTR_SUFFIX } from './naming.js';

export interface TransferParticipantDeps extends FileChangeDeps {
  writer: FileWriter;
  blobs: BlobStore;
  capacity: Capacity;
  jobs: JobQueue;
  now?: () => Date;
}

export interface PrepareRequest {
  id: string;
  body: Readable;
  contentLength: number | undefined;
  source: TransferSource;
  principal: Principal;
  /** Кодировка хранения копии по политике ingester (SPEC IN-3): источник отдаёт исходные байты. */
  encoding?: StorageEncoding;
}

export function createTransferParticipant(deps: TransferParticipantDeps) {
  const now = deps.now ?? (() => new Date());

  /** Повтор prepare того же переноса после потерянного ответа: копия уже лежит — ответ прежний. */
  async function samePending(id: string, transferId: string): Promise<AttrRecord | undefined> {
    const current = await deps.cache.get(id);
    return current?.status === 'pending' && current.transfer?.id === transferId ? current : undefined;
  }

  return {
    async prepare(request: PrepareRequest): Promise<AttrRecord> {
      const existing = await samePending(request.id, request.source.transfer_id);
      if (existing) {
        request.body.resume();
        return existing;
      }
      const { attr } = await deps.writer.write({
        id: request.id,
        body: request.body,
        originalName: request.source.name,
        contentType: request.source.content_type,
        declaredLength: request.contentLength,
        metadata: request.source.metadata,
        actor: request.principal.username,
        transfer: request.source,
        encoding: request.encoding,
      });
      deps.logger.info(
        { file_id: attr.id, transfer_id: request.source.transfer_id, size: attr.size },
        'transfer_prepared',
      );
      return attr;
    },

    async commit(id: string, transferId: string, actor: string): Promise<AttrRecord> {
      return deps.lock(id, async () => {
        const current = await deps.cache.get(id);
        // Повтор commit после потерянного ответа: уже активна с этим переносом — успех без новой версии.
        if (current?.status === 'active' && current.transfer?.id === transferId) return current;
        if (current?.status !== 'pending' || current.transfer?.id !== transferId) {
          throw new ArtError(
            'TRANSFER_NOT_PENDING',
            `Файл ${id} на ${deps.elementId} не ждёт фиксации переноса ${transferId}`,
            {
              extra: { status: current?.status ?? null },
            },
          );
        }
        const transfer = { ...current.transfer, committed_at: now().toISOString() };
        const { attr } = await deps.replaceAttr(
          current,
          (next) => ({ ...next, status: 'active', transfer }),
          actor,
        );
        deps.logger.info({ file_id: id, transfer_id: transferId }, 'transfer_committed');
        return attr;
      });
    },

    /**
     * Отмена на целевом SE. Сначала attr (источник истины): без него копия не существует и при перестройке
     * кеша не воскреснет; затем байты и строка кеша. Сбой посреди — повтор abort доделает остальное.
     */
    async abort(id: string, transferId: string): Promise<{ removed: boolean }> {
      return deps.lock(id, async () => {
        const current = await deps.cache.get(id);
        if (!current && deps.writer.inProgress(id)) {
          // Prepare ещё пишет (координатор умер посреди передачи, а тело уже дошло): отмена сейчас
          // разминулась бы с копией, которая появится через миг. Координатор повторит abort позже.
          throw new ArtError('TRANSFER_IN_PROGRESS', `Prepare файла ${id} на ${deps.elementId} ещё идёт`, {
            extra: { transfer_id: transferId },
          });
        }
        if (!current) return { removed: false };
        if (current.status !== 'pending' || current.transfer?.id !== transferId) {
          // Активный файл (зафиксированный перенос или чужой файл с тем же id) abort не трогает.
          throw new ArtError(
            'TRANSFER_NOT_PENDING',
            `Файл ${id} на ${deps.elementId} в статусе ${current.status}: отмена переноса ${transferId} невозможна`,
            {
              extra: { status: current.status },
            },
          );
        }
        await deps.blobs.delete(`${current.path}${ATTR_SUFFIX}`);
        await deps.blobs.delete(current.path);
        await deps.cache.remove(id);
        deps.capacity.free(current.size);
        deps.logger.warn({ file_id: id, transfer_id: transferId }, 'transfer_aborted');
        return { removed: true };
      });
    },

    /** Надгробие на источнике после commit на целевом SE; повтор того же переноса — прежний ответ. */
    async markTransferred(
      id: string,
      transferId: string,
      target: string,
      principal: Principal,
    ): Promise<AttrRecord> {
      deps.modes.assert('transfer_out');
      const attr = await deps.lock(id, async () => {
        const current = await deps.cache.get(id);
        if (current?.status === 'transferred' && current.transfer?.id === transferId) return current;
        const active = await loadActive(deps, id);
        const at = now().toISOString();
        const result = await deps.replaceAttr(
          active,
          (next) => ({
            ...next,
            status: 'transferred',
            transfer: {
              id: transferId,
              source: deps.elementId,
              target,
              by: principal.username,
              at,
              committed_at: at,
              purged_at: null,
            },
          }),
          principal.username,
        );
        deps.logger.warn({ file_id: id, transfer_id: transferId, target }, 'file_transferred_out');
        return result.attr;
      });
      // Задача с тем же jobId при повторе не дублируется; байты стирает общая очистка надгробий.
      if (attr.transfer?.purged_at === null) await enqueuePurge(deps.jobs, deps.elementId, id);
      return attr;
    },
  };
}
export type TransferParticipant = ReturnType<typeof createTransferParticipant>;
