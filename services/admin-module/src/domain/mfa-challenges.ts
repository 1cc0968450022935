// Вход с двухфакторной аутентификацией (SPEC AD-6) идёт в два шага: пароль принят — выдаётся
// непрозрачный mfa_token (это не access-токен: ни один сервис его не примет); код — POST
// /api/auth/mfa/verify. Токен одноразовый, живёт 5 минут и гаснет после 5 неверных кодов, а каждый
// неверный код ещё и считается в общий предел неудачных входов (login-throttle).
import { createHash, randomBytes } from 'node:crypto';
import { ArtError } from '@artstore/core';
import type { MfaChallengeStore } from '../store/mfa-challenges.js';

const PREFIX = 'mfa_';
export const MFA_CHALLENGE_TTL_SECONDS = 300;
export const MFA_CHALLENGE_MAX_FAILURES = 5;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
const invalid = () => new ArtError('MFA_CHALLENGE_INVALID', 'Войдите паролем заново');

export function createMfaChallenges(store: MfaChallengeStore) {
  return {
    async open(userId: string): Promise<{ token: string; expiresIn: number }> {
      const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
      await store.insert(hashToken(token), userId, MFA_CHALLENGE_TTL_SECONDS);
      return { token, expiresIn: MFA_CHALLENGE_TTL_SECONDS };
    },

    /** Чей это действующий вход; неизвестный, истёкший, использованный или исчерпанный — отказ. */
    async userOf(token: string): Promise<string> {
      const userId = token.startsWith(PREFIX)
        ? await store.activeUser(hashToken(token), MFA_CHALLENGE_MAX_FAILURES)
        : undefined;
      if (userId === undefined) throw invalid();
      return userId;
    },

    failed: (token: string) => store.recordFailure(hashToken(token)),

    /** Гасит вход после верного кода; проигравший параллельный запрос получает отказ. */
    async consume(token: string): Promise<void> {
      if (!(await store.consume(hashToken(token), MFA_CHALLENGE_MAX_FAILURES))) throw invalid();
    },
  };
}
export type MfaChallenges = ReturnType<typeof createMfaChallenges>;
