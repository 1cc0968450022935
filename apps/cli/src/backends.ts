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
  createS3BlobStore,
} from '@artstore/adapters';
import { ArtError, type Backends, type BlobStore, type Config, type Database, type Logger } from '@artstore/core';

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

/**
 * Хранилище байтов SE (SPEC SE-10). basePath — корень данных для local; для s3 данные в бакете, а в
 * basePath остаётся только служебное состояние SE (WAL, SPEC SE-1). Префикс по умолчанию — element_id:
 * несколько SE делят бакет, а узлы одного SE (SE-12) — префикс.
 */
export function createBlobStore(config: Config, basePath: string): BlobStore {
  const { storage } = config;
  switch (storage.type) {
    case 'local':
      return createLocalFsBlobStore({ root: basePath });
    case 's3': {
      const s3 = storage.s3;
      // Схема конфигурации требует storage.s3.bucket при type: s3; проверка здесь — для типов.
      if (!s3?.bucket) throw new ArtError('CONFIG_INVALID', 'storage.type = s3 требует storage.s3.bucket');
      return createS3BlobStore({
        endpoint: s3.endpoint,
        region: s3.region,
        bucket: s3.bucket,
        prefix: s3.prefix ?? storage.element_id,
        forcePathStyle: s3.force_path_style,
        credentials:
          s3.access_key_id === undefined || s3.secret_access_key === undefined
            ? undefined
            : { accessKeyId: s3.access_key_id, secretAccessKey: s3.secret_access_key },
      });
    }
  }
}
