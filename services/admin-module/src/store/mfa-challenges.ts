// Незавершённые входы с двухфакторной аутентификацией (SPEC AD-6): пароль принят, ждём код. Токен
// непрозрачный, в БД — только sha256; одноразовый, с коротким сроком и пределом неверных кодов.
import type { Queryable } from '@artstore/core';

export function createMfaChallengeStore(db: Queryable) {
  return {
    /** Новый вход; заодно убираются давно истёкшие. */
    async insert(tokenHash: string, userId: string, ttlSeconds: number): Promise<void> {
      await db.query(`delete from admin_mfa_challenges where expires_at < now() - interval '1 day'`);
      await db.query(
        `insert into admin_mfa_challenges (token_hash, user_id, expires_at)
         values ($1, $2, now() + make_interval(secs => $3))`,
        [tokenHash, userId, ttlSeconds],
      );
    },

    /** Пользователь действующего входа: не истёк, не использован, неверных кодов меньше предела. */
    async activeUser(tokenHash: string, maxFailures: number): Promise<string | undefined> {
      const { rows } = await db.query<{ user_id: string }>(
        `select user_id from admin_mfa_challenges
         where token_hash = $1 and used_at is null and expires_at > now() and failures < $2`,
        [tokenHash, maxFailures],
      );
      return rows[0]?.user_id;
    },

    async recordFailure(tokenHash: string): Promise<void> {
      await db.query('update admin_mfa_challenges set failures = failures + 1 where token_hash = $1', [
        tokenHash,
      ]);
    },

    /** Гасит вход; false — его уже погасил параллельный запрос, он истёк или исчерпан. */
    async consume(tokenHash: string, maxFailures: number): Promise<boolean> {
      const { rowCount } = await db.query(
        `update admin_mfa_challenges set used_at = now()
         where token_hash = $1 and used_at is null and expires_at > now() and failures < $2`,
        [tokenHash, maxFailures],
      );
      return rowCount === 1;
    },
  };
}
export type MfaChallengeStore = ReturnType<typeof createMfaChallengeStore>;
