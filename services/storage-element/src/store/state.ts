// Состояние SE в его БД: режим, установленный через API (SPEC SE-7). Таблица с префиксом SE.
import type { Database } from '@artstore/core';
import type { Mode } from '../domain/modes.js';

/** Режим, выставленный через API, и режим конфигурации на тот момент (см. mode-controller). */
export interface PersistedMode {
  mode: Mode;
  configured: Mode;
  changed_at: string;
  changed_by: string;
}

export function createStateStore(db: Database, prefix: string) {
  const table = `${prefix}state`;
  return {
    async mode(): Promise<PersistedMode | undefined> {
      const { rows } = await db.query<{ value: PersistedMode }>(`select value from ${table} where key = 'mode'`);
      return rows[0]?.value;
    },
    async saveMode(value: PersistedMode): Promise<void> {
      await db.query(
        `insert into ${table} (key, value, updated_at) values ('mode', $1, now())
         on conflict (key) do update set value = excluded.value, updated_at = now()`,
        [JSON.stringify(value)],
      );
    },
  };
}
export type StateStore = ReturnType<typeof createStateStore>;
