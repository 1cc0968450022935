// Управление глобальным индексом (SPEC QR-1): состояние по SE и перестроение с нуля (`artstore query reindex`).
import { requirePermission } from '@artstore/core';
import type { IndexRebuildStarted, IndexStatusResponse } from '@artstore/contracts';
import type { FastifyInstance } from 'fastify';
import type { ChangeFollower } from '../domain/change-follower.js';
import type { FileIndex } from '../store/file-index.js';

export interface IndexRoutesDeps {
  index: FileIndex;
  follower: ChangeFollower;
}

export function registerIndexRoutes(app: FastifyInstance, deps: IndexRoutesDeps): void {
  app.get(
    '/api/index',
    {
      schema: {
        summary: 'Состояние индекса по SE: курсор, голова ленты, отставание, идёт ли перестроение',
        tags: ['index'],
      },
    },
    async (request): Promise<IndexStatusResponse> => {
      requirePermission(request.principal, 'storage:manage');
      const stored = await deps.index.cursors();
      const elements: IndexStatusResponse['elements'] = {};
      for (const [id, cursor] of stored) {
        elements[id] = {
          ...(await deps.follower.status(id)),
          epoch: cursor.epoch,
          rebuilding: cursor.sweep_pending,
        };
      }
      return { elements };
    },
  );

  // Перестроение идёт в фоне followers всех экземпляров; ответ — сразу, прогресс — GET /api/index
  // (rebuilding: false у всех SE — готово). Повторный вызов начинает новую эпоху, незаконченная просто заменяется.
  app.post(
    '/api/index/reindex',
    {
      schema: {
        summary: 'Перестроить индекс с нуля из лент SE; поиск отвечает всё время перестроения',
        tags: ['index'],
      },
    },
    async (request, reply): Promise<IndexRebuildStarted> => {
      requirePermission(request.principal, 'storage:manage');
      void reply.code(202);
      return deps.follower.reindex();
    },
  );
}
