// Сборка ingester-module (SPEC §4). Только связывание.
import {
  createAuditClient,
  createServer,
  createServiceMetrics,
  discoveryFromConfig,
  listen,
  runMigrations,
  serverOptionsFrom,
  verifierFromConfig,
  type RunningService,
  type ServiceRuntime,
} from '@artstore/core';
import { createSelectionMetrics } from './domain/selection-metrics.js';
import { createStorageElementPool } from './domain/storage-elements.js';
import { createUploader } from './domain/uploader.js';
import { registerUploadRoutes } from './http/upload-routes.js';
import { ingesterMigrations } from './store/migrations.js';

export const INGESTER_MODULE = 'ingester-module';

export async function startIngesterModule(runtime: ServiceRuntime): Promise<RunningService> {
  const { config, coordination, db } = runtime;
  const logger = runtime.logger.child({ service: INGESTER_MODULE });
  await runMigrations(db, INGESTER_MODULE, ingesterMigrations);
  const metrics = createServiceMetrics(INGESTER_MODULE);
  // Список SE — из обнаружения (SPEC AD-8); клиенты SE следуют за ним при каждом выборе (storage-elements.ts).
  const discovery = discoveryFromConfig({ config, coordination, logger }, INGESTER_MODULE, metrics.registry);
  await discovery.start();
  const pool = createStorageElementPool(logger);
  const { app } = await createServer({
    service: INGESTER_MODULE,
    description: 'Приём файлов и передача их на элементы хранения',
    logger,
    metrics,
    verifier: verifierFromConfig(config),
    readiness: {
      database: () => db.ping(),
      coordination: () => coordination.ping(),
      discovery: () => Promise.resolve(discovery.status()),
    },
    ...serverOptionsFrom(config, coordination),
  });
  // Выбор SE — по режиму, здоровью и месту из текущего документа (SPEC IN-2); принятые файлы — в журнал
  // аудита через очередь `audit` (SPEC AD-9).
  const uploader = createUploader({
    elements: () => discovery.current().storage_elements,
    pool,
    audit: createAuditClient({ jobs: runtime.jobs, service: INGESTER_MODULE, logger }),
    metrics: createSelectionMetrics(metrics.registry),
    logger,
    settings: config.ingester,
  });
  await registerUploadRoutes(app, uploader);
  return listen(INGESTER_MODULE, app, config.services.ingester, async () => {
    await pool.close();
    await discovery.close();
  });
}
