// Сборка query-module (SPEC §5). Только связывание.
import {
  ArtError,
  createServer,
  createServiceClient,
  createServiceTokenProvider,
  listen,
  runMigrations,
  serverOptionsFrom,
  serviceUrl,
  verifierFromConfig,
  type RunningService,
  type ServiceRuntime,
} from '@artstore/core';
import { createChangeFollower } from './domain/change-follower.js';
import { registerQueryRoutes } from './http/query-routes.js';
import { createFileIndex } from './store/file-index.js';
import { queryMigrations } from './store/migrations.js';

export const QUERY_MODULE = 'query-module';

export async function startQueryModule(runtime: ServiceRuntime): Promise<RunningService> {
  const { config, db, coordination } = runtime;
  const logger = runtime.logger.child({ service: QUERY_MODULE });
  if (!config.auth.client) {
    throw new ArtError('CONFIG_INVALID', 'auth.client: query-module читает ленты SE от имени сервисной учётной записи (client_id, client_secret)');
  }
  await runMigrations(db, QUERY_MODULE, queryMigrations);

  const tokens = createServiceTokenProvider({
    tokenUrl: `${serviceUrl(config, 'admin')}/api/auth/token`,
    clientId: config.auth.client.client_id,
    clientSecret: config.auth.client.client_secret,
  });
  const elements = new Map(
    config.storage_elements.map((ref) => [
      ref.id,
      createServiceClient({ baseUrl: ref.url, name: ref.id, getToken: () => tokens.token() }),
    ]),
  );
  const index = createFileIndex(db);
  const follower = createChangeFollower({
    elements: [...elements].map(([id, client]) => ({ id, client })),
    index,
    coordination,
    logger,
    pollIntervalMs: config.query.poll_interval_ms,
    batchSize: config.query.change_batch_size,
  });

  const { app } = await createServer({
    service: QUERY_MODULE,
    description: 'Глобальный индекс, поиск и выдача файлов',
    logger,
    verifier: verifierFromConfig(config),
    readiness: {
      database: () => db.ping(),
      coordination: () => coordination.ping(),
      index: async () =>
        Object.fromEntries(
          await Promise.all([...elements.keys()].map(async (id) => [id, { last_seq: await follower.position(id) }] as const)),
        ),
    },
    ...serverOptionsFrom(config),
  });
  registerQueryRoutes(app, { index, follower, elements, consistencyWaitMs: config.query.consistency_wait_ms });
  const running = await listen(QUERY_MODULE, app, config.services.query, async () => {
    await follower.stop();
    await Promise.all([...elements.values()].map((c) => c.close()));
  });
  await follower.start();
  return running;
}
