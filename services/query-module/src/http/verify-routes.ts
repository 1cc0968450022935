// Проверка целостности файла (SPEC QR-7, §9 GET /api/files/{id}/verify): перехеширование байтов и проверку
// подписи attr делает SE-владелец — query находит его по индексу и передаёт вердикт как есть.
import { ArtError, requirePermission, requirePermissionSomewhere, type ServiceClient } from '@artstore/core';
import type { VerifyReport } from '@artstore/contracts';
import type { FastifyInstance } from 'fastify';
import type { FileIndex } from '../store/file-index.js';
import { elementClient } from './download-proxy.js';
import { idParams } from './file-routes.js';

export interface VerifyRoutesDeps {
  index: FileIndex;
  elements: ReadonlyMap<string, ServiceClient>;
}

export function registerVerifyRoutes(app: FastifyInstance, deps: VerifyRoutesDeps): void {
  app.get<{ Params: { id: string } }>(
    '/api/files/:id/verify',
    {
      schema: {
        summary:
          'Вердикт целостности файла от SE-владельца: перехеширование байтов, подписи attr и строки кеша',
        tags: ['files'],
        params: idParams,
      },
    },
    async (request, reply): Promise<VerifyReport> => {
      requirePermissionSomewhere(request.principal, 'files:read');
      const record = await deps.index.get(request.params.id);
      if (!record) throw new ArtError('FILE_NOT_FOUND', `Файл ${request.params.id} не найден`);
      // Токен пользователя, а не сервисный: SE сам проверит право files:read на себе (SPEC AD-5, QR-8).
      const principal = requirePermission(request.principal, 'files:read', { se: record.storage_element });
      // Клиент ушёл — SE прекращает перечитывать файл (он следит за закрытием соединения).
      const abandoned = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) abandoned.abort();
      });
      return elementClient(deps.elements, record).json<VerifyReport>(
        'POST',
        `/api/files/${record.id}/verify`,
        {
          headers: { authorization: `Bearer ${principal.token}` },
          requestId: request.id,
          signal: abandoned.signal,
        },
      );
    },
  );
}
