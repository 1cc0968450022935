// Проверка целостности файла по запросу (SPEC QR-7): query-module вызывает её от имени пользователя.
import { clientGoneSignal, requirePermission } from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import type { ModeController } from '../domain/mode-controller.js';
import { verifyFile, type VerifyDeps } from '../domain/verify.js';
import { idParams } from './file-routes.js';

export interface VerifyRoutesDeps extends VerifyDeps {
  elementId: string;
  modes: ModeController;
}

export function registerVerifyRoutes(app: FastifyInstance, deps: VerifyRoutesDeps): void {
  app.post<{ Params: { id: string } }>(
    '/api/files/:id/verify',
    {
      schema: {
        summary: 'Перехешировать байты и проверить подписи attr и строки кеша; ответ — вердикт и список проверок',
        tags: ['files'],
        params: idParams,
      },
    },
    async (request, reply) => {
      // files:read: проверка читает те же байты, что и выдача (право на неё уже даёт files:read), ничего
      // не меняет и не раскрывает сверх самого файла; аудитору (роль auditor) она и нужна.
      requirePermission(request.principal, 'files:read', { se: deps.elementId });
      deps.modes.assert('read');
      // Клиент ушёл — перехеширование большого файла останавливается, а не читает диск впустую.
      return verifyFile(deps, request.params.id, clientGoneSignal(reply));
    },
  );
}
