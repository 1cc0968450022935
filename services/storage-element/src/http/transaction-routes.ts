// Транзакции записи SE в работе (SPEC AD-10): intent в WAL без commit/abort — загрузка, замена attr,
// удаление. admin-module собирает их со всех SE в GET /api/transactions; здесь — только этот узел-мастер.
import type { SourceTransactions, TransactionView } from '@artstore/contracts';
import { requirePermission } from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import type { WalRecord } from '../wal/index.js';

export const SE_SERVICE = 'storage-element';

function viewOf(intent: WalRecord, elementId: string): TransactionView {
  return {
    id: intent.tx,
    kind: `se.${typeof intent.op === 'string' ? intent.op : 'write'}`,
    service: SE_SERVICE,
    source: elementId,
    state: 'in_progress',
    started_at: intent.at,
    updated_at: intent.at,
    ...(typeof intent.id === 'string' ? { file_id: intent.id } : {}),
    steps: [{ name: 'wal_intent', state: 'done', at: intent.at }],
  };
}

export function registerTransactionRoutes(
  app: FastifyInstance,
  deps: { elementId: string; wal: { openTransactions(): WalRecord[] } },
): void {
  app.get(
    '/api/transactions',
    { schema: { summary: 'Транзакции записи, которые сейчас в работе на этом SE', tags: ['maintenance'] } },
    (request): SourceTransactions => {
      requirePermission(request.principal, 'storage:manage', { se: deps.elementId });
      const transactions = deps.wal
        .openTransactions()
        .map((intent) => viewOf(intent, deps.elementId))
        .sort((a, b) => a.started_at.localeCompare(b.started_at));
      return { service: SE_SERVICE, source: deps.elementId, transactions };
    },
  );
}
