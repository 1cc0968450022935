// Вход (с двухфакторной аутентификацией — AD-6), смена пароля и client_credentials (SPEC AD-1, AD-3, §9).
import { ArtError, isArtError, uuidv7, type Logger } from '@artstore/core';
import type { LoginResponse, MfaConfirmResponse, TokenResponse } from '@artstore/contracts';
import type { ServiceAccountStore } from '../store/service-accounts.js';
import type { UserRow, UserStore } from '../store/users.js';
import type { Audit } from './audit.js';
import type { RefreshTokens } from './refresh-tokens.js';
import type { LoginThrottle } from './login-throttle.js';
import type { Mfa, MfaMethod } from './mfa.js';
import type { MfaChallenges } from './mfa-challenges.js';
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
  /** Двухфакторная аутентификация (SPEC AD-6): второй шаг входа и признак mfa_enrol в токене. */
  mfa: Mfa;
  mfaChallenges: MfaChallenges;
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
    mfa,
    mfaChallenges,
    audit,
    passwordMaxAgeDays,
    logger,
    now = () => new Date(),
  } = deps;
  async function tokenFor(
    subject: Parameters<TokenIssuer['issue']>[0],
    options?: Parameters<TokenIssuer['issue']>[1],
  ): Promise<TokenResponse> {
    const { token, expiresIn } = await issuer.issue(subject, options);
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: expiresIn,
      password_change_required: subject.mustChangePassword,
      mfa_enrolment_required: subject.mustEnrolMfa ?? false,
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
      grants: user.grants,
      mustChangePassword: user.must_change_password || expired,
      mustEnrolMfa: await mfa.enrolmentRequired(user),
    });
    const refresh = await refreshTokens.issue(user.id, familyId);
    return { ...access, refresh_token: refresh.token, refresh_expires_in: refresh.expiresIn };
  }

  /** Вход состоялся: счёт неудач снят, пара токенов, журнал и аудит (method — каким был второй фактор). */
  async function loggedIn(user: UserRow, ip: string, method?: MfaMethod): Promise<TokenResponse> {
    await throttle.succeeded(user.username);
    const tokens = await userTokens(user);
    logger.info(
      { username: user.username, ip, must_change_password: tokens.password_change_required, mfa: method },
      'auth_login_succeeded',
    );
    await audit.record({
      actor: user.id,
      action: 'auth.login.succeeded',
      target: user.id,
      details: method === undefined ? { ip } : { ip, mfa: method },
    });
    return tokens;
  }

  return {
    async login(username: string, password: string, ip: string): Promise<LoginResponse> {
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
      if (await mfa.isEnabled(user.id)) {
        // Пароль верен, но это ещё не вход: счёт неудач не снимается до верного второго фактора,
        // иначе вход паролем между попытками кода обнулял бы предел перебора кодов.
        const challenge = await mfaChallenges.open(user.id);
        logger.info({ username, ip }, 'auth_login_mfa_required');
        await audit.record({
          actor: user.id,
          action: 'auth.login.mfa_required',
          target: user.id,
          details: { ip },
        });
        return { mfa_required: true, mfa_token: challenge.token, expires_in: challenge.expiresIn };
      }
      return loggedIn(user, ip);
    },

    /** Второй шаг входа (SPEC AD-6): код TOTP или резервный код к mfa_token — пара токенов. */
    async verifyMfa(mfaToken: string, code: string, ip: string): Promise<TokenResponse> {
      const user = await users.byId(await mfaChallenges.userOf(mfaToken));
      if (!user) throw new ArtError('MFA_CHALLENGE_INVALID', 'Пользователь удалён');
      // Отключён, пока вводили код, — как при входе паролем.
      if (user.disabled) throw new ArtError('AUTH_ACCOUNT_DISABLED');
      let method: MfaMethod;
      try {
        method = await mfa.prove(user, code, ip);
      } catch (error) {
        if (isArtError(error, 'MFA_CODE_INVALID') || isArtError(error, 'MFA_CODE_REPLAYED'))
          await mfaChallenges.failed(mfaToken);
        throw error;
      }
      await mfaChallenges.consume(mfaToken);
      return loggedIn(user, ip, method);
    },

    /**
     * Подтверждение подключения MFA: прежние сессии (начатые одним паролем) завершаются, ответ — резервные
     * коды и новая пара токенов уже без mfa_enrol.
     */
    async confirmMfa(userId: string, code: string, ip: string): Promise<MfaConfirmResponse> {
      const recoveryCodes = await mfa.confirm(userId, code, ip);
      await refreshTokens.revokeUser(userId, 'mfa_enabled');
      const user = await users.byId(userId);
      if (!user) throw new ArtError('AUTH_TOKEN_INVALID', 'Пользователь токена не существует');
      return { ...(await userTokens(user)), recovery_codes: recoveryCodes };
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
      // Истёкшая интеграция (SPEC AD-3) — тот же отказ, что неверный секрет: срок не подсказывается.
      const secondsLeft =
        account?.expires_at == null ? undefined : Math.floor((new Date(account.expires_at).getTime() - now().getTime()) / 1000);
      if (!account || !ok || account.disabled || (secondsLeft !== undefined && secondsLeft <= 0)) {
        logger.warn({ client_id: clientId, expired: secondsLeft !== undefined && secondsLeft <= 0 }, 'auth_client_credentials_failed');
        throw new ArtError('AUTH_INVALID_CREDENTIALS', 'Неверный client_id или client_secret');
      }
      // Токен интеграции не живёт дольше самой интеграции.
      return tokenFor(
        {
          subject: `svc:${clientId}`,
          name: clientId,
          kind: 'service',
          roles: account.roles,
          grants: account.grants,
          mustChangePassword: false,
        },
        secondsLeft === undefined ? undefined : { ttlSeconds: secondsLeft },
      );
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
      clients: readonly { client_id: string; client_secret: string; roles: string[]; grants: string[] }[],
    ): Promise<void> {
      for (const client of clients) {
        const existing = await serviceAccounts.byClientId(client.client_id);
        const same =
          existing !== undefined &&
          existing.roles.join(',') === client.roles.join(',') &&
          existing.grants.join(',') === client.grants.join(',') &&
          (await verifyPassword(client.client_secret, existing.secret_hash));
        if (!same) {
          await serviceAccounts.upsert({
            client_id: client.client_id,
            secret_hash: await hashPassword(client.client_secret),
            roles: client.roles,
            grants: client.grants,
          });
          logger.info({ client_id: client.client_id, roles: client.roles, grants: client.grants }, 'service_account_synced');
        }
      }
    },
  };
}
export type AuthService = ReturnType<typeof createAuthService>;
