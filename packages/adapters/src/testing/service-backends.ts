// Два набора портов для стендов сервисов (CONVENTIONS «Real dependencies in tests»): встроенный —
// у каждого SE своя PGlite, координация в процессе; настоящий — одна одноразовая БД PostgreSQL на все
// сервисы стенда (SE различаются префиксами таблиц, SPEC SE-4) и координация в Redis со своим
// префиксом ключей. Всё созданное закрывается через переданный стек очистки.
import type { Coordination, Database } from '@artstore/core';
import type { CleanupStack } from '@artstore/core/testing';
import { createInProcessCoordination } from '../in-process/coordination.js';
import { createPostgresDatabase } from '../postgres/postgres-database.js';
import { createRedisCoordination } from '../redis/redis-coordination.js';
import { createThrowawayPostgres } from './postgres-test-db.js';
import { deleteKeysWithPrefix, testRedisUrl, uniqueTestPrefix } from './redis-test-prefix.js';

export interface OpenedServiceBackend {
  coordination: Coordination;
  /** Общая БД стенда; без неё (встроенный набор) каждый сервис берёт свою PGlite. */
  sharedDb?: Database;
}

export interface ServiceBackend {
  name: string;
  /** label — метка одноразовой базы PostgreSQL и префикса Redis ([a-z0-9_], до 30 символов). */
  open(cleanup: CleanupStack, label: string): Promise<OpenedServiceBackend>;
}

export const SERVICE_BACKENDS: readonly ServiceBackend[] = [
  {
    name: 'PGlite, координация в процессе',
    open(cleanup) {
      const coordination = createInProcessCoordination();
      cleanup.defer(() => coordination.close());
      return Promise.resolve({ coordination });
    },
  },
  {
    name: 'PostgreSQL, Redis',
    async open(cleanup, label) {
      const pg = await createThrowawayPostgres(label);
      cleanup.defer(() => pg.drop());
      const sharedDb = createPostgresDatabase(pg.options);
      cleanup.defer(() => sharedDb.close());
      const keyPrefix = uniqueTestPrefix(label);
      cleanup.defer(() => deleteKeysWithPrefix(testRedisUrl(), keyPrefix));
      const coordination = createRedisCoordination({ url: testRedisUrl(), keyPrefix });
      cleanup.defer(() => coordination.close());
      return { coordination, sharedDb };
    },
  },
];
