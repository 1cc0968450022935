// Одноразовая БД на локальном PostgreSQL для тестов (CONVENTIONS: «Real dependencies in tests»):
// каждый прогон создаёт свою базу и удаляет её после, так что параллельные прогоны не мешают друг другу.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PostgresDatabaseOptions } from '../postgres/postgres-database.js';

export interface ThrowawayPostgres {
  /** Параметры подключения к созданной базе — готовы для createPostgresDatabase(). */
  options: PostgresDatabaseOptions;
  /** Разрывает соединения с базой и удаляет её; повторный вызов безопасен. */
  drop(): Promise<void>;
}

const LABEL = /^[a-z0-9_]{1,30}$/;

/**
 * Сервер по умолчанию — 127.0.0.1:5432, пользователь postgres (trust). ARTSTORE_TEST_PG_URL
 * (postgres://user[:password]@host[:port]) переопределяет сервер; переменная читается только здесь,
 * это тестовая обвязка, а не конфигурация сервиса.
 */
function serverFromEnv(): Omit<PostgresDatabaseOptions, 'database'> {
  const raw = process.env.ARTSTORE_TEST_PG_URL;
  if (raw === undefined || raw === '') return { host: '127.0.0.1', port: 5432, user: 'postgres' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('ARTSTORE_TEST_PG_URL: не URL (ожидается postgres://user@host:port)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`ARTSTORE_TEST_PG_URL: схема должна быть postgres://, получено ${url.protocol}`);
  }
  return {
    host: url.hostname || '127.0.0.1',
    port: url.port === '' ? 5432 : Number(url.port),
    user: url.username === '' ? 'postgres' : decodeURIComponent(url.username),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
  };
}

async function withAdmin<T>(server: Omit<PostgresDatabaseOptions, 'database'>, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...server, database: 'postgres', connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createThrowawayPostgres(label: string): Promise<ThrowawayPostgres> {
  if (!LABEL.test(label)) throw new Error(`createThrowawayPostgres: label должен соответствовать ${String(LABEL)}, получено '${label}'`);
  const server = serverFromEnv();
  // Имя ≤ 63 байт (NAMEDATALEN): 11 + 30 + 1 + 12.
  const database = `artstore_t_${label}_${randomBytes(6).toString('hex')}`;
  // template0 + UTF8: русский полнотекстовый поиск не должен зависеть от кодировки template1.
  await withAdmin(server, (client) => client.query(`create database "${database}" template template0 encoding 'UTF8'`));
  let dropped = false;
  return {
    options: { ...server, database },
    async drop() {
      if (dropped) return;
      // WITH (FORCE) (PostgreSQL 13+) сам завершает оставшиеся соединения с базой.
      await withAdmin(server, (client) => client.query(`drop database if exists "${database}" with (force)`));
      dropped = true;
    },
  };
}
