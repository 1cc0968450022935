// Поиск по глобальному индексу (SPEC QR-2, QR-4).
import { ArtError, decodeKeysetCursor, encodeKeysetCursor, requirePermission } from '@artstore/core';
import { parseConsistencyToken, type SearchResponse } from '@artstore/contracts';
import type { FastifyInstance } from 'fastify';
import type { ChangeFollower } from '../domain/change-follower.js';
import type { FileIndex } from '../store/file-index.js';

export interface SearchRoutesDeps {
  index: FileIndex;
  follower: ChangeFollower;
  consistencyWaitMs: number;
}

interface SearchQuery {
  q?: string;
  limit?: number;
  cursor?: string;
  consistency_token?: string;
}

export function registerSearchRoutes(app: FastifyInstance, deps: SearchRoutesDeps): void {
  app.get<{ Querystring: SearchQuery }>(
    '/api/search',
    {
      schema: {
        summary: 'Поиск файлов по имени и описанию',
        tags: ['search'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: { type: 'string', maxLength: 512 },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 20 },
            cursor: { type: 'string', maxLength: 256 },
            consistency_token: { type: 'string', maxLength: 128 },
          },
        },
      },
    },
    async (request, reply): Promise<SearchResponse> => {
      // Поиск идёт по всему индексу, поэтому нужен глобальный files:read: гранты с областью сюда не
      // пускают, пока результаты не фильтруются по ним (SPEC QR-8).
      requirePermission(request.principal, 'files:read');
      const { q = '', limit = 20, cursor, consistency_token: token } = request.query;
      if (token !== undefined) {
        const parsed = parseConsistencyToken(token);
        if (!parsed)
          throw new ArtError('VALIDATION_FAILED', 'consistency_token: ожидается «<element_id>:<seq>»');
        const caughtUp = await deps.follower.waitFor(parsed.elementId, parsed.seq, deps.consistencyWaitMs);
        // Индекс не догнал за отведённое время: отвечаем, но честно помечаем (SPEC QR-4).
        if (!caughtUp) void reply.header('artstore-consistency', 'stale');
      }
      const page = await deps.index.search(q.trim(), limit, decodeKeysetCursor(cursor));
      return {
        items: page.items,
        total: page.total,
        next_cursor: page.next ? encodeKeysetCursor(page.next) : null,
      };
    },
  );
}
