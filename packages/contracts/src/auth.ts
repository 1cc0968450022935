// Ответы admin-module о токенах (SPEC §9, AD-3).

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  /** Пароль нужно сменить: до смены любой другой вызов отвечает PASSWORD_CHANGE_REQUIRED. */
  password_change_required: boolean;
  /**
   * Роль требует двухфакторной аутентификации, а она не подключена (SPEC AD-6): до подключения
   * (POST /api/auth/mfa/enrol и …/confirm) прочие вызовы отвечают MFA_ENROLMENT_REQUIRED.
   */
  mfa_enrolment_required: boolean;
  /**
   * Непрозрачный refresh-токен пользователя (SPEC AD-3): одноразовый — POST /api/auth/refresh отдаёт
   * новую пару; повторное предъявление уже использованного отзывает всё его семейство. У сервисных
   * учётных записей его нет (они просто получают новый токен по client_credentials).
   */
  refresh_token?: string;
  refresh_expires_in?: number;
}

export interface RefreshRequest {
  refresh_token: string;
}

export interface LogoutRequest {
  /** Отозвать семейство этого токена; без него — все refresh-токены пользователя. */
  refresh_token?: string;
}

export interface LoginRequest {
  username: string;
  password: string;
}

/** Пароль принят, нужен второй фактор (SPEC AD-6): POST /api/auth/mfa/verify с mfa_token и кодом. */
export interface MfaChallengeResponse {
  mfa_required: true;
  /** Непрозрачный одноразовый токен входа — не access-токен. */
  mfa_token: string;
  expires_in: number;
}

export type LoginResponse = TokenResponse | MfaChallengeResponse;

export interface MfaVerifyRequest {
  mfa_token: string;
  /** 6 цифр TOTP или резервный код. */
  code: string;
}

export interface MfaEnrolResponse {
  /** Секрет base32 — для ручного ввода в приложение. */
  secret: string;
  /** otpauth://totp/… — для QR-кода. */
  otpauth_uri: string;
}

/** Подтверждение подключения: резервные коды (показываются один раз) и новая пара токенов без mfa_enrol. */
export interface MfaConfirmResponse extends TokenResponse {
  recovery_codes: string[];
}

export interface MfaCodeRequest {
  code: string;
}

export interface PasswordChangeRequest {
  current_password: string;
  new_password: string;
}

export interface ClientCredentialsRequest {
  grant_type: 'client_credentials';
  client_id: string;
  client_secret: string;
}
