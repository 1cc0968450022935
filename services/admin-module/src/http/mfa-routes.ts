// Двухфакторная аутентификация (SPEC AD-6, §9): подключение, подтверждение, резервные коды,
// отключение владельцем и сброс администратором. Подключение и подтверждение доступны и с токеном,
// который требует подключения MFA (mfa_enrol), — иначе его нельзя было бы выполнить.
import { ArtError, requirePermission } from '@artstore/core';
import type { MfaCodeRequest } from '@artstore/contracts';
import type { FastifyInstance } from 'fastify';
import type { AuthService } from '../domain/auth-service.js';
import type { Mfa } from '../domain/mfa.js';
import type { UserAdmin } from '../domain/user-admin.js';
import { mfaCode, tokenResponse, userPrincipal } from './auth-routes.js';
import { idParams, sendOutcome } from './user-routes.js';

const codeBody = {
  type: 'object',
  required: ['code'],
  additionalProperties: false,
  properties: { code: mfaCode },
} as const;
const recoveryCodes = { type: 'array', items: { type: 'string' } } as const;

export function registerMfaRoutes(
  app: FastifyInstance,
  deps: { auth: AuthService; mfa: Mfa; userAdmin: UserAdmin },
): void {
  const { auth, mfa, userAdmin } = deps;

  app.post(
    '/api/auth/mfa/enrol',
    {
      config: { allowPendingMfaEnrolment: true },
      schema: {
        summary: 'Начать подключение TOTP: секрет и otpauth URI для приложения-аутентификатора',
        tags: ['auth'],
        response: {
          200: {
            type: 'object',
            required: ['secret', 'otpauth_uri'],
            properties: { secret: { type: 'string' }, otpauth_uri: { type: 'string' } },
          },
        },
      },
    },
    async (request) => mfa.enrol(userPrincipal(request.principal).subject),
  );

  app.post<{ Body: MfaCodeRequest }>(
    '/api/auth/mfa/confirm',
    {
      config: { allowPendingMfaEnrolment: true },
      schema: {
        summary: 'Подтвердить подключение первым кодом: резервные коды (один раз) и новая пара токенов',
        tags: ['auth'],
        body: codeBody,
        response: {
          200: {
            ...tokenResponse,
            required: [...tokenResponse.required, 'recovery_codes'],
            properties: { ...tokenResponse.properties, recovery_codes: recoveryCodes },
          },
        },
      },
    },
    async (request) =>
      auth.confirmMfa(userPrincipal(request.principal).subject, request.body.code, request.ip),
  );

  app.post<{ Body: MfaCodeRequest }>(
    '/api/auth/mfa/recovery-codes',
    {
      schema: {
        summary: 'Новые резервные коды взамен прежних — по текущему коду TOTP',
        tags: ['auth'],
        body: codeBody,
        response: {
          200: { type: 'object', required: ['recovery_codes'], properties: { recovery_codes: recoveryCodes } },
        },
      },
    },
    async (request) => ({
      recovery_codes: await mfa.regenerateRecoveryCodes(
        userPrincipal(request.principal).subject,
        request.body.code,
        request.ip,
      ),
    }),
  );

  app.delete<{ Body: MfaCodeRequest }>(
    '/api/auth/mfa',
    {
      schema: {
        summary: 'Отключить свою MFA (кодом TOTP или резервным); для обязательных ролей — 403',
        tags: ['auth'],
        body: codeBody,
      },
    },
    async (request, reply) => {
      await mfa.disable(userPrincipal(request.principal).subject, request.body.code, request.ip);
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/users/:id/mfa',
    {
      schema: {
        summary: 'Сбросить MFA пользователя (потерял устройство); системного администратора — с одобрением (202)',
        tags: ['users'],
        params: idParams,
      },
    },
    async (request, reply) => {
      const actor = requirePermission(request.principal, 'users:manage');
      // Свою MFA отключают с кодом (DELETE /api/auth/mfa): украденный токен не должен снимать второй фактор.
      if (request.params.id === actor.subject) {
        throw new ArtError('FORBIDDEN', 'Свою двухфакторную аутентификацию отключают с кодом: DELETE /api/auth/mfa');
      }
      await userAdmin.get(request.params.id);
      if (!(await mfa.isEnabled(request.params.id))) throw new ArtError('MFA_NOT_ENABLED');
      return sendOutcome(reply, await userAdmin.resetMfa(request.params.id, actor.subject));
    },
  );
}
