// Реестр SE в БД admin-module (SPEC AD-7). Каждое изменение, которое видно в документе обнаружения
// (AD-8), поднимает его версию в той же транзакции: документ версии N собирается одним запросом и
// всегда одинаков, сколько бы раз и каким бы экземпляром его ни публиковали.
import type { Database, DiscoveryCapacity, Queryable, SeHealth, SeMode } from '@artstore/core';

export interface StorageElementRow {
  id: string;
  name: string;
  url: string;
  priority: number;
  managed_by: 'api' | 'config';
  mode: SeMode | null;
  configured_mode: SeMode | null;
  retention: string | null;
  health: SeHealth;
  health_error: string | null;
  capacity: DiscoveryCapacity | null;
  published_capacity: DiscoveryCapacity | null;
  last_polled_at: Date | null;
  last_seen_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** Что показал опрос SE (или проба при регистрации). */
export interface Observation {
  mode: SeMode | null;
  configured_mode: SeMode | null;
  /** storage.retention SE — срок хранения новых файлов. */
  retention: string | null;
  health: SeHealth;
  health_error: string | null;
  capacity: DiscoveryCapacity | null;
  polled_at: Date;
}

export interface DeclaredElement {
  id: string;
  url: string;
  priority: number;
}

const COLUMNS = `id, name, url, priority, managed_by, mode, configured_mode, retention, health, health_error, capacity,
  published_capacity, last_polled_at, last_seen_at, created_at, updated_at`;

async function bump(tx: Queryable): Promise<number> {
  const { rows } = await tx.query<{ version: string | number }>(
    'update admin_discovery_version set version = version + 1 returning version',
  );
  return Number(rows[0]!.version);
}

/** Наблюдение в строке; published_capacity — только если изменение входит в документ. */
async function writeObservation(
  tx: Queryable,
  id: string,
  observation: Observation,
  published: boolean,
): Promise<void> {
  await tx.query(
    `update admin_storage_elements set mode = $2, configured_mode = $3, health = $4, health_error = $5,
       capacity = $6::jsonb, last_polled_at = $7::timestamptz,
       last_seen_at = case when $4 = 'up' then $7::timestamptz else last_seen_at end,
       published_capacity = case when $8::boolean then $6::jsonb else published_capacity end,
       retention = $9
     where id = $1`,
    [
      id,
      observation.mode,
      observation.configured_mode,
      observation.health,
      observation.health_error,
      observation.capacity === null ? null : JSON.stringify(observation.capacity),
      observation.polled_at,
      published,
      observation.retention,
    ],
  );
}

export function createStorageElementStore(db: Database) {
  async function byId(tx: Queryable, id: string, lock = false): Promise<StorageElementRow | undefined> {
    const { rows } = await tx.query<StorageElementRow>(
      `select ${COLUMNS} from admin_storage_elements where id = $1${lock ? ' for update' : ''}`,
      [id],
    );
    return rows[0];
  }

  return {
    async list(): Promise<StorageElementRow[]> {
      const { rows } = await db.query<StorageElementRow>(
        `select ${COLUMNS} from admin_storage_elements order by priority, id`,
      );
      return rows;
    },

    byId: (id: string) => byId(db, id),

    /** Новый SE с результатом пробы; false — id уже занят. */
    async insert(
      element: { id: string; name: string; url: string; priority: number; managed_by: 'api' | 'config' },
      observation: Observation,
    ): Promise<boolean> {
      return db.transaction(async (tx) => {
        const { rowCount } = await tx.query(
          `insert into admin_storage_elements (id, name, url, priority, managed_by, created_at, updated_at)
           values ($1, $2, $3, $4, $5, now(), now()) on conflict (id) do nothing`,
          [element.id, element.name, element.url, element.priority, element.managed_by],
        );
        if (rowCount !== 1) return false;
        await writeObservation(tx, element.id, observation, true);
        await bump(tx);
        return true;
      });
    },

    /** Имя, адрес, приоритет; при новом адресе — и проба по нему. undefined — такого SE нет. */
    async update(
      id: string,
      patch: { name?: string; url?: string; priority?: number },
      observation: Observation | undefined,
    ): Promise<StorageElementRow | undefined> {
      return db.transaction(async (tx) => {
        const { rowCount } = await tx.query(
          `update admin_storage_elements set name = coalesce($2, name), url = coalesce($3, url),
             priority = coalesce($4, priority), updated_at = now() where id = $1`,
          [id, patch.name ?? null, patch.url ?? null, patch.priority ?? null],
        );
        if (rowCount !== 1) return undefined;
        if (observation) await writeObservation(tx, id, observation, true);
        await bump(tx);
        return byId(tx, id);
      });
    },

    async remove(id: string): Promise<boolean> {
      return db.transaction(async (tx) => {
        const { rowCount } = await tx.query('delete from admin_storage_elements where id = $1', [id]);
        if (rowCount !== 1) return false;
        await bump(tx);
        return true;
      });
    },

    /**
     * Записывает опрос. significant решает по прежней строке (под блокировкой), входит ли изменение в
     * документ; тогда поднимается версия. false — SE удалили, пока шёл опрос.
     */
    async observe(
      id: string,
      observation: Observation,
      significant: (previous: StorageElementRow) => boolean,
    ): Promise<{ bumped: boolean } | undefined> {
      return db.transaction(async (tx) => {
        const previous = await byId(tx, id, true);
        if (!previous) return undefined;
        const bumped = significant(previous);
        await writeObservation(tx, id, observation, bumped);
        if (bumped) await bump(tx);
        return { bumped };
      });
    },

    /**
     * Конфигурация как код (SPEC BY-7): объявленные SE заводятся или обновляются (новый адрес сбрасывает
     * наблюдения), а исчезнувшие из конфигурации переходят под управление API — не удаляются молча.
     */
    async syncDeclared(
      declared: readonly DeclaredElement[],
    ): Promise<{ changed: string[]; released: string[] }> {
      return db.transaction(async (tx) => {
        const changed: string[] = [];
        for (const element of declared) {
          const { rowCount } = await tx.query(
            `insert into admin_storage_elements (id, name, url, priority, managed_by, created_at, updated_at)
             values ($1, $1, $2, $3, 'config', now(), now())
             on conflict (id) do update set url = excluded.url, priority = excluded.priority, managed_by = 'config',
               health = case when admin_storage_elements.url = excluded.url then admin_storage_elements.health else 'unknown' end,
               updated_at = now()
             where (admin_storage_elements.url, admin_storage_elements.priority, admin_storage_elements.managed_by)
               is distinct from (excluded.url, excluded.priority, 'config')`,
            [element.id, element.url, element.priority],
          );
          if (rowCount === 1) changed.push(element.id);
        }
        const { rows } = await tx.query<{ id: string }>(
          `update admin_storage_elements set managed_by = 'api', updated_at = now()
           where managed_by = 'config' and not (id = any($1::text[])) returning id`,
          [declared.map((element) => element.id)],
        );
        const released = rows.map((row) => row.id);
        if (changed.length > 0 || released.length > 0) await bump(tx);
        return { changed, released };
      });
    },

    /** Переводит версию за min: документ в координации новее БД (БД восстановлена из копии). */
    async advanceVersion(min: number): Promise<void> {
      await db.query('update admin_discovery_version set version = greatest(version, $1::bigint) + 1', [min]);
    },

    /** Версия и строки документа — одним запросом, то есть из одного снимка БД. */
    async document(): Promise<{ version: number; rows: StorageElementRow[] }> {
      const { rows } = await db.query<StorageElementRow & { version: string | number }>(
        `select v.version, e.* from admin_discovery_version v
         left join admin_storage_elements e on true order by e.priority, e.id`,
      );
      return {
        version: Number(rows[0]!.version),
        rows: rows.filter((row) => row.id !== null),
      };
    },
  };
}
export type StorageElementStore = ReturnType<typeof createStorageElementStore>;
