// Ответы admin-module о токенах (SPEC §9, AD-3).

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  /** Пароль нужно сменить: до смены любой другой вызов отвечает PASSWORD_CHANGE_REQUIRED. */
  password_change_required: boolean;
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
