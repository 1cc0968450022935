// Место элемента хранения (SPEC SE-8, SE-9, BY-5): занято, в резерве, предел, свободно на диске, запас
// для WAL и attr, уровень тревоги. Читают все, у кого есть files:read, — в том числе admin-module и UI.
import { requirePermission } from '@artstore/core';
import type { CapacityStatus } from '@artstore/contracts';
import type { FastifyInstance } from 'fastify';
import type { Capacity } from '../domain/capacity.js';

export function registerCapacityRoutes(
  app: FastifyInstance,
  elementId: string,
  capacity: Pick<Capacity, 'status'>,
): void {
  app.get(
    '/api/capacity',
    {
      schema: {
        summary: 'Место SE: занято, резерв, предел, свободно на диске, запас для WAL и attr, уровень тревоги',
        tags: ['storage'],
      },
    },
    async (request): Promise<CapacityStatus> => {
      requirePermission(request.principal, 'files:read', { se: elementId });
      return capacity.status();
    },
  );
}
