// Ответы admin-module о токенах (SPEC §9, AD-3).

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  /** Пароль нужно сменить: до смены любой другой вызов отвечает PASSWORD_CHANGE_REQUIRED. */
  password_change_required: boolean;
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
  totp?: string;
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
