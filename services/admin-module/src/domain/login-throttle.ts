// Ограничение перебора паролей (SPEC AD-2, ASVS 2.2.1): неудачи считаются за скользящее окно на
// учётную запись и на адрес. Проверка идёт ДО сверки пароля и одинакова для существующих и
// несуществующих имён: закрытый вход не подтверждает ни пароль, ни имя.
import { ArtError, type Logger } from '@artstore/core';
import type { LoginFailureStore } from '../store/login-failures.js';

export interface LoginThrottleOptions {
  failures: LoginFailureStore;
  accountFailures: number;
  ipFailures: number;
  windowMs: number;
  logger: Logger;
  now?: () => Date;
}

const accountKey = (username: string) => `user:${username.toLowerCase()}`;
const ipKey = (ip: string) => `ip:${ip}`;

export function createLoginThrottle(options: LoginThrottleOptions) {
  const now = options.now ?? (() => new Date());
  return {
    /** Вход закрыт — AUTH_LOGIN_LOCKED с Retry-After до выхода старейшей неудачи из окна. */
    async assertAllowed(username: string, ip: string): Promise<void> {
      const at = now();
      const windows = await options.failures.count(
        [accountKey(username), ipKey(ip)],
        new Date(at.getTime() - options.windowMs),
      );
      const checks = [
        { scope: 'account', window: windows.get(accountKey(username)), limit: options.accountFailures },
        { scope: 'ip', window: windows.get(ipKey(ip)), limit: options.ipFailures },
      ] as const;
      for (const { scope, window, limit } of checks) {
        if (window === undefined || window.failures < limit) continue;
        const retryAfter = Math.max(
          1,
          Math.ceil(((window.oldest?.getTime() ?? at.getTime()) + options.windowMs - at.getTime()) / 1000),
        );
        options.logger.warn({ username, ip, scope, failures: window.failures }, 'auth_login_locked');
        throw new ArtError(
          'AUTH_LOGIN_LOCKED',
          `Слишком много неудачных попыток входа; повторите через ${retryAfter} с`,
          {
            headers: { 'retry-after': String(retryAfter) },
            extra: { retry_after_seconds: retryAfter },
          },
        );
      }
    },
    async failed(username: string, ip: string): Promise<void> {
      await options.failures.record([accountKey(username), ipKey(ip)], now());
    },
    async succeeded(username: string): Promise<void> {
      await options.failures.clear(accountKey(username), new Date(now().getTime() - options.windowMs));
    },
  };
}
export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
