// Сборка ingester-module (SPEC §4). Только связывание.
import {
  createAuditClient,
  createServer,
  createServiceMetrics,
  discoveryFromConfig,
  followStorageElements,
  listen,
  serverOptionsFrom,
  verifierFromConfig,
  type RunningService,
  type ServiceRuntime,
} from '@artstore/core';
import { createStorageElementPool, type StorageElementPool } from './domain/storage-elements.js';
import { createUploader } from './domain/uploader.js';
import { registerUploadRoutes } from './http/upload-routes.js';

export const INGESTER_MODULE = 'ingester-module';

export async function startIngesterModule(runtime: ServiceRuntime): Promise<RunningService> {
  const { config, coordination } = runtime;
  const logger = runtime.logger.child({ service: INGESTER_MODULE });
  const metrics = createServiceMetrics(INGESTER_MODULE);
  // Список SE — из обнаружения (SPEC AD-8); пул пересобирается, когда меняются состав или адреса SE.
  const discovery = discoveryFromConfig({ config, coordination, logger }, INGESTER_MODULE, metrics.registry);
  await discovery.start();
  const pools = await followStorageElements(discovery, createStorageElementPool, (previous) => previous.close(), logger);
  const pool: StorageElementPool = { choose: (...args) => pools.current.choose(...args), close: () => pools.close() };
  const { app } = await createServer({
    service: INGESTER_MODULE,
    description: 'Приём файлов и передача их на элементы хранения',
    logger,
    metrics,
    verifier: verifierFromConfig(config),
    readiness: { coordination: () => coordination.ping(), discovery: () => Promise.resolve(discovery.status()) },
    ...serverOptionsFrom(config, coordination),
  });
  // Принятые файлы — в журнал аудита через очередь `audit` (SPEC AD-9).
  await registerUploadRoutes(app, createUploader(pool, createAuditClient({ jobs: runtime.jobs, service: INGESTER_MODULE, logger })));
  return listen(INGESTER_MODULE, app, config.services.ingester, async () => {
    await pool.close();
    await discovery.close();
  });
}
