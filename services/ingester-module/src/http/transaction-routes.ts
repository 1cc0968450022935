// GET /api/transactions ingester (SPEC AD-10): саги загрузки и переносы этого сервиса — незавершённые или,
// с ?state=, в указанном состоянии. admin-module собирает этот ответ вместе с ответами SE.
import type { SourceTransactions } from '@artstore/contracts';
import { allowedElements, requirePermissionSomewhere } from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import type { TransactionProvider } from '../domain/transactions.js';

export const INGESTER_SOURCE = 'ingester-module';

export function registerTransactionRoutes(
  app: FastifyInstance,
  providers: readonly TransactionProvider[],
): void {
  app.get<{ Querystring: { state?: string; limit: number } }>(
    '/api/transactions',
    {
      schema: {
        summary: 'Саги загрузки и переносы: незавершённые или, с ?state=, в указанном состоянии',
        tags: ['maintenance'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', minLength: 1, maxLength: 32 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 },
          },
        },
      },
    },
    async (request): Promise<SourceTransactions> => {
      // Право storage:manage где угодно; видны только транзакции SE, на которые оно есть (SPEC AD-5).
      const principal = requirePermissionSomewhere(request.principal, 'storage:manage');
      const allowed = allowedElements(principal, 'storage:manage');
      const filter = { state: request.query.state, limit: request.query.limit };
      const lists = await Promise.all(providers.map((provider) => provider(filter)));
      const transactions = lists
        .flat()
        .filter(
          (tx) => allowed === 'all' || (tx.elements.length > 0 && tx.elements.every((id) => allowed.has(id))),
        )
        .sort((a, b) => a.started_at.localeCompare(b.started_at))
        .slice(0, filter.limit)
        .map(({ elements: _elements, ...view }) => view);
      return { service: INGESTER_SOURCE, source: INGESTER_SOURCE, transactions };
    },
  );
}
