// Состояние SE в его БД: режим, установленный через API (SPEC SE-7), состояние scrub и сверки (SE-6).
// Таблица с префиксом SE.
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
  /** Значение по ключу; тип задаёт владелец ключа (режим, состояние scrub и сверки). */
  async function get<T>(key: string): Promise<T | undefined> {
    const { rows } = await db.query<{ value: T }>(`select value from ${table} where key = $1`, [key]);
    return rows[0]?.value;
  }
  async function put(key: string, value: unknown): Promise<void> {
    await db.query(
      `insert into ${table} (key, value, updated_at) values ($1, $2, now())
       on conflict (key) do update set value = excluded.value, updated_at = now()`,
      [key, JSON.stringify(value)],
    );
  }
  return {
    get,
    put,
    mode: () => get<PersistedMode>('mode'),
    saveMode: (value: PersistedMode) => put('mode', value),
  };
}
export type StateStore = ReturnType<typeof createStateStore>;
