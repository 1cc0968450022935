// Refresh-токены (SPEC AD-3): строки по одной на выдачу; токен в БД — только как sha256.
import type { Queryable } from '@artstore/core';

export interface RefreshTokenRow {
  id: string;
  family_id: string;
  user_id: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

export function createRefreshTokenStore(db: Queryable) {
  return {
    async insert(row: {
      id: string;
      family_id: string;
      user_id: string;
      token_hash: string;
      expires_at: Date;
    }): Promise<void> {
      await db.query(
        `insert into admin_refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at) values ($1, $2, $3, $4, now(), $5)`,
        [row.id, row.family_id, row.user_id, row.token_hash, row.expires_at],
      );
    },
    async byHash(tokenHash: string): Promise<RefreshTokenRow | undefined> {
      const { rows } = await db.query<RefreshTokenRow>(
        'select id, family_id, user_id, expires_at, used_at, revoked_at from admin_refresh_tokens where token_hash = $1',
        [tokenHash],
      );
      return rows[0];
    },
    /** Помечает токен использованным; false — его уже использовали или отозвали (гонка двух предъявлений). */
    async markUsed(id: string): Promise<boolean> {
      const { rowCount } = await db.query(
        'update admin_refresh_tokens set used_at = now() where id = $1 and used_at is null and revoked_at is null',
        [id],
      );
      return rowCount === 1;
    },
    async revokeFamily(familyId: string, reason: string): Promise<void> {
      await db.query(
        'update admin_refresh_tokens set revoked_at = now(), revoked_reason = $2 where family_id = $1 and revoked_at is null',
        [familyId, reason],
      );
    },
    async revokeUser(userId: string, reason: string): Promise<void> {
      await db.query(
        'update admin_refresh_tokens set revoked_at = now(), revoked_reason = $2 where user_id = $1 and revoked_at is null',
        [userId, reason],
      );
    },
  };
}
export type RefreshTokenStore = ReturnType<typeof createRefreshTokenStore>;
