// Поиск, запись о файле и выдача байтов (SPEC §9, QR-2, QR-4, QR-6).
import {
  ArtError,
  decodeKeysetCursor,
  encodeKeysetCursor,
  requestAuditContext,
  requirePermission,
  requirePermissionSomewhere,
  UUID_PATTERN,
  type AuditClient,
  type ServiceClient,
} from '@artstore/core';
import { parseConsistencyToken, type SearchResponse } from '@artstore/contracts';
import type { FastifyInstance } from 'fastify';
import type { ChangeFollower } from '../domain/change-follower.js';
import type { FileIndex } from '../store/file-index.js';

export interface QueryRoutesDeps {
  index: FileIndex;
  follower: ChangeFollower;
  elements: ReadonlyMap<string, ServiceClient>;
  consistencyWaitMs: number;
  /** Журнал аудита (SPEC AD-9): выдача байтов — GET с ответом 200/206; HEAD и 304 байтов не выдают. */
  audit: AuditClient;
}

// accept-encoding / content-encoding / vary: сжатый на SE файл (SPEC IN-3) уходит клиенту, принимающему
// кодировку, как лежит, остальным SE отдаёт исходные байты — прокси передаёт выбор насквозь.
/** Заголовки, которые выдача пересылает SE и возвращает клиенту без изменений. */
const FORWARDED_REQUEST_HEADERS = [
  'range',
  'if-range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'accept-encoding',
];
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'content-encoding',
  'vary',
  'content-length',
  'content-range',
  'accept-ranges',
  'etag',
  'last-modified',
  'content-disposition',
  'cache-control',
];

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: UUID_PATTERN.source } },
} as const;

interface SearchQuery {
  q?: string;
  limit?: number;
  cursor?: string;
  consistency_token?: string;
}

export function registerQueryRoutes(app: FastifyInstance, deps: QueryRoutesDeps): void {
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
        if (!parsed) throw new ArtError('VALIDATION_FAILED', 'consistency_token: ожидается «<element_id>:<seq>»');
        const caughtUp = await deps.follower.waitFor(parsed.elementId, parsed.seq, deps.consistencyWaitMs);
        // Индекс не догнал за отведённое время: отвечаем, но честно помечаем (SPEC QR-4).
        if (!caughtUp) void reply.header('artstore-consistency', 'stale');
      }
      const page = await deps.index.search(q.trim(), limit, decodeKeysetCursor(cursor));
      return { items: page.items, total: page.total, next_cursor: page.next ? encodeKeysetCursor(page.next) : null };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/files/:id',
    { schema: { summary: 'Запись о файле', tags: ['files'], params: idParams } },
    async (request) => {
      requirePermissionSomewhere(request.principal, 'files:read');
      const record = await deps.index.get(request.params.id);
      if (!record) throw new ArtError('FILE_NOT_FOUND', `Файл ${request.params.id} не найден`);
      // Право — на SE-владельце файла (SPEC AD-5, QR-8): грант на другой SE его не даёт.
      requirePermission(request.principal, 'files:read', { se: record.storage_element });
      return record;
    },
  );

  app.route<{ Params: { id: string } }>({
    method: ['GET', 'HEAD'],
    url: '/api/files/:id/content',
    exposeHeadRoute: false,
    schema: { summary: 'Байты файла: потоковый прокси к SE-владельцу с Range и условными запросами', tags: ['files'], params: idParams },
    handler: async (request, reply) => {
      requirePermissionSomewhere(request.principal, 'files:read');
      const record = await deps.index.get(request.params.id);
      if (!record || record.status !== 'active') throw new ArtError('FILE_NOT_FOUND', `Файл ${request.params.id} не найден`);
      const principal = requirePermission(request.principal, 'files:read', { se: record.storage_element });
      const client = deps.elements.get(record.storage_element);
      if (!client) throw new ArtError('UPSTREAM_UNAVAILABLE', `Элемент хранения ${record.storage_element} неизвестен этому узлу`);
      const headers: Record<string, string> = { authorization: `Bearer ${principal.token}` };
      for (const name of FORWARDED_REQUEST_HEADERS) {
        const value = request.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      const upstream = await client.stream(request.method === 'HEAD' ? 'HEAD' : 'GET', `/api/files/${record.id}/content`, {
        headers,
        requestId: request.id,
      });
      void reply.code(upstream.status);
      for (const name of FORWARDED_RESPONSE_HEADERS) {
        const value = upstream.headers[name];
        if (value !== undefined) void reply.header(name, value);
      }
      if (request.method === 'HEAD' || upstream.status === 304) {
        upstream.body.resume();
        return reply.send();
      }
      if (upstream.status === 200 || upstream.status === 206) {
        await deps.audit.record({
          ...requestAuditContext(request, principal),
          action: 'file.download',
          target: record.id,
          details: { storage_element: record.storage_element, status: upstream.status, range: request.headers.range ?? null },
        });
      }
      return reply.send(upstream.body);
    },
  });
}
