// Сборка ingester-module (SPEC §4). Только связывание.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  createAuditClient,
  createServiceTokenProvider,
  createServer,
  createServiceMetrics,
  discoveryFromConfig,
  listen,
  readTestFaults,
  runMigrations,
  serverOptionsFrom,
  serviceUrl,
  verifierFromConfig,
  type RunningService,
  type ServiceRuntime,
} from '@artstore/core';
import { createIngesterFaults } from './domain/faults.js';
import { createFileLocator } from './domain/file-locator.js';
import { createOperationMetrics } from './domain/operation-metrics.js';
import { createSelectionMetrics } from './domain/selection-metrics.js';
import { startStaleWork } from './domain/stale-work.js';
import type { TransactionProvider } from './domain/transactions.js';
import { createUploadSagas } from './domain/upload-saga.js';
import { createStorageElementPool } from './domain/storage-elements.js';
import { createCompressionPolicy } from './domain/compression-policy.js';
import { createUploader } from './domain/uploader.js';
import { createTusUploads } from './domain/tus-uploads.js';
import { registerTusRoutes } from './http/tus-routes.js';
import { registerFileRoutes } from './http/file-routes.js';
import { registerTransactionRoutes } from './http/transaction-routes.js';
import { registerUploadRoutes } from './http/upload-routes.js';
import { ingesterMigrations } from './store/migrations.js';
import { createUploadSagaStore } from './store/upload-sagas.js';
import { createTransferCoordinator, createTransferMetrics } from './domain/transfer-coordinator.js';
import { registerTransferRoutes } from './http/transfer-routes.js';
import { createTransferStore } from './store/transfers.js';

export const INGESTER_MODULE = 'ingester-module';

export interface IngesterOptions {
  /** Токен сервиса для восстановления саг; по умолчанию — client_credentials из auth.client (ADR 0011). */
  serviceToken?: () => Promise<string>;
}

export async function startIngesterModule(
  runtime: ServiceRuntime,
  options: IngesterOptions = {},
): Promise<RunningService> {
  const { config, coordination, db } = runtime;
  const logger = runtime.logger.child({ service: INGESTER_MODULE });
  await runMigrations(db, INGESTER_MODULE, ingesterMigrations);
  const metrics = createServiceMetrics(INGESTER_MODULE);
  // Список SE — из обнаружения (SPEC AD-8); клиенты SE следуют за ним при каждом выборе (storage-elements.ts).
  const discovery = discoveryFromConfig({ config, coordination, logger }, INGESTER_MODULE, metrics.registry);
  await discovery.start();
  const pool = createStorageElementPool(logger);
  const elements = () => discovery.current().storage_elements;
  const audit = createAuditClient({ jobs: runtime.jobs, service: INGESTER_MODULE, logger });
  const operations = createOperationMetrics(metrics.registry);
  // Сага загрузки (SPEC IN-4): журнал в БД; owner — этот запуск процесса, чужие брошенные саги доводит
  // восстановление (stale-work.ts) токеном сервисной учётной записи — пользователя уже нет.
  const owner = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const client = config.auth.client;
  const tokens =
    client === undefined
      ? undefined
      : createServiceTokenProvider({
          tokenUrl: `${serviceUrl(config, 'admin')}/api/auth/token`,
          clientId: client.client_id,
          clientSecret: client.client_secret,
        });
  // Один injector на процесс: счёт проходов точек сбоя общий для саги и переноса.
  const faults = createIngesterFaults(readTestFaults(), config.profile);
  const sagaStore = createUploadSagaStore(db);
  const sagas = createUploadSagas({
    store: sagaStore,
    owner,
    faults,
    audit,
    metrics: operations,
    logger,
    client: (id) => pool.withClients(elements()).find((element) => element.id === id)?.client,
    serviceToken: options.serviceToken ?? (tokens === undefined ? undefined : () => tokens.token()),
  });
  if (options.serviceToken === undefined && tokens === undefined)
    logger.warn('upload_saga_recovery_without_credentials: нет auth.client — брошенные саги не решаются');
  const recovery = startStaleWork({
    name: 'upload_saga',
    owner,
    store: sagaStore.stale,
    settings: config.ingester.recovery,
    logger,
    resolve: (row) => sagas.resolveStale(row),
    inFlight: () => sagas.inFlight(),
  });
  const locator = createFileLocator({ elements, pool });
  // Перенос между SE (SPEC IN-6, ADR 0017): журнал координатора в БД, presumed abort при восстановлении
  // тем же циклом stale-work, что и саги.
  const transferStore = createTransferStore(db);
  // Политика сжатия на лету (SPEC IN-3) — одна на загрузки, tus и переносы.
  const compression = createCompressionPolicy(config.ingester.compression);
  const transfers = createTransferCoordinator({
    store: transferStore,
    owner,
    faults,
    audit,
    metrics: createTransferMetrics(metrics.registry),
    logger,
    locator,
    compression,
    client: (id) => pool.withClients(elements()).find((element) => element.id === id)?.client,
    serviceToken: options.serviceToken ?? (tokens === undefined ? undefined : () => tokens.token()),
  });
  const transferRecovery = startStaleWork({
    name: 'transfer',
    owner,
    store: transferStore.stale,
    settings: config.ingester.recovery,
    logger,
    resolve: (row) => transfers.resolveStale(row),
    inFlight: () => transfers.inFlight(),
  });
  // Источники GET /api/transactions (SPEC AD-10): по строке на журнал.
  const transactionProviders: TransactionProvider[] = [
    (filter) => sagas.transactions(filter),
    (filter) => transfers.transactions(filter),
  ];
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
  const selection = createSelectionMetrics(metrics.registry);
  const uploader = createUploader({
    elements: () => discovery.current().storage_elements,
    pool,
    sagas,
    metrics: selection,
    logger,
    settings: config.ingester,
    compression,
  });
  await registerUploadRoutes(app, uploader, config.ingester.content_encoding);
  registerFileRoutes(app, { locator, audit, metrics: operations });
  registerTransferRoutes(app, transfers);
  registerTransactionRoutes(app, transactionProviders);
  // tus 1.0 (SPEC IN-1): сессии — на выбранном SE, ingester только направляет куски.
  registerTusRoutes(
    app,
    createTusUploads({ elements, pool, audit, metrics: selection, logger, compression }),
  );
  return listen(INGESTER_MODULE, app, config.services.ingester, async () => {
    await recovery.close();
    await transferRecovery.close();
    await pool.close();
    await discovery.close();
  });
}
