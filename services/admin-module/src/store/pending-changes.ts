// Ожидающие изменения системного администратора (SPEC AD-1): запрос одного администратора,
// решение — другого.
import type { Queryable } from '@artstore/core';

/** Что меняется: роли, гранты и/или отключение, либо временный пароль (хранится только bcrypt-хеш). */
export interface UserChange {
  roles?: string[];
  /** Гранты с областью — компактной записью «роль@se:<id>», как в admin_users.grants. */
  grants?: string[];
  disabled?: boolean;
  password_hash?: string;
  /** Сброс двухфакторной аутентификации (SPEC AD-6): пользователь потерял устройство. */
  mfa_reset?: boolean;
}

export interface PendingChangeRow {
  id: string;
  user_id: string;
  change: UserChange;
  requested_by: string;
  requested_at: Date;
  status: 'pending' | 'approved' | 'rejected';
}

export function createPendingChangeStore(db: Queryable) {
  return {
    async insert(row: {
      id: string;
      user_id: string;
      change: UserChange;
      requested_by: string;
    }): Promise<void> {
      await db.query(
        `insert into admin_pending_user_changes (id, user_id, change, requested_by, requested_at, status)
         values ($1, $2, $3, $4, now(), 'pending')`,
        [row.id, row.user_id, JSON.stringify(row.change), row.requested_by],
      );
    },
    async pending(): Promise<PendingChangeRow[]> {
      const { rows } = await db.query<PendingChangeRow>(
        `select id, user_id, change, requested_by, requested_at, status from admin_pending_user_changes
         where status = 'pending' order by requested_at`,
      );
      return rows;
    },
    async byId(id: string): Promise<PendingChangeRow | undefined> {
      const { rows } = await db.query<PendingChangeRow>(
        'select id, user_id, change, requested_by, requested_at, status from admin_pending_user_changes where id = $1',
        [id],
      );
      return rows[0];
    },
    /** Решение по ожидающему изменению; false — решение уже принято (гонка двух решений). */
    async decide(id: string, decidedBy: string, status: 'approved' | 'rejected'): Promise<boolean> {
      const { rowCount } = await db.query(
        `update admin_pending_user_changes set status = $3, decided_by = $2, decided_at = now() where id = $1 and status = 'pending'`,
        [id, decidedBy, status],
      );
      return rowCount === 1;
    },
  };
}
export type PendingChangeStore = ReturnType<typeof createPendingChangeStore>;
