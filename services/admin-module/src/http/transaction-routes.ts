// GET /api/transactions (SPEC AD-10): транзакции в работе со всех источников, старейшие первыми.
import { requirePermissionSomewhere } from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import type { TransactionsOverviewService } from '../domain/transactions-overview.js';

export function registerTransactionRoutes(app: FastifyInstance, overview: TransactionsOverviewService): void {
  app.get<{ Querystring: { state?: string; limit?: number } }>(
    '/api/transactions',
    {
      schema: {
        summary: 'Транзакции в работе (SE, саги, переносы) и доступность их источников',
        tags: ['transactions'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', pattern: '^[a-z_]{1,32}$' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 },
          },
        },
      },
    },
    async (request) => {
      const principal = requirePermissionSomewhere(request.principal, 'storage:manage');
      const { state, limit = 200 } = request.query;
      return overview.collect(principal, { ...(state === undefined ? {} : { state }), limit });
    },
  );
}
