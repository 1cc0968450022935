// Исполнитель миграций схемы (SPEC §1): одинаково работает на PostgreSQL и на PGlite, потому что
// использует только порт Database. Каждая миграция — отдельная транзакция вместе со строкой учёта,
// поэтому сбой посреди многооператорного SQL не оставляет «полуприменённую» миграцию.
import { createHash } from 'node:crypto';
import type { Database, Migration } from '../ports/database.js';

const BOOKKEEPING_TABLE = 'artstore_schema_migrations';

/**
 * Контрольная сумма SQL миграции (sha256, hex). Переводы строк нормализуются до \n: иначе
 * checkout на Windows с autocrlf превратил бы каждую миграцию в «изменённую».
 */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n'), 'utf8').digest('hex');
}

function validate(scope: string, migrations: readonly Migration[]): void {
  if (typeof scope !== 'string' || scope.trim() === '') {
    throw new Error('runMigrations: scope должен быть непустой строкой');
  }
  let previous: string | undefined;
  migrations.forEach((migration, index) => {
    const { id, sql } = migration;
    if (typeof id !== 'string' || id.trim() === '') {
      throw new Error(`runMigrations(${scope}): миграция №${index} без id (нужна непустая строка)`);
    }
    if (typeof sql !== 'string' || sql.trim() === '') {
      throw new Error(`runMigrations(${scope}): миграция ${id} без SQL`);
    }
    // Сравнение строк по кодовым единицам — тот же порядок, в котором миграции будут применены.
    if (previous !== undefined && !(previous < id)) {
      throw new Error(
        `runMigrations(${scope}): id миграций должны строго возрастать, но '${id}' (№${index}) идёт после '${previous}'`,
      );
    }
    previous = id;
  });
}

function mismatch(scope: string, id: string, stored: string, current: string): Error {
  return new Error(
    `Миграция ${scope}/${id} уже применена, но её SQL изменился (checksum в БД ${stored}, в коде ${current}). ` +
      'Применённые миграции не редактируют — добавьте новую.',
  );
}

/**
 * Применяет ещё не применённые миграции scope по порядку и возвращает их id.
 *
 * Безопасен при одновременном запуске несколькими процессами: каждая транзакция берёт
 * pg_advisory_xact_lock по scope и перепроверяет учёт под блокировкой, поэтому миграция применяется
 * ровно один раз, а опоздавший процесс её пропускает. На PGlite (одно соединение) блокировка
 * тривиальна, а сериализацию обеспечивает сам адаптер.
 *
 * SQL миграции передаётся в query() без параметров — по правилу порта оба адаптера исполняют его
 * простым протоколом, так что в миграции может быть несколько операторов.
 */
export async function runMigrations(db: Database, scope: string, migrations: readonly Migration[]): Promise<string[]> {
  validate(scope, migrations);

  // CREATE TABLE IF NOT EXISTS не защищён от гонки двух процессов (дубль в pg_type → 23505),
  // поэтому и создание таблицы учёта идёт под общей advisory-блокировкой.
  await db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(hashtext($1))`, [BOOKKEEPING_TABLE]);
    await tx.query(`create table if not exists ${BOOKKEEPING_TABLE} (
      scope text not null,
      id text not null,
      checksum text not null,
      applied_at timestamptz not null default now(),
      primary key (scope, id)
    )`);
  });

  const { rows } = await db.query<{ id: string; checksum: string }>(
    `select id, checksum from ${BOOKKEEPING_TABLE} where scope = $1`,
    [scope],
  );
  const applied = new Map(rows.map((row) => [row.id, row.checksum]));

  // Сначала сверяем все уже применённые миграции: изменённая старая миграция — ошибка,
  // даже если новых нет, и её надо увидеть до того, как что-то применять поверх.
  const pending: Migration[] = [];
  for (const migration of migrations) {
    const stored = applied.get(migration.id);
    const checksum = migrationChecksum(migration.sql);
    if (stored === undefined) pending.push(migration);
    else if (stored !== checksum) throw mismatch(scope, migration.id, stored, checksum);
  }

  const appliedNow: string[] = [];
  for (const migration of pending) {
    const checksum = migrationChecksum(migration.sql);
    const didApply = await db.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(hashtext($1))`, [`${BOOKKEEPING_TABLE}:${scope}`]);
      const existing = await tx.query<{ checksum: string }>(
        `select checksum from ${BOOKKEEPING_TABLE} where scope = $1 and id = $2`,
        [scope, migration.id],
      );
      const stored = existing.rows[0]?.checksum;
      if (stored !== undefined) {
        // Другой процесс успел применить её, пока мы ждали блокировку.
        if (stored !== checksum) throw mismatch(scope, migration.id, stored, checksum);
        return false;
      }
      try {
        await tx.query(migration.sql);
      } catch (error) {
        // Обёртка называет миграцию; исходная ошибка драйвера (с SQLSTATE в .code) — в cause.
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`Миграция ${scope}/${migration.id} не применилась: ${reason}`, { cause: error });
      }
      await tx.query(`insert into ${BOOKKEEPING_TABLE} (scope, id, checksum) values ($1, $2, $3)`, [
        scope,
        migration.id,
        checksum,
      ]);
      return true;
    });
    if (didApply) appliedNow.push(migration.id);
  }
  return appliedNow;
}
