// Сборка ingester-module (SPEC §4). Только связывание.
import {
  createServer,
  listen,
  serverOptionsFrom,
  verifierFromConfig,
  type RunningService,
  type ServiceRuntime,
} from '@artstore/core';
import { createStorageElementPool } from './domain/storage-elements.js';
import { createUploader } from './domain/uploader.js';
import { registerUploadRoutes } from './http/upload-routes.js';

export const INGESTER_MODULE = 'ingester-module';

export async function startIngesterModule(runtime: ServiceRuntime): Promise<RunningService> {
  const { config, coordination } = runtime;
  const logger = runtime.logger.child({ service: INGESTER_MODULE });
  const pool = createStorageElementPool(config.storage_elements);
  const { app } = await createServer({
    service: INGESTER_MODULE,
    description: 'Приём файлов и передача их на элементы хранения',
    logger,
    verifier: verifierFromConfig(config),
    readiness: { coordination: () => coordination.ping() },
    ...serverOptionsFrom(config),
  });
  await registerUploadRoutes(app, createUploader(pool));
  return listen(INGESTER_MODULE, app, config.services.ingester, () => pool.close());
}
