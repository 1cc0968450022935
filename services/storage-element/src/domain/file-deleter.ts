// Удаление на SE (SPEC SE-7, SE-9, IN-5, BY-4): только в режиме edit; до retention_until — отказ,
// кроме явного override_retention (право files:purge проверяет маршрут; отмечается в надгробии).
// Удаление мягкое: attr получает статус deleted и надгробие, байты стираются позже фоновой задачей
// очистки (purge), после чего в надгробии отмечается purged_at. attr не удаляется никогда — это свидетельство удаления.
import { ArtError, systemActor, type AuditClient, type BlobStore, type JobQueue, type Principal } from '@artstore/core';
import type { AttrRecord } from './attr.js';
import type { Capacity } from './capacity.js';
import { loadActive, type FileChangeDeps } from './metadata-updater.js';

export interface DeleteRequest {
  id: string;
  reason: string;
  overrideRetention: boolean;
  principal: Principal;
}

export interface FileDeleterDeps extends FileChangeDeps {
  jobs: JobQueue;
  capacity: Capacity;
  blobs: BlobStore;
  /** Стирание байтов — событие аудита (SPEC AD-9) от имени фоновой задачи. */
  audit: AuditClient;
  now?: () => Date;
}

export function purgeQueueName(elementId: string): string {
  return `se-purge-${elementId}`;
}

export function createFileDeleter(deps: FileDeleterDeps) {
  const now = deps.now ?? (() => new Date());
  const queue = purgeQueueName(deps.elementId);

  return {
    async delete(request: DeleteRequest): Promise<{ attr: AttrRecord; seq: number }> {
      deps.modes.assert('delete');
      const result = await deps.lock(request.id, async () => {
        const current = await loadActive(deps, request.id);
        const retained = current.retention_until !== null && Date.parse(current.retention_until) > now().getTime();
        if (retained && !request.overrideRetention) {
          throw new ArtError('RETENTION_ACTIVE', `Файл ${current.id} хранится до ${current.retention_until}`, {
            extra: { retention_until: current.retention_until },
          });
        }
        const at = now().toISOString();
        return deps.replaceAttr(
          current,
          (next) => ({
            ...next,
            status: 'deleted',
            deletion: {
              at,
              by: request.principal.username,
              reason: request.reason,
              sha256: current.sha256,
              size: current.size,
              retention_until: current.retention_until,
              retention_overridden: retained,
              purged_at: null,
            },
          }),
          request.principal.username,
        );
      });
      deps.logger.warn(
        { file_id: request.id, by: request.principal.username, reason: request.reason, retention_overridden: result.attr.deletion?.retention_overridden },
        'file_deleted',
      );
      await enqueuePurge(deps.jobs, deps.elementId, request.id);
      return result;
    },

    /** Фоновая очистка байтов удалённых файлов. Идемпотентна: повтор задачи ничего не портит. */
    startPurgeWorker() {
      return deps.jobs.process<{ id: string }>(queue, async (job) => {
        await deps.lock(job.payload.id, async () => {
          const current = await deps.cache.get(job.payload.id);
          const purged = current && purgedTombstone(current, now().toISOString());
          if (!current || !purged) return;
          await deps.blobs.delete(current.path);
          await deps.replaceAttr(current, (next) => ({ ...next, ...purged }), 'system:purge');
          deps.capacity.free(current.size);
          deps.logger.info({ file_id: current.id, size: current.size }, 'file_purged');
          await deps.audit.record({
            actor: systemActor('purge'),
            action: 'file.purge',
            target: current.id,
            details: { element_id: deps.elementId, size: current.size, sha256: current.sha256 },
          });
        });
      });
    },
  };
}
export type FileDeleter = ReturnType<typeof createFileDeleter>;

/**
 * Надгробие с отметкой очистки: удалённый файл (deletion) или перенесённый на другой SE (transfer,
 * SPEC IN-6); undefined — стирать нечего (уже стёрто или файл не надгробие).
 */
function purgedTombstone(
  attr: AttrRecord,
  at: string,
): Pick<AttrRecord, 'deletion' | 'transfer'> | undefined {
  if (attr.status === 'deleted' && attr.deletion && attr.deletion.purged_at === null) {
    return { deletion: { ...attr.deletion, purged_at: at } };
  }
  if (attr.status === 'transferred' && attr.transfer && attr.transfer.purged_at === null) {
    return { transfer: { ...attr.transfer, purged_at: at } };
  }
  return undefined;
}

/** Ставит очистку байтов надгробия в очередь; jobId по файлу — повтор не плодит задач. */
export async function enqueuePurge(jobs: JobQueue, elementId: string, id: string): Promise<void> {
  await jobs.enqueue(
    purgeQueueName(elementId),
    'purge',
    { id },
    { jobId: `purge-${id}`, attempts: 5, backoffMs: 1000 },
  );
}
