// Выбор элемента хранения (SPEC IN-2): среди известных SE с закрытым автоматом защиты — явный
// выбор вызывающего, иначе по приоритету. Учёт режима, свободного места и discovery — IN-2/AD-8.
import { ArtError, createServiceClient, type ServiceClient } from '@artstore/core';

export interface StorageElementRef {
  id: string;
  url: string;
  priority: number;
}

export interface StorageElementPool {
  /** eligible — SE, на которые вызывающему разрешена запись (гранты SPEC AD-5); без него — любые. */
  choose(explicit?: string, eligible?: ReadonlySet<string>): { ref: StorageElementRef; client: ServiceClient };
  close(): Promise<void>;
}

export function createStorageElementPool(refs: readonly StorageElementRef[]): StorageElementPool {
  const members = [...refs]
    .sort((a, b) => a.priority - b.priority)
    .map((ref) => ({ ref, client: createServiceClient({ baseUrl: ref.url, name: ref.id, headersTimeoutMs: 120_000 }) }));
  return {
    choose(explicit, eligible) {
      if (explicit !== undefined) {
        const chosen = members.find((m) => m.ref.id === explicit);
        if (!chosen) throw new ArtError('VALIDATION_FAILED', `Элемент хранения ${explicit} неизвестен`);
        return chosen;
      }
      const candidates = eligible === undefined ? members : members.filter((m) => eligible.has(m.ref.id));
      const healthy = candidates.find((m) => m.client.circuitState !== 'open');
      if (healthy) return healthy;
      if (members.length === 0) throw new ArtError('NO_STORAGE_ELEMENT', 'Элементы хранения не настроены');
      if (eligible !== undefined && candidates.length === 0) {
        throw new ArtError('NO_STORAGE_ELEMENT', `Среди элементов хранения нет разрешённых вам для записи: ${[...eligible].join(', ')}`);
      }
      throw new ArtError('NO_STORAGE_ELEMENT', 'Все элементы хранения недоступны');
    },
    async close() {
      await Promise.all(members.map((m) => m.client.close()));
    },
  };
}
