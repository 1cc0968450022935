// Запись о файле и выдача байтов (SPEC §9, QR-6, QR-8).
import { requestAuditContext, UUID_PATTERN, type AuditClient, type ServiceClient } from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import type { FileIndex } from '../store/file-index.js';
import {
  deliversBytes,
  elementClient,
  openContent,
  readableRecord,
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
      const { record } = await readableRecord(deps.index, request.principal, request.params.id, {
        activeOnly: false,
      });
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
      const { record, principal } = await readableRecord(deps.index, request.principal, request.params.id, {
        activeOnly: true,
      });
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
