// Сборка storage-element (SPEC §2). Только связывание портов и маршрутов.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createServer,
  listen,
  runMigrations,
  serverOptionsFrom,
  verifierFromConfig,
  type BlobStore,
  type RunningService,
  type ServiceRuntime,
} from '@artstore/core';
import { createCapacity } from './domain/capacity.js';
import { createFileWriter } from './domain/file-writer.js';
import { registerFileRoutes } from './http/file-routes.js';
import { createFileCache } from './store/file-cache.js';
import { storageElementMigrations } from './store/migrations.js';

export const STORAGE_ELEMENT = 'storage-element';

export interface StorageElementDeps extends ServiceRuntime {
  /** Хранилище байтов выбирает точка входа (локальная ФС сейчас, S3 — SE-10). */
  blobs: BlobStore;
}

export function storageBasePath(runtime: Pick<ServiceRuntime, 'config'>): string {
  const { config } = runtime;
  return config.storage.local.base_path ?? join(config.data_dir, 'storage', config.storage.element_id);
}

export async function startStorageElement(deps: StorageElementDeps): Promise<RunningService> {
  const { config, db, coordination, blobs } = deps;
  const elementId = config.storage.element_id;
  const logger = deps.logger.child({ service: STORAGE_ELEMENT, element_id: elementId });
  const prefix = config.database?.table_prefix ?? 'se_';
  await runMigrations(db, `${STORAGE_ELEMENT}:${prefix}`, storageElementMigrations(prefix));

  const cache = createFileCache(db, prefix);
  const basePath = storageBasePath(deps);
  await mkdir(basePath, { recursive: true });
  const capacity = await createCapacity({
    elementId,
    maxBytes: config.storage.max_size,
    basePath,
    usedBytes: () => cache.usedBytes(),
  });
  const writer = createFileWriter({ elementId, blobs, cache, coordination, logger, capacity });

  const { app } = await createServer({
    service: STORAGE_ELEMENT,
    description: `Элемент хранения ${elementId}: байты, attr-файлы, кеш, лента изменений`,
    logger,
    verifier: verifierFromConfig(config),
    readiness: { database: () => db.ping(), coordination: () => coordination.ping() },
    ...serverOptionsFrom(config),
  });
  registerFileRoutes(app, { elementId, writer, cache, blobs });
  return listen(STORAGE_ELEMENT, app, config.services.storage_element);
}
