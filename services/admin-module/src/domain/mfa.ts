// Двухфакторная аутентификация TOTP (SPEC AD-6): подключение (секрет и otpauth URI, подтверждение
// первым кодом), резервные коды, отключение и проверка второго фактора. Код принимается один раз:
// шаг времени принятого кода запоминается, код того же или более раннего шага — повтор (RFC 6238
// §5.2), он отвергается, журналируется и попадает в аудит. Каждый неверный код считается в предел
// неудачных входов (AD-2) — перебрать миллион кодов нельзя, даже с украденным access-токеном.
import { ArtError, type Logger } from '@artstore/core';
import type { MfaStore } from '../store/mfa.js';
import type { UserRow, UserStore } from '../store/users.js';
import type { Audit } from './audit.js';
import type { LoginThrottle } from './login-throttle.js';
import type { MasterKey } from './master-key.js';
import { hashRecoveryCode, newRecoveryCodes } from './recovery-codes.js';
import { isTotpCode, matchTotp, newTotpSecret, otpauthUri } from './totp.js';

export type MfaMethod = 'totp' | 'recovery_code';
type MfaUser = Pick<UserRow, 'id' | 'username' | 'roles'>;

export interface MfaDeps {
  store: MfaStore;
  users: Pick<UserStore, 'byId'>;
  /** Секрет TOTP хранится зашифрованным тем же мастер-ключом, что и ключи подписи (AD-4). */
  masterKey: MasterKey;
  /** issuer в otpauth URI (auth.mfa.issuer). */
  issuer: string;
  /** Роли, для которых MFA обязательна (auth.mfa.required_roles). */
  requiredRoles: readonly string[];
  throttle: LoginThrottle;
  audit: Pick<Audit, 'record'>;
  logger: Logger;
}

export function createMfa({ store, users, masterKey, issuer, requiredRoles, throttle, audit, logger }: MfaDeps) {
  /** Владелец токена; удалённый пользователь — токен недействителен (как при смене пароля). */
  async function userOf(userId: string): Promise<UserRow> {
    const user = await users.byId(userId);
    if (!user) throw new ArtError('AUTH_TOKEN_INVALID', 'Пользователь токена не существует');
    return user;
  }
  const mandatoryFor = (user: MfaUser) => user.roles.some((role) => requiredRoles.includes(role));

  async function record(user: MfaUser, action: string, details: Record<string, unknown> = {}) {
    await audit.record({ actor: user.id, action, target: user.id, details });
  }

  /** Неверный или повторный код: неудача входа, событие журнала и аудита, отказ. */
  async function refuse(user: MfaUser, ip: string, replay: boolean): Promise<never> {
    await throttle.failed(user.username, ip);
    logger.warn({ username: user.username, ip }, replay ? 'auth_mfa_replay' : 'auth_mfa_failed');
    await record(user, replay ? 'auth.mfa.replay_refused' : 'auth.mfa.failed', { ip });
    throw replay
      ? new ArtError('MFA_CODE_REPLAYED', 'Этот код уже использован — дождитесь следующего')
      : new ArtError('MFA_CODE_INVALID');
  }

  /** Второй фактор подключённой MFA: код TOTP или, если можно, резервный код. */
  async function prove(user: MfaUser, code: string, ip: string, allowRecovery: boolean): Promise<MfaMethod> {
    await throttle.assertAllowed(user.username, ip);
    const row = await store.byUser(user.id);
    if (!row || row.confirmed_at === null) throw new ArtError('MFA_NOT_ENABLED');
    const step = await matchTotp(masterKey.decrypt(row.secret_encrypted), code);
    if (step !== undefined) {
      if (await store.acceptStep(user.id, step)) return 'totp';
      return refuse(user, ip, true);
    }
    if (allowRecovery && !isTotpCode(code) && (await store.useRecoveryCode(user.id, hashRecoveryCode(code)))) {
      const remaining = await store.remainingRecoveryCodes(user.id);
      logger.warn({ username: user.username, ip, remaining }, 'auth_mfa_recovery_code_used');
      await record(user, 'auth.mfa.recovery_code_used', { ip, remaining });
      return 'recovery_code';
    }
    return refuse(user, ip, false);
  }

  return {
    isEnabled: (userId: string) => store.isEnabled(userId),

    /** Роль требует MFA, а она не подключена: токен пользователя несёт mfa_enrol. */
    async enrolmentRequired(user: MfaUser): Promise<boolean> {
      return mandatoryFor(user) && !(await store.isEnabled(user.id));
    },

    /** Второй фактор при входе: TOTP или резервный код. */
    prove: (user: MfaUser, code: string, ip: string) => prove(user, code, ip, true),

    /** Новый секрет (прежнее неподтверждённое подключение заменяется); действует после подтверждения. */
    async enrol(userId: string): Promise<{ secret: string; otpauth_uri: string }> {
      const user = await userOf(userId);
      const secret = newTotpSecret();
      if (!(await store.startEnrolment(user.id, masterKey.encrypt(secret)))) {
        throw new ArtError('MFA_ALREADY_ENABLED', 'Сначала отключите двухфакторную аутентификацию');
      }
      logger.info({ username: user.username }, 'auth_mfa_enrolment_started');
      await record(user, 'auth.mfa.enrolment_started');
      return { secret, otpauth_uri: otpauthUri(issuer, user.username, secret) };
    },

    /** Подтверждение первым кодом из приложения; ответ — резервные коды (показываются один раз). */
    async confirm(userId: string, code: string, ip: string): Promise<string[]> {
      const user = await userOf(userId);
      await throttle.assertAllowed(user.username, ip);
      const row = await store.byUser(user.id);
      if (!row) throw new ArtError('MFA_NOT_ENABLED', 'Подключение не начато: POST /api/auth/mfa/enrol');
      if (row.confirmed_at !== null) throw new ArtError('MFA_ALREADY_ENABLED');
      const step = await matchTotp(masterKey.decrypt(row.secret_encrypted), code);
      if (step === undefined) return refuse(user, ip, false);
      const codes = newRecoveryCodes();
      // Параллельный запрос успел подтвердить или начать подключение заново — этот код уже не к месту.
      if (!(await store.confirm(user.id, row.secret_encrypted, step, codes.map(hashRecoveryCode)))) {
        throw new ArtError('MFA_NOT_ENABLED', 'Подключение изменилось параллельным запросом — начните заново');
      }
      logger.info({ username: user.username }, 'auth_mfa_enabled');
      await record(user, 'auth.mfa.enabled');
      return codes;
    },

    /** Новые резервные коды взамен всех прежних — по текущему коду TOTP (не резервному). */
    async regenerateRecoveryCodes(userId: string, code: string, ip: string): Promise<string[]> {
      const user = await userOf(userId);
      await prove(user, code, ip, false);
      const codes = newRecoveryCodes();
      await store.replaceRecoveryCodes(user.id, codes.map(hashRecoveryCode));
      logger.info({ username: user.username }, 'auth_mfa_recovery_codes_regenerated');
      await record(user, 'auth.mfa.recovery_codes_regenerated');
      return codes;
    },

    /** Отключение владельцем — по коду и только если роль не требует MFA. */
    async disable(userId: string, code: string, ip: string): Promise<void> {
      const user = await userOf(userId);
      if (mandatoryFor(user)) {
        throw new ArtError('FORBIDDEN', `Для ролей ${requiredRoles.join(', ')} двухфакторная аутентификация обязательна`);
      }
      await prove(user, code, ip, true);
      await store.remove(user.id);
      logger.info({ username: user.username }, 'auth_mfa_disabled');
      await record(user, 'auth.mfa.disabled');
    },
  };
}
export type Mfa = ReturnType<typeof createMfa>;
