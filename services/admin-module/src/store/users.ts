import type { Queryable } from '@artstore/core';

export interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  roles: string[];
  /** Гранты с областью, компактной записью «роль@se:<id>» (SPEC AD-5). */
  grants: string[];
  disabled: boolean;
  must_change_password: boolean;
  password_changed_at: Date;
  created_at: Date;
  updated_at: Date;
  /** Подключена ли TOTP (подтверждена) — вычисляется по admin_mfa (SPEC AD-6). */
  mfa_enabled: boolean;
}

/** Строка пользователя вместе с признаком MFA: одинаково во всех выборках и в RETURNING. */
const USER_COLUMNS = `admin_users.*, exists (
  select 1 from admin_mfa where admin_mfa.user_id = admin_users.id and admin_mfa.confirmed_at is not null
) as mfa_enabled`;

export function createUserStore(db: Queryable) {
  return {
    async count(): Promise<number> {
      const { rows } = await db.query<{ n: number }>('select count(*)::int as n from admin_users');
      return rows[0]?.n ?? 0;
    },
    async byUsername(username: string): Promise<UserRow | undefined> {
      const { rows } = await db.query<UserRow>(`select ${USER_COLUMNS} from admin_users where username = $1`, [username]);
      return rows[0];
    },
    async byId(id: string): Promise<UserRow | undefined> {
      const { rows } = await db.query<UserRow>(`select ${USER_COLUMNS} from admin_users where id = $1`, [id]);
      return rows[0];
    },
    /** Создаёт пользователя, если имени ещё нет; false — уже существует (гонка двух экземпляров admin). */
    async insertIfAbsent(user: Omit<UserRow, 'grants' | 'created_at' | 'updated_at' | 'mfa_enabled'>): Promise<boolean> {
      const { rowCount } = await db.query(
        `insert into admin_users (id, username, password_hash, roles, disabled, must_change_password, password_changed_at, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, now(), now()) on conflict (username) do nothing`,
        [
          user.id,
          user.username,
          user.password_hash,
          user.roles,
          user.disabled,
          user.must_change_password,
          user.password_changed_at,
        ],
      );
      return rowCount === 1;
    },
    /** Новый пользователь с временным паролем; false — имя занято (без учёта регистра). */
    async create(user: {
      id: string;
      username: string;
      password_hash: string;
      roles: string[];
      grants: string[];
    }): Promise<boolean> {
      try {
        await db.query(
          `insert into admin_users (id, username, password_hash, roles, grants, disabled, must_change_password, password_changed_at, created_at, updated_at)
           values ($1, $2, $3, $4, $5, false, true, now(), now(), now())`,
          [user.id, user.username, user.password_hash, user.roles, user.grants],
        );
        return true;
      } catch (error) {
        if (error instanceof Error && 'code' in error && error.code === '23505') return false;
        throw error;
      }
    },
    async list(): Promise<UserRow[]> {
      const { rows } = await db.query<UserRow>(`select ${USER_COLUMNS} from admin_users order by username`);
      return rows;
    },
    /** Новые роли, гранты и/или признак отключения; возвращает обновлённую строку. */
    async update(
      id: string,
      patch: { roles?: string[]; grants?: string[]; disabled?: boolean },
    ): Promise<UserRow | undefined> {
      const { rows } = await db.query<UserRow>(
        `update admin_users set roles = coalesce($2, roles), grants = coalesce($3, grants),
           disabled = coalesce($4, disabled), updated_at = now()
         where id = $1 returning ${USER_COLUMNS}`,
        [id, patch.roles ?? null, patch.grants ?? null, patch.disabled ?? null],
      );
      return rows[0];
    },
    /** Пароль, заданный администратором: временный — владелец обязан сменить его при входе. */
    async resetPassword(id: string, passwordHash: string): Promise<void> {
      await db.query(
        `update admin_users set password_hash = $2, must_change_password = true, password_changed_at = now(), updated_at = now()
         where id = $1`,
        [id, passwordHash],
      );
    },
    async setPassword(id: string, passwordHash: string): Promise<void> {
      await db.query(
        `update admin_users set password_hash = $2, must_change_password = false, password_changed_at = now(), updated_at = now()
         where id = $1`,
        [id, passwordHash],
      );
    },
  };
}
export type UserStore = ReturnType<typeof createUserStore>;
