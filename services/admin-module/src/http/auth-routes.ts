import { ArtError, type Principal } from '@artstore/core';
import type {
  ClientCredentialsRequest,
  LoginRequest,
  LogoutRequest,
  MfaVerifyRequest,
  PasswordChangeRequest,
  RefreshRequest,
} from '@artstore/contracts';
import type { FastifyInstance } from 'fastify';
import type { AuthService } from '../domain/auth-service.js';
import type { TokenIssuer } from '../domain/token-issuer.js';

export const tokenResponse = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'password_change_required', 'mfa_enrolment_required'],
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string', const: 'Bearer' },
    expires_in: { type: 'integer' },
    password_change_required: { type: 'boolean' },
    mfa_enrolment_required: { type: 'boolean' },
    refresh_token: { type: 'string' },
    refresh_expires_in: { type: 'integer' },
  },
} as const;

/** Пароль принят, нужен второй фактор (SPEC AD-6). */
const mfaChallengeResponse = {
  type: 'object',
  required: ['mfa_required', 'mfa_token', 'expires_in'],
  properties: {
    mfa_required: { type: 'boolean', const: true },
    mfa_token: { type: 'string' },
    expires_in: { type: 'integer' },
  },
} as const;

/** Код второго фактора: 6 цифр TOTP или резервный код (xxxx-xxxx-xxxx-xxxx). */
export const mfaCode = { type: 'string', minLength: 6, maxLength: 32 } as const;

export function registerAuthRoutes(app: FastifyInstance, auth: AuthService, issuer: TokenIssuer): void {
  app.post<{ Body: LoginRequest }>(
    '/api/auth/login',
    {
      config: { public: true },
      schema: {
        summary: 'Вход по имени и паролю; при подключённой MFA — mfa_token для второго шага',
        tags: ['auth'],
        security: [],
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 128 },
            password: { type: 'string', minLength: 1, maxLength: 1024 },
          },
        },
        response: { 200: { anyOf: [tokenResponse, mfaChallengeResponse] } },
      },
    },
    async (request) => auth.login(request.body.username, request.body.password, request.ip),
  );

  app.post<{ Body: MfaVerifyRequest }>(
    '/api/auth/mfa/verify',
    {
      config: { public: true },
      schema: {
        summary: 'Второй шаг входа: код TOTP или резервный код к mfa_token',
        tags: ['auth'],
        security: [],
        body: {
          type: 'object',
          required: ['mfa_token', 'code'],
          additionalProperties: false,
          properties: { mfa_token: { type: 'string', minLength: 1, maxLength: 256 }, code: mfaCode },
        },
        response: { 200: tokenResponse },
      },
    },
    async (request) => auth.verifyMfa(request.body.mfa_token, request.body.code, request.ip),
  );

  app.post<{ Body: RefreshRequest }>(
    '/api/auth/refresh',
    {
      config: { public: true },
      schema: {
        summary: 'Новая пара токенов по refresh-токену; предъявленный становится использованным',
        tags: ['auth'],
        security: [],
        body: {
          type: 'object',
          required: ['refresh_token'],
          additionalProperties: false,
          properties: { refresh_token: { type: 'string', minLength: 1, maxLength: 256 } },
        },
        response: { 200: tokenResponse },
      },
    },
    async (request) => auth.refresh(request.body.refresh_token),
  );

  app.post<{ Body: LogoutRequest | undefined }>(
    '/api/auth/logout',
    {
      config: { allowPendingPasswordChange: true, allowPendingMfaEnrolment: true },
      schema: {
        summary: 'Выход: отзыв семейства refresh-токена или, без него, всех сессий пользователя',
        tags: ['auth'],
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { refresh_token: { type: 'string', minLength: 1, maxLength: 256 } },
        },
      },
    },
    async (request, reply) => {
      const principal = userPrincipal(request.principal);
      await auth.logout(principal.subject, request.body?.refresh_token);
      return reply.code(204).send();
    },
  );

  app.post<{ Body: ClientCredentialsRequest }>(
    '/api/auth/token',
    {
      config: { public: true },
      schema: {
        summary: 'Токен сервисной учётной записи (OAuth2 client_credentials)',
        tags: ['auth'],
        security: [],
        body: {
          type: 'object',
          required: ['grant_type', 'client_id', 'client_secret'],
          additionalProperties: false,
          properties: {
            grant_type: { type: 'string', const: 'client_credentials' },
            client_id: { type: 'string', minLength: 1, maxLength: 128 },
            client_secret: { type: 'string', minLength: 1, maxLength: 1024 },
          },
        },
        response: { 200: tokenResponse },
      },
    },
    async (request) => auth.clientCredentials(request.body.client_id, request.body.client_secret),
  );

  app.post<{ Body: PasswordChangeRequest }>(
    '/api/users/me/password',
    {
      config: { allowPendingPasswordChange: true, allowPendingMfaEnrolment: true },
      schema: {
        summary: 'Смена своего пароля; ответ — новый токен без требования смены',
        tags: ['users'],
        body: {
          type: 'object',
          required: ['current_password', 'new_password'],
          additionalProperties: false,
          properties: {
            current_password: { type: 'string', minLength: 1, maxLength: 1024 },
            new_password: { type: 'string', minLength: 1, maxLength: 1024 },
          },
        },
        response: { 200: tokenResponse },
      },
    },
    async (request) => {
      const principal = userPrincipal(request.principal);
      return auth.changePassword(principal.subject, request.body.current_password, request.body.new_password);
    },
  );

  app.get(
    '/api/users/me',
    {
      config: { allowPendingPasswordChange: true, allowPendingMfaEnrolment: true },
      schema: { summary: 'Текущий пользователь', tags: ['users'] },
    },
    (request, reply) => {
      const principal = userPrincipal(request.principal);
      return reply.send({
        id: principal.subject,
        username: principal.username,
        roles: principal.roles,
        grants: principal.grants,
        permissions: [...principal.permissions].sort(),
        password_change_required: principal.mustChangePassword,
        mfa_enrolment_required: principal.mustEnrolMfa === true,
      });
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      config: { public: true },
      schema: { summary: 'Открытые ключи подписи токенов (JWKS)', tags: ['auth'], security: [] },
    },
    async (_request, reply) => {
      // Короткое кеширование: новый ключ публикуется заранее (SPEC AD-4), клиенты успевают его увидеть.
      void reply.header('cache-control', 'public, max-age=60');
      return issuer.jwks();
    },
  );
}

export function userPrincipal(principal: Principal | undefined): Principal {
  if (!principal) throw new ArtError('AUTH_TOKEN_MISSING');
  if (principal.kind !== 'user') throw new ArtError('FORBIDDEN', 'Операция доступна только пользователю');
  return principal;
}
