// Общее правило обоих адаптеров Database (docs/adr/0009): внутри transaction() — только tx.
// Запрос через db изнутри транзакции ушёл бы мимо неё (pg: другое соединение) или завис бы навсегда
// (PGlite: одно соединение, занятое этой же транзакцией). tx после конца транзакции тоже запрещён.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface TransactionState {
  open: boolean;
}

export function createTransactionScope() {
  const active = new AsyncLocalStorage<TransactionState>();
  return {
    assertOutside(method: string): void {
      if (active.getStore()?.open === true) {
        throw new Error(`db.${method}() вызван внутри transaction(): используйте переданный tx (на PGlite это взаимоблокировка)`);
      }
    },
    assertOpen(state: TransactionState): void {
      if (!state.open) throw new Error('Транзакция уже завершена: tx нельзя использовать после transaction()');
    },
    /** Исполняет fn как тело транзакции с данным состоянием. */
    run<T>(state: TransactionState, fn: () => Promise<T>): Promise<T> {
      return active.run(state, fn);
    },
  };
}
