// Управление пользователями (SPEC AD-1, AD-5, §9): всё под разрешением users:manage. Изменение системного
// администратора другим администратором (и его гранты) — 202 и ожидающее изменение до одобрения вторым.
import { requirePermission, type Grant } from '@artstore/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { grantsOf, type ChangeOutcome, type UserAdmin, type UserPatch } from '../domain/user-admin.js';
import { grantsSchema as grants, rolesSchema as roles } from './role-schemas.js';

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' },
  },
} as const;
const password = { type: 'string', minLength: 1, maxLength: 1024 } as const;

/** Применённое изменение — 200 с пользователем; ожидающее одобрения — 202 с изменением. */
export function sendOutcome(reply: FastifyReply, outcome: ChangeOutcome) {
  if ('applied' in outcome) return reply.send(outcome.applied);
  const { id, user_id, requested_by, requested_at, status } = outcome.pending;
  return reply.code(202).send({ change_id: id, user_id, requested_by, requested_at, status });
}

export function registerUserRoutes(app: FastifyInstance, admin: UserAdmin): void {
  app.get('/api/users', { schema: { summary: 'Пользователи', tags: ['users'] } }, async (request) => {
    requirePermission(request.principal, 'users:manage');
    return { users: await admin.list() };
  });

  app.post<{ Body: { username: string; password: string; roles: string[]; grants?: Grant[] } }>(
    '/api/users',
    {
      schema: {
        summary: 'Новый пользователь с временным паролем (сменить при первом входе)',
        tags: ['users'],
        body: {
          type: 'object',
          required: ['username', 'password', 'roles'],
          additionalProperties: false,
          properties: {
            username: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$' },
            password,
            roles,
            grants,
          },
        },
      },
    },
    async (request, reply) => {
      const actor = requirePermission(request.principal, 'users:manage');
      return reply.code(201).send(await admin.create(request.body, actor.subject));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/users/:id',
    { schema: { summary: 'Пользователь', tags: ['users'], params: idParams } },
    async (request) => {
      requirePermission(request.principal, 'users:manage');
      return admin.get(request.params.id);
    },
  );

  app.patch<{ Params: { id: string }; Body: UserPatch }>(
    '/api/users/:id',
    {
      schema: {
        summary: 'Роли, гранты и отключение; для системного администратора — запрос на одобрение (202)',
        tags: ['users'],
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { roles, grants, disabled: { type: 'boolean' } },
        },
      },
    },
    async (request, reply) => {
      const actor = requirePermission(request.principal, 'users:manage');
      return sendOutcome(reply, await admin.update(request.params.id, request.body, actor.subject));
    },
  );

  app.post<{ Params: { id: string }; Body: { password: string } }>(
    '/api/users/:id/password',
    {
      schema: {
        summary: 'Временный пароль (владелец сменит его при входе); сессии пользователя завершаются',
        tags: ['users'],
        params: idParams,
        body: {
          type: 'object',
          required: ['password'],
          additionalProperties: false,
          properties: { password },
        },
      },
    },
    async (request, reply) => {
      const actor = requirePermission(request.principal, 'users:manage');
      return sendOutcome(
        reply,
        await admin.resetPassword(request.params.id, request.body.password, actor.subject),
      );
    },
  );

  app.get(
    '/api/users/changes',
    { schema: { summary: 'Изменения системного администратора, ждущие одобрения', tags: ['users'] } },
    async (request) => {
      requirePermission(request.principal, 'users:manage');
      const pending = await admin.pendingChanges();
      return {
        changes: pending.map(({ id, user_id, change, requested_by, requested_at }) => ({
          change_id: id,
          user_id,
          requested_by,
          requested_at,
          roles: change.roles,
          grants: change.grants && grantsOf(change.grants),
          disabled: change.disabled,
          password_reset: change.password_hash !== undefined,
          mfa_reset: change.mfa_reset === true,
        })),
      };
    },
  );

  app.post<{ Params: { id: string }; Body: { approve: boolean } }>(
    '/api/users/changes/:id/decision',
    {
      schema: {
        summary: 'Решение второго администратора по изменению системного администратора',
        tags: ['users'],
        params: idParams,
        body: {
          type: 'object',
          required: ['approve'],
          additionalProperties: false,
          properties: { approve: { type: 'boolean' } },
        },
      },
    },
    async (request, reply) => {
      const actor = requirePermission(request.principal, 'users:manage');
      const user = await admin.decide(request.params.id, request.body.approve, actor.subject);
      return reply.send(user === null ? { status: 'rejected' } : { status: 'approved', user });
    },
  );
}
