// Выбор элемента хранения (SPEC IN-2): среди известных SE с закрытым автоматом защиты — явный
// выбор вызывающего, иначе по приоритету. Учёт режима, свободного места и discovery — IN-2/AD-8.
import { ArtError, createServiceClient, type ServiceClient } from '@artstore/core';

export interface StorageElementRef {
  id: string;
  url: string;
  priority: number;
}

export interface StorageElementPool {
  choose(explicit?: string): { ref: StorageElementRef; client: ServiceClient };
  close(): Promise<void>;
}

export function createStorageElementPool(refs: readonly StorageElementRef[]): StorageElementPool {
  const members = [...refs]
    .sort((a, b) => a.priority - b.priority)
    .map((ref) => ({ ref, client: createServiceClient({ baseUrl: ref.url, name: ref.id, headersTimeoutMs: 120_000 }) }));
  return {
    choose(explicit) {
      if (explicit !== undefined) {
        const chosen = members.find((m) => m.ref.id === explicit);
        if (!chosen) throw new ArtError('VALIDATION_FAILED', `Элемент хранения ${explicit} неизвестен`);
        return chosen;
      }
      const healthy = members.find((m) => m.client.circuitState !== 'open');
      if (!healthy) {
        throw new ArtError('NO_STORAGE_ELEMENT', members.length === 0 ? 'Элементы хранения не настроены' : 'Все элементы хранения недоступны');
      }
      return healthy;
    },
    async close() {
      await Promise.all(members.map((m) => m.client.close()));
    },
  };
}
