// Журнал узла, который пишет не всегда (SPEC SE-12): узел-кандидат журнала не открывает — его
// каталог может воспроизводить мастер; журнал открывается при получении роли мастера и закрывается
// при её потере. Пишущие части SE держат слот, а не сам журнал.
import { ArtError } from '@artstore/core';
import type { WriteAheadLog } from './write-ahead-log.js';

export interface WalSlot extends WriteAheadLog {
  attach(wal: WriteAheadLog): void;
  /** Закрывает текущий журнал; запись до следующего attach отвергается. */
  detach(): Promise<void>;
}

export function createWalSlot(): WalSlot {
  let current: WriteAheadLog | null = null;
  const open = (): WriteAheadLog => {
    if (current === null) throw new ArtError('SE_NO_MASTER', 'Журнал узла закрыт: узел не мастер');
    return current;
  };
  async function detach(): Promise<void> {
    const wal = current;
    current = null;
    await wal?.close();
  }
  return {
    attach(wal) {
      if (current !== null) throw new Error('Журнал уже открыт');
      current = wal;
    },
    detach,
    async append(record, options) {
      return await open().append(record, options);
    },
    async checkpoint() {
      return await open().checkpoint();
    },
    close: detach,
    get failed() {
      return current?.failed ?? null;
    },
    get sizeBytes() {
      return current?.sizeBytes ?? 0;
    },
    // Не мастер ничего не пишет — и транзакций в работе у него нет.
    openTransactions: () => current?.openTransactions() ?? [],
  };
}
