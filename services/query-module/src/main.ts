// Сборка query-module (SPEC §5). Только связывание.
import {
  ArtError,
  createAuditClient,
  createServer,
  createServiceClient,
  createServiceMetrics,
  createServiceTokenProvider,
  discoveryFromConfig,
  followStorageElements,
  listen,
  runMigrations,
  serverOptionsFrom,
  serviceUrl,
  verifierFromConfig,
  type RunningService,
  type ServiceRuntime,
} from '@artstore/core';
import { createChangeFollower } from './domain/change-follower.js';
import { createIndexMetrics } from './domain/index-metrics.js';
import { createRecordCache, withCachedRecords } from './domain/record-cache.js';
import { createLinkSigner } from './domain/links.js';
import { createDownloadMetrics } from './http/download-proxy.js';
import { registerFileRoutes } from './http/file-routes.js';
import { registerIndexRoutes } from './http/index-routes.js';
import { registerLinkRoutes } from './http/link-routes.js';
import { registerSearchRoutes } from './http/search-routes.js';
import { registerVerifyRoutes } from './http/verify-routes.js';
import { createFileIndex } from './store/file-index.js';
import { createSearchIndex } from './store/search-index.js';
import { createLinkStore } from './store/link-store.js';
import { queryMigrations } from './store/migrations.js';

export const QUERY_MODULE = 'query-module';

export async function startQueryModule(runtime: ServiceRuntime): Promise<RunningService> {
  const { config, db, coordination } = runtime;
  const logger = runtime.logger.child({ service: QUERY_MODULE });
  if (!config.auth.client) {
    throw new ArtError(
      'CONFIG_INVALID',
      'auth.client: query-module читает ленты SE от имени сервисной учётной записи (client_id, client_secret)',
    );
  }
  await runMigrations(db, QUERY_MODULE, queryMigrations);

  const tokens = createServiceTokenProvider({
    tokenUrl: `${serviceUrl(config, 'admin')}/api/auth/token`,
    clientId: config.auth.client.client_id,
    clientSecret: config.auth.client.client_secret,
  });
  const index = createFileIndex(db);
  const search = createSearchIndex(db, { logger });
  const metrics = createServiceMetrics(QUERY_MODULE);
  // Кеш чтений (SPEC QR-5) и отставание индекса (QR-1); follower меняет поколение кеша после каждой пачки.
  const cache = createRecordCache({
    coordination,
    registry: metrics.registry,
    logger,
    localEntries: config.query.cache.local_entries,
    ttlMs: config.query.cache.ttl_ms,
  });
  const indexMetrics = createIndexMetrics(metrics.registry, () => followed.current.follower.statuses());
  const linkStore = createLinkStore(db);
  // Ключ подписи временных ссылок — один на все экземпляры query (SPEC QR-6), создаётся при первом старте.
  const linkSigner = createLinkSigner(await linkStore.signingKeys());
  // Список SE — из обнаружения (SPEC AD-8). При смене состава или адресов клиенты SE и следование лентам
  // пересобираются; курсоры лент — в БД, так что пересборка ничего не теряет.
  const discovery = discoveryFromConfig({ config, coordination, logger }, QUERY_MODULE, metrics.registry);
  await discovery.start();
  const followed = await followStorageElements(
    discovery,
    async (refs) => {
      const elements = new Map(
        refs.map((ref) => [
          ref.id,
          createServiceClient({ baseUrl: ref.url, name: ref.id, getToken: () => tokens.token() }),
        ]),
      );
      const follower = createChangeFollower({
        elements: [...elements].map(([id, client]) => ({ id, client })),
        index,
        cache,
        metrics: indexMetrics,
        coordination,
        logger,
        pollIntervalMs: config.query.poll_interval_ms,
        batchSize: config.query.change_batch_size,
      });
      await follower.start();
      return { elements, follower };
    },
    async ({ elements, follower }) => {
      await follower.stop();
      await Promise.all([...elements.values()].map((c) => c.close()));
    },
    logger,
  );

  const { app } = await createServer({
    service: QUERY_MODULE,
    description: 'Глобальный индекс, поиск и выдача файлов',
    logger,
    metrics,
    verifier: verifierFromConfig(config),
    readiness: {
      database: () => db.ping(),
      coordination: () => coordination.ping(),
      discovery: () => Promise.resolve(discovery.status()),
      index: async () => {
        const { elements, follower } = followed.current;
        return Object.fromEntries(
          await Promise.all([...elements.keys()].map(async (id) => [id, await follower.status(id)] as const)),
        );
      },
    },
    ...serverOptionsFrom(config, coordination),
  });
  const routeDeps = {
    index: withCachedRecords(index, cache),
    search,
    cache,
    get follower() {
      return followed.current.follower;
    },
    get elements() {
      return followed.current.elements;
    },
    consistencyWaitMs: config.query.consistency_wait_ms,
    // Выдачи байтов — в журнал аудита через очередь `audit` (SPEC AD-9).
    audit: createAuditClient({ jobs: runtime.jobs, service: QUERY_MODULE, logger }),
    downloads: createDownloadMetrics(metrics.registry),
    linkSigner,
    linkStore,
  };
  registerSearchRoutes(app, routeDeps);
  registerFileRoutes(app, routeDeps);
  registerIndexRoutes(app, routeDeps);
  registerVerifyRoutes(app, routeDeps);
  registerLinkRoutes(app, routeDeps);
  return listen(QUERY_MODULE, app, config.services.query, async () => {
    await followed.close();
    await discovery.close();
    await search.close();
  });
}
