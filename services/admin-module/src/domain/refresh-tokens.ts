// Refresh-токены пользователей (SPEC AD-3): непрозрачные, 7 дней, в БД только sha256. Каждое
// предъявление выдаёт новый токен того же семейства, а предъявленный становится использованным;
// повторное предъявление использованного — признак кражи: отзывается всё семейство (OAuth 2.0
// Security BCP, refresh token rotation).
import { createHash, randomBytes } from 'node:crypto';
import { ArtError, uuidv7, type Logger } from '@artstore/core';
import type { RefreshTokenStore } from '../store/refresh-tokens.js';
import type { Audit } from './audit.js';

const PREFIX = 'rt_';

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface RefreshTokensOptions {
  store: RefreshTokenStore;
  ttlSeconds: number;
  /** Повтор использованного токена — событие безопасности в журнале аудита (SPEC AD-9). */
  audit: Pick<Audit, 'record'>;
  logger: Logger;
}

export function createRefreshTokens({ store, ttlSeconds, audit, logger }: RefreshTokensOptions) {
  const invalid = () => new ArtError('AUTH_REFRESH_INVALID');
  return {
    /** Новый токен; familyId — при ротации, без него — новое семейство (вход). */
    async issue(
      userId: string,
      familyId: string = uuidv7(),
    ): Promise<{ token: string; expiresIn: number; familyId: string }> {
      const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
      await store.insert({
        id: uuidv7(),
        family_id: familyId,
        user_id: userId,
        token_hash: hashToken(token),
        expires_at: new Date(Date.now() + ttlSeconds * 1000),
      });
      return { token, expiresIn: ttlSeconds, familyId };
    },

    /** Предъявление: токен действителен и ещё не использован — он помечается использованным. */
    async consume(token: string): Promise<{ userId: string; familyId: string }> {
      if (!token.startsWith(PREFIX)) throw invalid();
      const row = await store.byHash(hashToken(token));
      if (!row || row.revoked_at !== null || new Date(row.expires_at).getTime() <= Date.now())
        throw invalid();
      if (row.used_at !== null || !(await store.markUsed(row.id))) {
        await store.revokeFamily(row.family_id, 'reuse_detected');
        logger.warn({ user_id: row.user_id, family_id: row.family_id }, 'auth_refresh_reuse_detected');
        await audit.record({
          actor: row.user_id,
          action: 'auth.refresh.reuse_detected',
          target: row.user_id,
          details: { family_id: row.family_id },
        });
        throw invalid();
      }
      return { userId: row.user_id, familyId: row.family_id };
    },

    /** Выход: семейство этого токена, если он принадлежит пользователю; чужой или неизвестный — ничего. */
    async revokeFamilyOf(token: string, userId: string, reason: string): Promise<void> {
      const row = await store.byHash(hashToken(token));
      if (row && row.user_id === userId) await store.revokeFamily(row.family_id, reason);
    },

    revokeFamily: (familyId: string, reason: string) => store.revokeFamily(familyId, reason),
    revokeUser: (userId: string, reason: string) => store.revokeUser(userId, reason),
  };
}
export type RefreshTokens = ReturnType<typeof createRefreshTokens>;
