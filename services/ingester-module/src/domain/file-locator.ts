// Где лежит файл (SPEC IN-5, IN-8): ingester не ведёт индекс, поэтому спрашивает SE документа обнаружения
// (AD-8) параллельно — GET /api/files/:id токеном вызывающего — и берёт первый ответ с активной записью.
// Найденное запоминается ненадолго: повторная правка того же файла не опрашивает все SE. Устаревшую
// запись кеша (файл перенесён) вызывающий сбрасывает через forget() и ищет заново.
import type { FileRecord } from '@artstore/contracts';
import { ArtError, type DiscoveryElement, type ServiceClient } from '@artstore/core';
import type { StorageElementPool } from './storage-elements.js';

export interface LocatedFile {
  elementId: string;
  client: ServiceClient;
  /** Ответ найден по кешу, а не опросом: при 404 от SE стоит поискать заново. */
  cached: boolean;
}

export interface FileLocatorDeps {
  elements(): readonly DiscoveryElement[];
  pool: StorageElementPool;
  /** Сколько помнить, на каком SE файл, мс. */
  ttlMs?: number;
  /** Наибольшее число запомненных файлов (старые вытесняются первыми). */
  maxEntries?: number;
}

/** Чем хуже ошибка объясняет отсутствие ответа, тем ниже: FORBIDDEN говорит вызывающему больше всех. */
const rank = (error: unknown): number =>
  error instanceof ArtError ? (error.code === 'FORBIDDEN' ? 3 : error.code === 'FILE_NOT_FOUND' ? 1 : 2) : 2;

export function createFileLocator(deps: FileLocatorDeps) {
  const ttlMs = deps.ttlMs ?? 60_000;
  const maxEntries = deps.maxEntries ?? 10_000;
  const cache = new Map<string, { elementId: string; expires: number }>();

  function remember(id: string, elementId: string): void {
    cache.delete(id);
    cache.set(id, { elementId, expires: Date.now() + ttlMs });
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
  }

  /** Все SE параллельно; первая активная запись побеждает, не дожидаясь медленных SE. */
  function search(
    targets: readonly (DiscoveryElement & { client: ServiceClient })[],
    id: string,
    token: string,
    requestId: string,
  ) {
    return new Promise<LocatedFile>((resolve, reject) => {
      if (targets.length === 0) {
        reject(new ArtError('NO_STORAGE_ELEMENT', 'В документе обнаружения нет ни одного SE'));
        return;
      }
      let pending = targets.length;
      let inactive: LocatedFile | undefined;
      let failure: Error = new ArtError('FILE_NOT_FOUND', `Файл ${id} не найден ни на одном SE`);
      const settle = () => {
        if (--pending > 0) return;
        // Активной нет: запись в другом статусе (удалён, перенесён) — SE сам объяснит, почему нельзя.
        if (inactive !== undefined) resolve(inactive);
        else reject(failure);
      };
      for (const target of targets) {
        target.client
          .json<FileRecord>('GET', `/api/files/${id}`, {
            headers: { authorization: `Bearer ${token}` },
            idempotent: true,
            requestId,
          })
          .then((record) => {
            const found = { elementId: target.id, client: target.client, cached: false };
            if (record.status === 'active') {
              remember(id, target.id);
              resolve(found);
            } else inactive ??= found;
            settle();
          })
          .catch((error: unknown) => {
            if (rank(error) > rank(failure))
              failure = error instanceof Error ? error : new Error(String(error));
            settle();
          });
      }
    });
  }

  return {
    async locate(id: string, token: string, requestId: string): Promise<LocatedFile> {
      const targets = deps.pool.withClients(deps.elements());
      const known = cache.get(id);
      if (known !== undefined && known.expires > Date.now()) {
        const target = targets.find((t) => t.id === known.elementId);
        if (target !== undefined) return { elementId: target.id, client: target.client, cached: true };
      }
      cache.delete(id);
      return search(targets, id, token, requestId);
    },
    forget(id: string): void {
      cache.delete(id);
    },
  };
}
export type FileLocator = ReturnType<typeof createFileLocator>;
