// Сборка storage-element (SPEC §2). Только связывание портов и маршрутов.
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  ArtError,
  createAuditClient,
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
import { createRetentionWarnings } from './domain/retention-warnings.js';
import { startSeMonitors } from './domain/se-monitors.js';
import { createFaultInjector } from './domain/faults.js';
import { createFileWriter } from './domain/file-writer.js';
import { createAttrReplacer } from './domain/attr-replacer.js';
import { createFileDeleter } from './domain/file-deleter.js';
import { createKeyedLock } from './domain/keyed-lock.js';
import { createMetadataUpdater } from './domain/metadata-updater.js';
import { createElection, createSoleMastership, type Mastership } from './domain/mastership.js';
import { replayAndOpenWal } from './domain/wal-replay.js';
import { createModeController } from './domain/mode-controller.js';
import { createSeMetrics, createWalMetrics } from './domain/se-metrics.js';
import { ensureLayout, LAYOUT_FILE, readLayout } from './domain/layout.js';
import { applyRebuild, planRebuild, summarizePlan } from './domain/rebuild.js';
import { createReconciler, setPlanMetrics } from './domain/reconciler.js';
import { createScrubber } from './domain/scrubber.js';
import { openUploadSessions, uploadSessionsDir } from './domain/upload-sessions.js';
import { startPeriodic } from './domain/periodic.js';
import { registerCapacityRoutes } from './http/capacity-routes.js';
import { registerFileRoutes } from './http/file-routes.js';
import { registerTransferRoutes } from './http/transfer-routes.js';
import { createTransferParticipant } from './domain/transfer-participant.js';
import { registerMasterGate } from './http/master-gate.js';
import { registerRetentionRoutes } from './http/retention-routes.js';
import { registerMaintenanceRoutes } from './http/maintenance-routes.js';
import { registerModeRoutes } from './http/mode-routes.js';
import { registerVerifyRoutes } from './http/verify-routes.js';
import { registerUploadSessionRoutes } from './http/upload-session-routes.js';
import { createFileCache } from './store/file-cache.js';
import { storageElementMigrations } from './store/migrations.js';
import { createEpochStore } from './store/epochs.js';
import { createStateStore } from './store/state.js';
import { registerTransactionRoutes } from './http/transaction-routes.js';
import { createWalSlot } from './wal/index.js';

export const STORAGE_ELEMENT = 'storage-element';

export interface StorageElementDeps extends ServiceRuntime {
  /** Хранилище байтов (локальная ФС или S3, SPEC SE-10) выбирает точка входа по storage.type. */
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

  const metrics = createServiceMetrics(STORAGE_ELEMENT);
  const walMetrics = createWalMetrics(metrics.registry);
  const epochs = createEpochStore(db, prefix);
  const nodeId = config.storage.node_id ?? hostname();
  const wal = createWalSlot();
  /**
   * Воспроизведение журналов (SPEC SE-3) и открытие своего — при старте одиночного SE и при каждом
   * получении роли мастера (SE-12); только после этого узел пишет.
   */
  async function takeWritePath(epoch: number, elected: boolean): Promise<void> {
    const started = performance.now();
    const { wal: opened, summary } = await replayAndOpenWal({
      basePath,
      nodeId: elected ? nodeId : undefined,
      epoch,
      blobs,
      cache,
      signingKeys: layout.signing_keys,
      logger,
      // Временные файлы — только у local-fs; у S3 незавершённую запись отменяет сам адаптер (SPEC SE-10).
      tempDir: blobs.kind === 'local' ? join(basePath, '.artstore', 'tmp') : undefined,
      walOptions: {
        onFailure: (error) => logger.fatal({ err: error }, 'wal_failed_writes_stopped'),
        onFsync: (seconds, records) => {
          walMetrics.walFsync.observe(seconds);
          walMetrics.walBatch.observe(records);
        },
      },
    });
    walMetrics.recoverySeconds.set((performance.now() - started) / 1000);
    walMetrics.recovery.set({ outcome: 'finished' }, summary.finished);
    walMetrics.recovery.set({ outcome: 'rolled_back' }, summary.rolledBack);
    walMetrics.recovery.set({ outcome: 'corrupted' }, summary.corrupted);
    wal.attach(opened);
  }
  const electionConfig = config.storage.election;
  // Одиночный SE — мастер с новой эпохой на каждый старт: запись прежнего процесса, если он ещё жив,
  // будет отвергнута при фиксации. При выборах эпоху берёт узел, получивший аренду (SPEC SE-12).
  let sole: Mastership | undefined;
  if (!electionConfig.enabled) {
    sole = createSoleMastership(await epochs.advance(nodeId));
    await takeWritePath(sole.epoch, false);
  }
  const capacity = await createCapacity({
    elementId,
    maxBytes: config.storage.max_size,
    // У S3 нет осмысленного statfs: там действует только max_size (SPEC SE-10).
    diskPath: blobs.kind === 'local' ? basePath : null,
    headroomBytes: config.storage.capacity.headroom,
    alarms: { thresholds: config.storage.capacity.alarm_thresholds, logger },
    usedBytes: () => cache.usedBytes(),
  });
  const state = createStateStore(db, prefix);
  const modes = await createModeController({ elementId, configured: config.storage.mode, state, logger });
  let publicUrl = '';
  const election = sole
    ? undefined
    : createElection({
        elementId,
        nodeId,
        url: () => publicUrl,
        ttlMs: electionConfig.lease_ttl,
        coordination,
        epochs,
        logger,
        onPromoted: async (epoch) => {
          await takeWritePath(epoch, true);
          await capacity.recount();
          await modes.reload();
        },
        onDemoted: () => wal.detach(),
      });
  const mastership: Mastership = sole ?? election!;
  const seMetrics = createSeMetrics(metrics.registry, () => ({
    usedBytes: capacity.used,
    reservedBytes: capacity.reserved,
    capacityBytes: config.storage.max_size,
    walBytes: wal.sizeBytes,
    writesStopped: wal.failed !== null,
    mode: modes.mode,
    capacityAlarmLevel: capacity.alarmLevel,
    diskFreeBytes: capacity.diskFreeBytes,
  }));
  const writer = createFileWriter({
    elementId,
    mastership,
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
          : Promise.resolve({ mode: modes.mode, wal_bytes: wal.sizeBytes, role: mastership.isMaster ? 'master' : 'standby', epoch: mastership.epoch }),
    },
    ...serverOptionsFrom(config, coordination),
  });
  const changeDeps = {
    elementId,
    cache,
    logger,
    wal,
    modes,
    lock: createKeyedLock(),
    replaceAttr: createAttrReplacer({
      elementId,
      mastership,
      blobs,
      cache,
      coordination,
      logger,
      signer,
      signingKeys: layout.signing_keys,
      wal,
    }),
  };
  const updater = createMetadataUpdater(changeDeps);
  // События аудита — задачами в очередь `audit`, их дописывает admin-module (SPEC AD-9).
  const audit = createAuditClient({ jobs: deps.jobs, service: STORAGE_ELEMENT, logger });
  const deleter = createFileDeleter({ ...changeDeps, jobs: deps.jobs, capacity, blobs, audit });
  const purgeWorker = deleter.startPurgeWorker();
  if (election) registerMasterGate(app, election);
  registerFileRoutes(app, { elementId, writer, cache, blobs, modes, updater, deleter, signingKeys: layout.signing_keys, audit });
  // Участник двухфазного переноса между SE (SPEC IN-6); координатор — ingester.
  const participant = createTransferParticipant({ ...changeDeps, writer, blobs, capacity, jobs: deps.jobs });
  registerTransferRoutes(app, { elementId, participant, audit });
  registerModeRoutes(app, modes, { elementId, audit, retention: config.storage.retention });
  registerCapacityRoutes(app, elementId, capacity);
  registerTransactionRoutes(app, { elementId, wal });
  registerRetentionRoutes(app, { elementId, cache });
  // Возобновляемые загрузки (SPEC IN-1, BY-6): части — в .artstore/uploads на ФС узла; сессии и резервы
  // места переживают перезапуск, истёкшие убирает периодическая уборка.
  const uploads = await openUploadSessions({
    elementId,
    dir: uploadSessionsDir(basePath),
    writer,
    cache,
    capacity,
    modes,
    lock: createKeyedLock(),
    logger,
    expirationMs: config.storage.uploads.expiration,
    maxLength: config.storage.max_size,
  });
  registerUploadSessionRoutes(app, { elementId, sessions: uploads, audit });
  const uploadSweeper = startPeriodic({
    name: 'upload_sessions_sweep',
    intervalMs: config.storage.uploads.sweep_interval,
    logger,
    schedule: { load: () => Promise.resolve(new Date().toISOString()), save: () => Promise.resolve() },
    run: async () => {
      await uploads.sweep();
    },
  });
  const monitors = startSeMonitors({
    logger,
    capacity,
    capacityIntervalMs: config.storage.capacity.check_interval,
    retentionWarnings: createRetentionWarnings({ elementId, cache, leadTimes: config.storage.retention_warnings.lead_times, logger }),
    retentionIntervalMs: config.storage.retention_warnings.interval,
    countFiles: () => cache.countByStatus(),
    metrics: seMetrics,
  });
  // Целостность (SPEC SE-6, BY-2, BY-3, QR-7): scrub, периодическая сверка, проверка по запросу.
  const integrity = {
    blobs,
    cache,
    lock: changeDeps.lock,
    modes,
    state,
    logger,
    metrics: seMetrics,
    signingKeys: layout.signing_keys,
    writeEpoch: () => mastership.writeEpoch(),
    isMaster: () => mastership.isMaster,
  };
  const scrubber = createScrubber({ ...integrity, replaceAttr: changeDeps.replaceAttr, config: config.storage.scrub });
  const reconciler = createReconciler({ ...integrity, config: config.storage.reconcile });
  registerVerifyRoutes(app, { ...integrity, elementId });
  registerMaintenanceRoutes(app, {
    elementId,
    blobs,
    cache,
    signingKeys: () => layout.signing_keys,
    onPlan: (summary) => setPlanMetrics(seMetrics, summary),
    reconciler,
    scrubber,
  });
  const integrityTasks = [await scrubber.start(), await reconciler.start()];
  const running = await listen(STORAGE_ELEMENT, app, config.services.storage_element, async () => {
    // Сначала фоновые проверки: scrub пишет attr через WAL; роль мастера отдаётся до закрытия журнала.
    for (const task of integrityTasks) await task?.close();
    await purgeWorker.close();
    await monitors.close();
    await uploadSweeper.close();
    await election?.close();
    await wal.close();
  });
  publicUrl = config.services.storage_element.url ?? running.url;
  election?.start();
  return running;
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
  // Своя эпоха ограждает SE, если его забыли остановить: его записи в кеш будут отвергнуты.
  if (!dryRun) await applyRebuild(plan, cache, await createEpochStore(deps.db, prefix).advance(`offline-rebuild@${hostname()}`));
  return summarizePlan(plan);
}
