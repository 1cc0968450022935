// Единственное место, где выбираются реализации портов (CONVENTIONS: адаптеры — только в точке входа).
// Нет секции database — встроенный PGlite; нет секции redis — координация и очередь в процессе (SPEC X-1).
import { join } from 'node:path';
import {
  createBullmqJobQueue,
  createInProcessCoordination,
  createInProcessJobQueue,
  createLocalFsBlobStore,
  createPgliteDatabase,
  createPostgresDatabase,
  createRedisCoordination,
} from '@artstore/adapters';
import type { Backends, BlobStore, Config, Database, Logger } from '@artstore/core';

export interface OwnedBackends extends Backends {
  close(): Promise<void>;
}

/** Нет секции database — PGlite в data_dir/pglite/<scope>: отдельным процессам нужны отдельные встроенные БД. */
export async function createDatabase(config: Config, scope: string, logger: Logger): Promise<Database> {
  return config.database
    ? createPostgresDatabase({
        host: config.database.host,
        port: config.database.port,
        user: config.database.username,
        password: config.database.password,
        database: config.database.database,
        ssl: config.database.ssl,
        maxConnections: config.database.max_connections,
        applicationName: `artstore-${scope}`,
        onError: (error) => logger.error({ err: error }, 'database_connection_error'),
      })
    : await createPgliteDatabase({ dataDir: pgliteDir(config, scope) });
}

export function pgliteDir(config: Config, scope: string): string {
  return join(config.data_dir, 'pglite', scope);
}

export async function createBackends(config: Config, scope: string, logger: Logger): Promise<OwnedBackends> {
  const db = await createDatabase(config, scope, logger);
  const onRedisError = (error: unknown) => logger.warn({ err: error }, 'redis_error');
  const redis = config.redis;
  const connection = redis?.cluster ? { cluster: redis.cluster } : { url: redis?.url };
  const coordination = redis
    ? createRedisCoordination({ ...connection, keyPrefix: redis.key_prefix, onError: onRedisError })
    : createInProcessCoordination();
  const jobs = redis
    ? createBullmqJobQueue({
        connection,
        // В Redis Cluster все ключи очереди должны попасть в один слот — hash tag.
        prefix: redis.cluster ? `{${redis.key_prefix}jobs}` : `${redis.key_prefix}jobs`,
        onError: onRedisError,
      })
    : createInProcessJobQueue({ onError: (error) => logger.error({ err: error }, 'job_failed') });

  return {
    db,
    coordination,
    jobs,
    async close() {
      await jobs.close();
      await coordination.close();
      await db.close();
    },
  };
}

export function createBlobStore(basePath: string): BlobStore {
  return createLocalFsBlobStore({ root: basePath });
}
