// Запись о файле и выдача байтов (SPEC §9, QR-6).
import {
  ArtError,
  requestAuditContext,
  requirePermission,
  requirePermissionSomewhere,
  UUID_PATTERN,
  type AuditClient,
  type ServiceClient,
} from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import type { FileIndex } from '../store/file-index.js';

export interface FileRoutesDeps {
  index: FileIndex;
  elements: ReadonlyMap<string, ServiceClient>;
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

export function registerFileRoutes(app: FastifyInstance, deps: FileRoutesDeps): void {
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
    schema: {
      summary: 'Байты файла: потоковый прокси к SE-владельцу с Range и условными запросами',
      tags: ['files'],
      params: idParams,
    },
    handler: async (request, reply) => {
      requirePermissionSomewhere(request.principal, 'files:read');
      const record = await deps.index.get(request.params.id);
      if (!record || record.status !== 'active')
        throw new ArtError('FILE_NOT_FOUND', `Файл ${request.params.id} не найден`);
      const principal = requirePermission(request.principal, 'files:read', { se: record.storage_element });
      const client = deps.elements.get(record.storage_element);
      if (!client)
        throw new ArtError(
          'UPSTREAM_UNAVAILABLE',
          `Элемент хранения ${record.storage_element} неизвестен этому узлу`,
        );
      const headers: Record<string, string> = { authorization: `Bearer ${principal.token}` };
      for (const name of FORWARDED_REQUEST_HEADERS) {
        const value = request.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      const upstream = await client.stream(
        request.method === 'HEAD' ? 'HEAD' : 'GET',
        `/api/files/${record.id}/content`,
        {
          headers,
          requestId: request.id,
        },
      );
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
          details: {
            storage_element: record.storage_element,
            status: upstream.status,
            range: request.headers.range ?? null,
          },
        });
      }
      return reply.send(upstream.body);
    },
  });
}
