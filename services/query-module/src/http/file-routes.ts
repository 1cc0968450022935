// Запись о файле и выдача байтов (SPEC §9, QR-6, QR-8).
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
import {
  activeRecord,
  deliversBytes,
  elementClient,
  openContent,
  sendContent,
  type DownloadMetrics,
} from './download-proxy.js';

export interface FileRoutesDeps {
  index: FileIndex;
  elements: ReadonlyMap<string, ServiceClient>;
  /** Журнал аудита (SPEC AD-9): выдача байтов — GET с ответом 200/206; HEAD и 304 байтов не выдают. */
  audit: AuditClient;
  downloads: DownloadMetrics;
}

export const idParams = {
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
      const record = await activeRecord(deps.index, request.params.id);
      const principal = requirePermission(request.principal, 'files:read', { se: record.storage_element });
      const upstream = await openContent(
        request,
        elementClient(deps.elements, record),
        record,
        `Bearer ${principal.token}`,
      );
      if (deliversBytes(request, upstream)) {
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
      return sendContent(request, reply, upstream, { via: 'api', metrics: deps.downloads });
    },
  });
}
