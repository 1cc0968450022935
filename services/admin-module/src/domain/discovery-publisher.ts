// Публикация документа обнаружения (SPEC AD-8): полный список SE с версией — в ключ координации и
// уведомление в канал. Публикует только лидер (HA-4). Он сверяет версию в координации с версией в БД
// и переписывает ключ, если они разошлись: так чинятся и потерянный Redis без персистентности, и
// документ, записанный устаревшим лидером. Изменение реестра на другом экземпляре admin будит лидера
// внутренним сообщением, а не ждёт очередного опроса.
import {
  publishDiscoveryDocument,
  publishedDiscoveryVersion,
  type Coordination,
  type DiscoveryDocument,
  type Logger,
  type Unsubscribe,
} from '@artstore/core';
import type { StorageElementRow, StorageElementStore } from '../store/storage-elements.js';

/** Внутренний канал admin-module: «реестр изменился» — лидеру. */
export const REGISTRY_CHANGED_CHANNEL = 'admin:storage-elements-changed';

export interface DiscoveryPublisherDeps {
  store: StorageElementStore;
  coordination: Coordination;
  leadership: { readonly isLeader: boolean };
  logger: Logger;
  now?: () => Date;
}

export function documentOf(
  version: number,
  rows: readonly StorageElementRow[],
  publishedAt: Date,
): DiscoveryDocument {
  return {
    version,
    published_at: publishedAt.toISOString(),
    storage_elements: rows.map((row) => ({
      id: row.id,
      name: row.name,
      url: row.url,
      priority: row.priority,
      mode: row.mode,
      health: row.health,
      capacity: row.published_capacity,
    })),
  };
}

export function createDiscoveryPublisher(deps: DiscoveryPublisherDeps) {
  const { store, coordination, leadership, logger } = deps;
  const now = deps.now ?? (() => new Date());
  let running: Promise<void> | undefined;
  let again = false;
  let unsubscribe: Unsubscribe | undefined;

  async function syncOnce(): Promise<void> {
    if (!leadership.isLeader) return;
    let { version, rows } = await store.document();
    const published = await publishedDiscoveryVersion(coordination);
    if (published === version) return;
    if (published > version) {
      // В координации версия новее, чем в БД (БД восстановлена из копии): клиенты не примут меньшую
      // версию, поэтому счётчик в БД переводится за опубликованную.
      logger.warn({ published, database: version }, 'discovery_version_behind');
      await store.advanceVersion(published);
      ({ version, rows } = await store.document());
    }
    await publishDiscoveryDocument(coordination, documentOf(version, rows, now()));
    logger.info({ version, previous: published, storage_elements: rows.length }, 'discovery_published');
  }

  /** Сверка и публикация по одной; запрос во время идущей — ещё один проход после неё. */
  function sync(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await syncOnce();
      } while (again);
    })().finally(() => (running = undefined));
    return running;
  }

  const syncLogged = () =>
    void sync().catch((error: unknown) => logger.warn({ err: error }, 'discovery_publish_failed'));

  return {
    sync,
    /** Реестр изменился: лидер публикует сам, прочие будят его. */
    changed(): void {
      if (leadership.isLeader) syncLogged();
      else
        void coordination
          .publish(REGISTRY_CHANGED_CHANNEL, '')
          .catch((error: unknown) => logger.warn({ err: error }, 'discovery_leader_notify_failed'));
    },
    async start(): Promise<void> {
      unsubscribe = await coordination.subscribe(REGISTRY_CHANGED_CHANNEL, syncLogged);
    },
    async stop(): Promise<void> {
      await unsubscribe?.();
      await running?.catch(() => undefined);
    },
  };
}
export type DiscoveryPublisher = ReturnType<typeof createDiscoveryPublisher>;
