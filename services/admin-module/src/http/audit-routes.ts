// Журнал аудита (SPEC AD-9, BY-8): чтение постранично, выгрузка, проверка цепочки и контрольных точек,
// открытые ключи подписи точек — разрешение audit:read.
import { requirePermission } from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import { exportAudit, type AuditExportFormat } from '../domain/audit-export.js';
import type { AuditReader } from '../domain/audit-trail.js';
import { EXPECTED_HEAD_PATTERN, parseExpectedHead } from '../domain/audit-verify.js';

const pageQuery = (defaultLimit: number) => ({
  type: 'object',
  additionalProperties: false,
  properties: {
    after: { type: 'integer', minimum: 0, default: 0 },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: defaultLimit },
  },
});

export function registerAuditRoutes(app: FastifyInstance, audit: AuditReader): void {
  app.get<{ Querystring: { after: number; limit: number } }>(
    '/api/audit',
    {
      schema: {
        summary: 'Записи журнала аудита по порядку; after — номер последней полученной',
        tags: ['audit'],
        querystring: pageQuery(100),
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

  app.get<{ Querystring: { expect_head?: string } }>(
    '/api/audit/verify',
    {
      schema: {
        summary: 'Проверка цепочки хешей и подписанных контрольных точек; expect_head — голова «номер:хеш», хранимая вне БД',
        tags: ['audit'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { expect_head: { type: 'string', pattern: EXPECTED_HEAD_PATTERN.source } },
        },
      },
    },
    async (request) => {
      requirePermission(request.principal, 'audit:read');
      const { expect_head: head } = request.query;
      return audit.verify({ expected: head === undefined ? undefined : (parseExpectedHead(head) ?? undefined) });
    },
  );

  app.get(
    '/api/audit/public-key',
    { schema: { summary: 'Открытые ключи подписи контрольных точек (Ed25519, PEM): хранить вне системы для проверки', tags: ['audit'] } },
    async (request) => {
      requirePermission(request.principal, 'audit:read');
      return { keys: await audit.publicKeys() };
    },
  );

  app.get<{ Querystring: { after: number; limit: number } }>(
    '/api/audit/checkpoints',
    { schema: { summary: 'Подписанные контрольные точки по порядку номеров записей', tags: ['audit'], querystring: pageQuery(100) } },
    async (request) => {
      requirePermission(request.principal, 'audit:read');
      const checkpoints = await audit.checkpoints(request.query.after, request.query.limit);
      return { checkpoints, last_seq: checkpoints.at(-1)?.seq ?? request.query.after };
    },
  );

  app.get(
    '/api/audit/checkpoints/latest',
    { schema: { summary: 'Последняя контрольная точка — её копию хранят вне системы (artstore audit verify --checkpoint)', tags: ['audit'] } },
    async (request) => {
      requirePermission(request.principal, 'audit:read');
      return { checkpoint: await audit.latestCheckpoint() };
    },
  );
}
