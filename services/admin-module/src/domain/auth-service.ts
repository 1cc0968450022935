// Вход, смена пароля и client_credentials (SPEC AD-1, AD-3, §9).
import { ArtError, isArtError, uuidv7, type Logger } from '@artstore/core';
import type { TokenResponse } from '@artstore/contracts';
import type { ServiceAccountStore } from '../store/service-accounts.js';
import type { UserRow, UserStore } from '../store/users.js';
import type { Audit } from './audit.js';
import type { RefreshTokens } from './refresh-tokens.js';
import type { LoginThrottle } from './login-throttle.js';
import { assertPasswordPolicy, hashPassword, MAX_PASSWORD_BYTES, verifyPassword } from './passwords.js';
import type { TokenIssuer } from './token-issuer.js';

/** Пароль администратора по умолчанию: допустим только в профиле embedded и только до первого входа (SPEC AD-1). */
export const DEFAULT_ADMIN_PASSWORD = 'admin123';
export const SYSTEM_ADMIN = 'admin';

export interface AuthServiceDeps {
  users: UserStore;
  serviceAccounts: ServiceAccountStore;
  issuer: TokenIssuer;
  throttle: LoginThrottle;
  refreshTokens: RefreshTokens;
  /** Журнал аудита (SPEC AD-9): входы, выходы, смены пароля. */
  audit: Pick<Audit, 'record'>;
  /** Пароль старше этого требует смены при входе (SPEC AD-1). */
  passwordMaxAgeDays: number;
  logger: Logger;
  now?: () => Date;
}

export function createAuthService(deps: AuthServiceDeps) {
  const {
    users,
    serviceAccounts,
    issuer,
    throttle,
    refreshTokens,
    audit,
    passwordMaxAgeDays,
    logger,
    now = () => new Date(),
  } = deps;
  async function tokenFor(subject: Parameters<TokenIssuer['issue']>[0]): Promise<TokenResponse> {
    const { token, expiresIn } = await issuer.issue(subject);
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: expiresIn,
      password_change_required: subject.mustChangePassword,
    };
  }

  /** Пара для пользователя: access-токен и refresh-токен (новое семейство при входе, то же — при ротации). */
  async function userTokens(user: UserRow, familyId?: string): Promise<TokenResponse> {
    const expired =
      now().getTime() - new Date(user.password_changed_at).getTime() > passwordMaxAgeDays * 86_400_000;
    const access = await tokenFor({
      subject: user.id,
      name: user.username,
      kind: 'user',
      roles: user.roles,
      mustChangePassword: user.must_change_password || expired,
    });
    const refresh = await refreshTokens.issue(user.id, familyId);
    return { ...access, refresh_token: refresh.token, refresh_expires_in: refresh.expiresIn };
  }

  return {
    async login(username: string, password: string, ip: string): Promise<TokenResponse> {
      await throttle.assertAllowed(username, ip);
      const user = await users.byUsername(username);
      // Длиннее 72 байт пароль быть не может (политика): bcrypt сверил бы только первые 72 байта, и
      // пароль с тем же началом и любым хвостом прошёл бы. Такой ввод — неудача, без сверки.
      const ok =
        Buffer.byteLength(password, 'utf8') <= MAX_PASSWORD_BYTES &&
        (await verifyPassword(password, user?.password_hash));
      if (!user || !ok) {
        await throttle.failed(username, ip);
        logger.warn({ username, ip }, 'auth_login_failed');
        await audit.record({ actor: username, action: 'auth.login.failed', details: { ip } });
        throw new ArtError('AUTH_INVALID_CREDENTIALS');
      }
      if (user.disabled) {
        logger.warn({ username, ip }, 'auth_login_disabled');
        await audit.record({
          actor: user.id,
          action: 'auth.login.refused_disabled',
          target: user.id,
          details: { ip },
        });
        throw new ArtError('AUTH_ACCOUNT_DISABLED');
      }
      await throttle.succeeded(username);
      const tokens = await userTokens(user);
      logger.info(
        { username, ip, must_change_password: tokens.password_change_required },
        'auth_login_succeeded',
      );
      await audit.record({
        actor: user.id,
        action: 'auth.login.succeeded',
        target: user.id,
        details: { ip },
      });
      return tokens;
    },

    /** Ротация (SPEC AD-3): предъявленный refresh-токен использован, выдаётся новая пара того же семейства. */
    async refresh(refreshToken: string): Promise<TokenResponse> {
      const { userId, familyId } = await refreshTokens.consume(refreshToken);
      const user = await users.byId(userId);
      if (!user || user.disabled) {
        await refreshTokens.revokeFamily(familyId, 'user_unavailable');
        throw new ArtError('AUTH_REFRESH_INVALID', 'Учётная запись удалена или отключена');
      }
      return userTokens(user, familyId);
    },

    /** Выход: семейство предъявленного refresh-токена или, без него, все refresh-токены пользователя. */
    async logout(userId: string, refreshToken: string | undefined): Promise<void> {
      if (refreshToken === undefined) await refreshTokens.revokeUser(userId, 'logout');
      else await refreshTokens.revokeFamilyOf(refreshToken, userId, 'logout');
      logger.info({ user_id: userId, all_sessions: refreshToken === undefined }, 'auth_logout');
      await audit.record({
        actor: userId,
        action: 'auth.logout',
        target: userId,
        details: { all_sessions: refreshToken === undefined },
      });
    },

    async changePassword(userId: string, current: string, next: string): Promise<TokenResponse> {
      const user = await users.byId(userId);
      if (!user) throw new ArtError('AUTH_TOKEN_INVALID', 'Пользователь токена не существует');
      if (!(await verifyPassword(current, user.password_hash))) {
        logger.warn({ username: user.username }, 'auth_password_change_failed');
        throw new ArtError('AUTH_INVALID_CREDENTIALS', 'Текущий пароль неверен');
      }
      assertPasswordPolicy(next, { username: user.username, previous: current });
      await users.setPassword(user.id, await hashPassword(next));
      // Смена пароля завершает все прежние сессии (SPEC AD-3): их refresh-токены отозваны.
      await refreshTokens.revokeUser(user.id, 'password_changed');
      logger.info({ username: user.username }, 'auth_password_changed');
      await audit.record({ actor: user.id, action: 'auth.password.changed', target: user.id });
      const changed = await users.byId(user.id);
      return userTokens(changed!);
    },

    async clientCredentials(clientId: string, secret: string): Promise<TokenResponse> {
      const account = await serviceAccounts.byClientId(clientId);
      const ok = await verifyPassword(secret, account?.secret_hash);
      if (!account || !ok || account.disabled) {
        logger.warn({ client_id: clientId }, 'auth_client_credentials_failed');
        throw new ArtError('AUTH_INVALID_CREDENTIALS', 'Неверный client_id или client_secret');
      }
      return tokenFor({
        subject: `svc:${clientId}`,
        name: clientId,
        kind: 'service',
        roles: account.roles,
        mustChangePassword: false,
      });
    },

    /**
     * Первый администратор (SPEC AD-1): в embedded — admin/admin123, в production — пароль из
     * auth.initial_admin_password (отсутствующий или по умолчанию — отказ старта). Смена при первом входе — всегда.
     */
    async bootstrapAdmin(
      profile: 'embedded' | 'production',
      initialPassword: string | undefined,
    ): Promise<void> {
      if ((await users.count()) > 0) return;
      let password = DEFAULT_ADMIN_PASSWORD;
      if (profile === 'production') {
        if (initialPassword === undefined || initialPassword === DEFAULT_ADMIN_PASSWORD) {
          throw new ArtError(
            'CONFIG_INVALID',
            'Профиль production: задайте auth.initial_admin_password (ARTSTORE_AUTH__INITIAL_ADMIN_PASSWORD), не admin123',
          );
        }
        try {
          assertPasswordPolicy(initialPassword, { username: SYSTEM_ADMIN });
        } catch (error) {
          // Это ошибка конфигурации, а не запроса: код CONFIG_INVALID и имя ключа, как у прочих отказов старта.
          if (!isArtError(error, 'PASSWORD_POLICY_VIOLATION')) throw error;
          throw new ArtError(
            'CONFIG_INVALID',
            `auth.initial_admin_password не проходит политику паролей: ${error.message}`,
          );
        }
        password = initialPassword;
      }
      const created = await users.insertIfAbsent({
        id: uuidv7(),
        username: SYSTEM_ADMIN,
        password_hash: await hashPassword(password),
        roles: ['admin'],
        disabled: false,
        must_change_password: true,
        password_changed_at: new Date(),
      });
      if (created) logger.info({ username: SYSTEM_ADMIN }, 'admin_bootstrapped');
    },

    /** Сервисные учётные записи из конфигурации (BY-7): секрет в БД только как bcrypt-хеш. */
    async syncServiceClients(
      clients: readonly { client_id: string; client_secret: string; roles: string[] }[],
    ): Promise<void> {
      for (const client of clients) {
        const existing = await serviceAccounts.byClientId(client.client_id);
        const same =
          existing !== undefined &&
          existing.roles.join(',') === client.roles.join(',') &&
          (await verifyPassword(client.client_secret, existing.secret_hash));
        if (!same) {
          await serviceAccounts.upsert({
            client_id: client.client_id,
            secret_hash: await hashPassword(client.client_secret),
            roles: client.roles,
          });
          logger.info({ client_id: client.client_id, roles: client.roles }, 'service_account_synced');
        }
      }
    },
  };
}
export type AuthService = ReturnType<typeof createAuthService>;
