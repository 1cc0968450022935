// Проверка целостности файла (SPEC QR-7, §9 GET /api/files/{id}/verify): перехеширование байтов и проверку
// подписи attr делает SE-владелец — query находит его по индексу и передаёт вердикт как есть.
import { clientGoneSignal, type ServiceClient } from '@artstore/core';
import type { VerifyReport } from '@artstore/contracts';
import type { FastifyInstance } from 'fastify';
import type { FileIndex } from '../store/file-index.js';
import { elementClient, readableRecord } from './download-proxy.js';
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
      // Токен пользователя, а не сервисный: SE сам проверит право files:read на себе (SPEC AD-5, QR-8).
      const { record, principal } = await readableRecord(deps.index, request.principal, request.params.id, {
        activeOnly: false,
      });
      return elementClient(deps.elements, record).json<VerifyReport>(
        'POST',
        `/api/files/${record.id}/verify`,
        {
          headers: { authorization: `Bearer ${principal.token}` },
          requestId: request.id,
          // Клиент ушёл — SE прекращает перечитывать файл (он следит за закрытием соединения).
          signal: clientGoneSignal(reply),
        },
      );
    },
  );
}
