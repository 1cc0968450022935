// Обзор транзакций (SPEC AD-10): admin-module собирает «что сейчас в работе» со всех источников —
// транзакции записи каждого SE из реестра и саги загрузки и переносы ingester (общий журнал в его БД,
// любой экземпляр отвечает за все). Вызов идёт токеном того, кто смотрит (ADR 0011):
// SE сам проверяет storage:manage, и пользователь с грантом на один SE видит только его. Недоступный
// источник показывается в sources, а не пропадает молча: пустой список не должен значить «всё чисто».
import type { SourceTransactions, TransactionsOverview } from '@artstore/contracts';
import { allowedElements, ArtError, type Principal, type ServiceClient } from '@artstore/core';
import type { SeClients } from './se-clients.js';
import type { SeRegistry } from './se-registry.js';

export interface TransactionsFilter {
  state?: string;
  limit: number;
}

export const INGESTER_SOURCE = 'ingester-module';

export function createTransactionsOverview(deps: {
  registry: Pick<SeRegistry, 'list'>;
  clients: SeClients;
  /** Клиент ingester-module; undefined — источник не опрашивается. */
  ingester?: ServiceClient;
}) {
  /** Саги и переносы ingester: состояние фильтра уходит ему (без него он отдаёт только незавершённые). */
  async function fromIngester(client: ServiceClient, principal: Principal, filter: TransactionsFilter) {
    try {
      const answer = await client.json<SourceTransactions>('GET', '/api/transactions', {
        headers: { authorization: `Bearer ${principal.token}` },
        query: { state: filter.state, limit: filter.limit },
        idempotent: true,
      });
      return {
        source: { service: answer.service, source: answer.source, status: 'ok' as const },
        transactions: answer.transactions,
      };
    } catch (error) {
      const reason = error instanceof ArtError ? `${error.code}: ${error.message}` : (error as Error).message;
      return {
        source: { service: INGESTER_SOURCE, source: INGESTER_SOURCE, status: 'unavailable' as const, error: reason },
        transactions: [],
      };
    }
  }

  return {
    async collect(principal: Principal, filter: TransactionsFilter): Promise<TransactionsOverview> {
      const allowed = allowedElements(principal, 'storage:manage');
      const elements = (await deps.registry.list()).filter((se) => allowed === 'all' || allowed.has(se.id));
      const asActor = { authorization: `Bearer ${principal.token}` };
      const results = await Promise.all([
        ...elements.map(async (se) => {
          try {
            const answer = await deps.clients
              .for(se.id, se.url)
              .json<SourceTransactions>('GET', '/api/transactions', { headers: asActor, idempotent: true });
            return { source: { service: answer.service, source: se.id, status: 'ok' as const }, transactions: answer.transactions };
          } catch (error) {
            const reason = error instanceof ArtError ? `${error.code}: ${error.message}` : (error as Error).message;
            return {
              source: { service: 'storage-element', source: se.id, status: 'unavailable' as const, error: reason },
              transactions: [],
            };
          }
        }),
        ...(deps.ingester === undefined ? [] : [fromIngester(deps.ingester, principal, filter)]),
      ]);
      const transactions = results
        .flatMap((result) => result.transactions)
        .filter((tx) => filter.state === undefined || tx.state === filter.state)
        .sort((a, b) => a.started_at.localeCompare(b.started_at))
        .slice(0, filter.limit);
      return { transactions, sources: results.map((result) => result.source) };
    },
  };
}
export type TransactionsOverviewService = ReturnType<typeof createTransactionsOverview>;
