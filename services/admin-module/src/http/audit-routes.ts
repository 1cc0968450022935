// Журнал аудита (SPEC AD-9): чтение постранично и проверка цепочки — разрешение audit:read.
import { requirePermission } from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import type { Audit } from '../domain/audit.js';

export function registerAuditRoutes(app: FastifyInstance, audit: Audit): void {
  app.get<{ Querystring: { after: number; limit: number } }>(
    '/api/audit',
    {
      schema: {
        summary: 'Записи журнала аудита по порядку; after — номер последней полученной',
        tags: ['audit'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'integer', minimum: 0, default: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
      },
    },
    async (request) => {
      requirePermission(request.principal, 'audit:read');
      const records = await audit.page(request.query.after, request.query.limit);
      return { records, last_seq: records.at(-1)?.seq ?? request.query.after };
    },
  );

  app.get(
    '/api/audit/verify',
    { schema: { summary: 'Проверка цепочки хешей журнала аудита', tags: ['audit'] } },
    async (request) => {
      requirePermission(request.principal, 'audit:read');
      return audit.verify();
    },
  );
}
