// Сборка storage-element (SPEC §2). Только связывание портов и маршрутов.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ArtError,
  createServer,
  createServiceMetrics,
  listen,
  readTestFaults,
  runMigrations,
  serverOptionsFrom,
  verifierFromConfig,
  type BlobStore,
  type RunningService,
  type ServiceRuntime,
} from '@artstore/core';
import { loadOrCreateAttrSigner } from './domain/attr-signing.js';
import { createCapacity } from './domain/capacity.js';
import { createFaultInjector } from './domain/faults.js';
import { createFileWriter } from './domain/file-writer.js';
import { createAttrReplacer } from './domain/attr-replacer.js';
import { createFileDeleter } from './domain/file-deleter.js';
import { createKeyedLock } from './domain/keyed-lock.js';
import { createMetadataUpdater } from './domain/metadata-updater.js';
import { createModeController } from './domain/mode-controller.js';
import { createSeMetrics, createWalMetrics } from './domain/se-metrics.js';
import { ensureLayout, LAYOUT_FILE, readLayout } from './domain/layout.js';
import { applyRebuild, planRebuild, summarizePlan } from './domain/rebuild.js';
import { recover } from './domain/recovery.js';
import { registerFileRoutes } from './http/file-routes.js';
import { registerMaintenanceRoutes } from './http/maintenance-routes.js';
import { registerModeRoutes } from './http/mode-routes.js';
import { createFileCache } from './store/file-cache.js';
import { storageElementMigrations } from './store/migrations.js';
import { createStateStore } from './store/state.js';
import { openWal, walDirectory } from './wal/index.js';

export const STORAGE_ELEMENT = 'storage-element';
/** Эпоха записи до выборов мастера (SPEC SE-12): единственный узел — всегда мастер. */
const EMBEDDED_EPOCH = 1;

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
  const signer = await loadOrCreateAttrSigner(
    config.storage.signing_key_path ?? join(config.data_dir, 'keys', elementId, 'attr-signing-ed25519.pem'),
  );
  const layout = await ensureLayout(blobs, elementId, signer.publicKey);
  const faults = createFaultInjector(readTestFaults(), config.profile);

  // Сначала восстановление по WAL (SPEC SE-3), потом учёт места и приём записи.
  const metrics = createServiceMetrics(STORAGE_ELEMENT);
  const walMetrics = createWalMetrics(metrics.registry);
  const { wal, recovered } = await openWal({
    dir: walDirectory(basePath),
    onFailure: (error) => logger.fatal({ err: error }, 'wal_failed_writes_stopped'),
    onFsync: (seconds, records) => {
      walMetrics.walFsync.observe(seconds);
      walMetrics.walBatch.observe(records);
    },
  });
  const recoveryStarted = performance.now();
  const report = await recover(recovered, {
    blobs,
    cache,
    wal,
    signingKeys: layout.signing_keys,
    logger,
    tempDir: join(basePath, '.artstore', 'tmp'),
  });
  walMetrics.recoverySeconds.set((performance.now() - recoveryStarted) / 1000);
  walMetrics.recovery.set({ outcome: 'finished' }, report.finished);
  walMetrics.recovery.set({ outcome: 'rolled_back' }, report.rolledBack);
  walMetrics.recovery.set({ outcome: 'corrupted' }, report.corrupted);
  const capacity = await createCapacity({
    elementId,
    maxBytes: config.storage.max_size,
    basePath,
    usedBytes: () => cache.usedBytes(),
  });
  const modes = await createModeController({ elementId, configured: config.storage.mode, state: createStateStore(db, prefix), logger });
  const seMetrics = createSeMetrics(metrics.registry, () => ({
    usedBytes: capacity.used,
    reservedBytes: capacity.reserved,
    capacityBytes: config.storage.max_size,
    walBytes: wal.sizeBytes,
    writesStopped: wal.failed !== null,
    mode: modes.mode,
  }));
  const writer = createFileWriter({
    elementId,
    epoch: EMBEDDED_EPOCH,
    retention: config.storage.retention,
    blobs,
    cache,
    coordination,
    logger,
    capacity,
    signer,
    wal,
    faults,
    modes,
    onStored: (attr) => {
      seMetrics.uploads.inc();
      seMetrics.uploadedBytes.inc(attr.size);
    },
  });

  const { app } = await createServer({
    service: STORAGE_ELEMENT,
    description: `Элемент хранения ${elementId}: байты, attr-файлы, кеш, лента изменений`,
    logger,
    metrics,
    verifier: verifierFromConfig(config),
    readiness: {
      database: () => db.ping(),
      coordination: () => coordination.ping(),
      // После сбоя fsync SE только читает: балансировщик должен увести с него запись (SPEC SE-3).
      writes: () =>
        wal.failed
          ? Promise.reject(new Error(`запись остановлена: ${wal.failed.message}`))
          : Promise.resolve({ mode: modes.mode, wal_bytes: wal.sizeBytes }),
    },
    ...serverOptionsFrom(config),
  });
  const changeDeps = {
    elementId,
    cache,
    logger,
    wal,
    modes,
    lock: createKeyedLock(),
    replaceAttr: createAttrReplacer({ elementId, epoch: EMBEDDED_EPOCH, blobs, cache, coordination, logger, signer, wal }),
  };
  const updater = createMetadataUpdater(changeDeps);
  const deleter = createFileDeleter({ ...changeDeps, jobs: deps.jobs, capacity, blobs });
  const purgeWorker = deleter.startPurgeWorker();
  registerFileRoutes(app, { elementId, writer, cache, blobs, modes, updater, deleter });
  registerModeRoutes(app, modes);
  registerMaintenanceRoutes(app, {
    blobs,
    cache,
    signingKeys: () => layout.signing_keys,
    onPlan: (summary) => {
      for (const kind of ['missing', 'stale', 'orphans', 'unchanged'] as const) seMetrics.reconcile.set({ kind }, summary[kind]);
      seMetrics.reconcile.set({ kind: 'problems' }, summary.problems.length);
    },
  });
  return listen(STORAGE_ELEMENT, app, config.services.storage_element, async () => {
    await purgeWorker.close();
    await wal.close();
  });
}

/**
 * Офлайн-перестройка кеша SE из attr-файлов (`artstore se rebuild`, SPEC SE-6): SE при этом не запущен.
 * dryRun — только показать разницу.
 */
export async function rebuildStorageElementCache(
  deps: Pick<StorageElementDeps, 'config' | 'db' | 'blobs'>,
  dryRun: boolean,
): Promise<ReturnType<typeof summarizePlan>> {
  const prefix = deps.config.database?.table_prefix ?? 'se_';
  await runMigrations(deps.db, `${STORAGE_ELEMENT}:${prefix}`, storageElementMigrations(prefix));
  const layout = await readLayout(deps.blobs);
  if (!layout) throw new ArtError('CONFIG_INVALID', `В ${storageBasePath(deps)} нет ${LAYOUT_FILE}: это не корень элемента хранения`);
  const cache = createFileCache(deps.db, prefix);
  const plan = await planRebuild({ blobs: deps.blobs, cache, signingKeys: layout.signing_keys });
  if (!dryRun) await applyRebuild(plan, cache);
  return summarizePlan(plan);
}
