// POST /api/files/{id}/transfer (SPEC IN-6, §9): перенос файла на другой SE двухфазной фиксацией.
// Нужно право storage:manage на обоих SE (SPEC AD-5) — проверяет координатор, когда найден источник.
import { requirePermission, UUID_PATTERN } from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import type { TransferCoordinator } from '../domain/transfer-coordinator.js';

interface TransferBody {
  target_storage_element: string;
  source_storage_element?: string;
}

const elementId = { type: 'string', minLength: 1, maxLength: 63 } as const;

export function registerTransferRoutes(app: FastifyInstance, coordinator: TransferCoordinator): void {
  app.post<{ Params: { id: string }; Body: TransferBody }>(
    '/api/files/:id/transfer',
    {
      schema: {
        summary:
          'Перенос файла на другой SE (двухфазная фиксация, SPEC IN-6): 200 — зафиксирован; 202 — решение ' +
          'о фиксации записано, доводит восстановление',
        tags: ['files'],
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', pattern: UUID_PATTERN.source } },
        },
        body: {
          type: 'object',
          required: ['target_storage_element'],
          additionalProperties: false,
          properties: { target_storage_element: elementId, source_storage_element: elementId },
        },
      },
    },
    async (request, reply) => {
      const principal = requirePermission(request.principal, 'storage:manage', {
        se: request.body.target_storage_element,
      });
      const result = await coordinator.transfer({
        fileId: request.params.id,
        target: request.body.target_storage_element,
        source: request.body.source_storage_element,
        principal,
        ip: request.ip,
        requestId: request.id,
      });
      return reply.code(result.state === 'committed' ? 200 : 202).send(result);
    },
  );
}
