// Неудачные входы (SPEC AD-2, ASVS 2.2.1): счёт за скользящее окно по ключу учётной записи и адреса.
import type { Queryable } from '@artstore/core';

export interface FailureWindow {
  failures: number;
  /** Самая ранняя неудача в окне: когда она выйдет из окна, счёт уменьшится. */
  oldest: Date | null;
}

export function createLoginFailureStore(db: Queryable) {
  return {
    async record(keys: readonly string[], at: Date): Promise<void> {
      if (keys.length === 0) return;
      await db.query('insert into admin_login_failures (key, failed_at) select unnest($1::text[]), $2', [
        keys,
        at,
      ]);
    },
    /** Неудачи по каждому ключу после since. */
    async count(keys: readonly string[], since: Date): Promise<Map<string, FailureWindow>> {
      const { rows } = await db.query<{ key: string; failures: number; oldest: Date | string | null }>(
        `select key, count(*)::int as failures, min(failed_at) as oldest from admin_login_failures
         where key = any($1::text[]) and failed_at > $2 group by key`,
        [keys, since],
      );
      return new Map(
        rows.map((row) => [
          row.key,
          { failures: row.failures, oldest: row.oldest === null ? null : new Date(row.oldest) },
        ]),
      );
    },
    /** Успешный вход снимает счёт учётной записи; старые строки всех ключей убираются. */
    async clear(key: string, olderThan: Date): Promise<void> {
      await db.query('delete from admin_login_failures where key = $1 or failed_at <= $2', [key, olderThan]);
    },
  };
}
export type LoginFailureStore = ReturnType<typeof createLoginFailureStore>;
