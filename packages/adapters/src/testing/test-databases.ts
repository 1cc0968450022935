// Обе реализации порта Database для наборов тестов, которые должны пройти на каждой (CONVENTIONS:
// встроенный PGlite и настоящий PostgreSQL одними и теми же проверками).
import type { Database } from '@artstore/core';
import { createPgliteDatabase } from '../pglite/pglite-database.js';
import { createPostgresDatabase } from '../postgres/postgres-database.js';
import { createThrowawayPostgres } from './postgres-test-db.js';

export interface OpenedTestDatabase {
  db: Database;
  /** Закрывает БД; одноразовая база PostgreSQL при этом удаляется. */
  close(): Promise<void>;
}

export interface TestDatabaseBackend {
  name: 'PGlite' | 'PostgreSQL';
  open(): Promise<OpenedTestDatabase>;
}

/** label — метка одноразовой базы PostgreSQL ([a-z0-9_], до 30 символов). */
export function testDatabaseBackends(label: string): TestDatabaseBackend[] {
  return [
    {
      name: 'PGlite',
      async open() {
        const db = await createPgliteDatabase();
        return { db, close: () => db.close() };
      },
    },
    {
      name: 'PostgreSQL',
      async open() {
        const pg = await createThrowawayPostgres(label);
        const db = createPostgresDatabase(pg.options);
        return {
          db,
          async close() {
            await db.close();
            await pg.drop();
          },
        };
      },
    },
  ];
}
