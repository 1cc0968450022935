// Клиент CLI к работающей системе через единую точку входа (SPEC §9). Ошибки problem+json
// показываются пользователю кодом и текстом, без стеков.
import { Agent, request, type Dispatcher } from 'undici';
import type { LoginResponse, TokenResponse } from '@artstore/contracts';

export interface ClientOptions {
  url: string;
  token?: string;
  username?: string;
  password?: string;
  /** Код второго фактора (SPEC AD-6): TOTP или резервный код. */
  otp?: string;
}

export class CliError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

export interface ApiClient {
  readonly url: string;
  call(method: Dispatcher.HttpMethod, path: string, init?: Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'>): Promise<Dispatcher.ResponseData>;
  json<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

export async function connect(options: ClientOptions): Promise<ApiClient> {
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, headersTimeout: 0, bodyTimeout: 0 });
  const base = options.url.replace(/\/$/, '');
  let token = options.token;

  async function call(method: Dispatcher.HttpMethod, path: string, init: Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> = {}) {
    const headers = { ...(init.headers as Record<string, string> | undefined), ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const response = await request(`${base}${path}`, { ...init, method, headers, dispatcher }).catch((error: Error) => {
      throw new CliError(`Нет связи с ${base}: ${error.message}`);
    });
    if (response.statusCode >= 400) throw await problemError(response);
    return response;
  }

  async function json<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    const response = await call(method, path, body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    return (await response.body.json()) as T;
  }

  if (!token) {
    if (!options.username || !options.password) {
      throw new CliError('Нужен токен (--token, ARTSTORE_TOKEN) или имя и пароль (--username/--password, ARTSTORE_USERNAME/ARTSTORE_PASSWORD)');
    }
    const login = await json<LoginResponse>('POST', '/api/auth/login', { username: options.username, password: options.password });
    let session: TokenResponse;
    if ('mfa_required' in login) {
      if (!options.otp) throw new CliError('Нужен код двухфакторной аутентификации: --otp или ARTSTORE_OTP');
      session = await json<TokenResponse>('POST', '/api/auth/mfa/verify', { mfa_token: login.mfa_token, code: options.otp });
    } else {
      session = login;
    }
    if (session.password_change_required) {
      throw new CliError('Пароль нужно сменить: POST /api/users/me/password (или в консоли администратора)', 'PASSWORD_CHANGE_REQUIRED');
    }
    if (session.mfa_enrolment_required) {
      throw new CliError('Подключите двухфакторную аутентификацию: POST /api/auth/mfa/enrol (или в консоли администратора)', 'MFA_ENROLMENT_REQUIRED');
    }
    token = session.access_token;
  }
  return { url: base, call, json, close: () => dispatcher.close() };
}

async function problemError(response: Dispatcher.ResponseData): Promise<CliError> {
  const text = await response.body.text();
  try {
    const problem = JSON.parse(text) as { code?: string; detail?: string; title?: string };
    return new CliError(`${problem.code ?? `HTTP ${response.statusCode}`}: ${problem.detail ?? problem.title ?? ''}`, problem.code);
  } catch {
    return new CliError(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
  }
}
