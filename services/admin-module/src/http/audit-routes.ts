// Журнал аудита (SPEC AD-9): чтение постранично и проверка цепочки — разрешение audit:read.
import { requirePermission } from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import type { Audit } from '../domain/audit.js';
import { exportAudit, type AuditExportFormat } from '../domain/audit-export.js';

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

  app.get<{ Querystring: { format: AuditExportFormat } }>(
    '/api/audit/export',
    {
      schema: {
        summary: 'Выгрузка всего журнала аудита: JSON lines или CSV, потоком',
        tags: ['audit'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { format: { type: 'string', enum: ['jsonl', 'csv'], default: 'jsonl' } },
        },
      },
    },
    async (request, reply) => {
      requirePermission(request.principal, 'audit:read');
      const { format } = request.query;
      void reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="artstore-audit.${format}"`);
      return reply.send(Readable.from(exportAudit(audit, format)));
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
