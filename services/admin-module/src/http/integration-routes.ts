// Интеграции (SPEC AD-3): создание, список и отзыв — под users:manage; секрет в ответе на создание —
// единственный раз. Токены интеграция получает через POST /api/auth/token (client_credentials).
import { requirePermission, type Grant } from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import type { IntegrationInput, Integrations } from '../domain/integrations.js';
import { grantsSchema, rolesSchema } from './role-schemas.js';

export function registerIntegrationRoutes(
  app: FastifyInstance,
  integrations: Integrations,
  limits: { maxTtlDays: number },
): void {
  app.post<{ Body: Omit<IntegrationInput, 'grants'> & { grants?: Grant[] } }>(
    '/api/integrations',
    {
      schema: {
        summary: 'Новая интеграция со сроком: client_id и client_secret (показывается один раз)',
        tags: ['integrations'],
        body: {
          type: 'object',
          required: ['description', 'ttl_days'],
          additionalProperties: false,
          anyOf: [
            { required: ['roles'], properties: { roles: { minItems: 1 } } },
            { required: ['grants'], properties: { grants: { minItems: 1 } } },
          ],
          properties: {
            description: { type: 'string', minLength: 1, maxLength: 256 },
            roles: rolesSchema,
            grants: grantsSchema,
            ttl_days: { type: 'integer', minimum: 1, maximum: limits.maxTtlDays },
          },
        },
      },
    },
    async (request, reply) => {
      const actor = requirePermission(request.principal, 'users:manage');
      const { roles = [], grants = [], ...rest } = request.body;
      return reply.code(201).send(await integrations.create({ ...rest, roles, grants }, actor.subject));
    },
  );

  app.get('/api/integrations', { schema: { summary: 'Интеграции', tags: ['integrations'] } }, async (request) => {
    requirePermission(request.principal, 'users:manage');
    return { integrations: await integrations.list() };
  });

  app.delete<{ Params: { client_id: string } }>(
    '/api/integrations/:client_id',
    {
      schema: {
        summary: 'Отзыв интеграции: новые токены не выдаются, выданные истекают в свой срок',
        tags: ['integrations'],
        params: {
          type: 'object',
          required: ['client_id'],
          properties: { client_id: { type: 'string', pattern: '^int-[A-Za-z0-9_-]{12}$' } },
        },
      },
    },
    async (request, reply) => {
      const actor = requirePermission(request.principal, 'users:manage');
      await integrations.revoke(request.params.client_id, actor.subject);
      return reply.code(204).send();
    },
  );
}
