// Сроки хранения (SPEC SE-9, BY-4): файлы, чей срок скоро истечёт, и файлы с истёкшим сроком — список
// на рассмотрение (disposition): удаляет их человек через DELETE, а не фоновая задача. Право
// retention:read — у администратора, оператора и аудитора.
import { ArtError, decodeKeysetCursor, encodeKeysetCursor, requirePermission } from '@artstore/core';
import type { RetentionListResponse } from '@artstore/contracts';
import type { FastifyInstance } from 'fastify';
import { recordFromAttr } from '../domain/attr.js';
import { expiryHorizon } from '../domain/retention-warnings.js';
import type { FileCache } from '../store/file-cache.js';

export interface RetentionRoutesDeps {
  elementId: string;
  cache: Pick<FileCache, 'listRetention'>;
}

interface PageQuery {
  cursor?: string;
  limit?: number;
}

const pageProperties = {
  cursor: { type: 'string', maxLength: 256 },
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
} as const;

export function registerRetentionRoutes(app: FastifyInstance, deps: RetentionRoutesDeps): void {
  const here = { se: deps.elementId };
  async function page(
    asOf: Date,
    from: string | null,
    until: string,
    query: PageQuery,
  ): Promise<RetentionListResponse> {
    const { attrs, next } = await deps.cache.listRetention(
      from,
      until,
      decodeKeysetCursor(query.cursor),
      query.limit ?? 100,
    );
    return {
      element_id: deps.elementId,
      as_of: asOf.toISOString(),
      until,
      files: attrs.map(recordFromAttr),
      next_cursor: next ? encodeKeysetCursor(next) : null,
    };
  }

  app.get<{ Querystring: PageQuery & { within: string } }>(
    '/api/retention/expiring',
    {
      schema: {
        summary:
          'Активные файлы, чей срок хранения истекает в пределах within (30d, 12h); ближайший срок первым',
        tags: ['retention'],
        querystring: {
          type: 'object',
          required: ['within'],
          additionalProperties: false,
          properties: { within: { type: 'string', maxLength: 32 }, ...pageProperties },
        },
      },
    },
    async (request) => {
      requirePermission(request.principal, 'retention:read', here);
      const asOf = new Date();
      const until = expiryHorizon(request.query.within, asOf);
      if (until === null)
        throw new ArtError(
          'VALIDATION_FAILED',
          `within: «${request.query.within}» — ожидается длительность: 90d, 30d, 12h`,
        );
      return page(asOf, asOf.toISOString(), until, request.query);
    },
  );

  app.get<{ Querystring: PageQuery }>(
    '/api/retention/expired',
    {
      schema: {
        summary:
          'Список на рассмотрение (BY-4): активные файлы с истёкшим сроком хранения; сами они не удаляются',
        tags: ['retention'],
        querystring: { type: 'object', additionalProperties: false, properties: pageProperties },
      },
    },
    async (request) => {
      requirePermission(request.principal, 'retention:read', here);
      const asOf = new Date();
      return page(asOf, null, asOf.toISOString(), request.query);
    },
  );
}
