// Клиенты элементов хранения (SPEC IN-7): у каждого SE свой пул keep-alive соединений, таймауты и
// автомат защиты. Клиенты следуют за документом обнаружения (AD-8) в момент выбора, а не по событию
// смены документа: иначе между принятием документа и пересборкой клиентов выбор видел бы SE без
// клиента. Автомат защиты SE переживает новые версии документа, пока не меняется адрес SE.
import { createServiceClient, type Logger, type ServiceClient, type StaticElementRef } from '@artstore/core';

export interface StorageElementPool {
  /**
   * SE документа вместе с их клиентами: недостающие клиенты создаются, клиент SE со сменившимся адресом
   * заменяется, клиенты исчезнувших SE закрываются (мягко: начатые запросы дорабатывают).
   */
  withClients<T extends Pick<StaticElementRef, 'id' | 'url'>>(
    elements: readonly T[],
  ): (T & { client: ServiceClient })[];
  close(): Promise<void>;
}

export function createStorageElementPool(logger: Logger): StorageElementPool {
  const clients = new Map<string, { url: string; client: ServiceClient }>();

  function retire(client: ServiceClient): void {
    client
      .close()
      .catch((error: unknown) =>
        logger.warn({ err: error, storage_element: client.name }, 'se_client_close_failed'),
      );
  }

  return {
    withClients(elements) {
      const ids = new Set(elements.map((e) => e.id));
      for (const [id, entry] of clients) {
        if (ids.has(id)) continue;
        clients.delete(id);
        retire(entry.client);
      }
      return elements.map((element) => {
        const { id, url } = element;
        const entry = clients.get(id);
        if (entry?.url === url) return { ...element, client: entry.client };
        if (entry !== undefined) retire(entry.client);
        const client = createServiceClient({ baseUrl: url, name: id, headersTimeoutMs: 120_000 });
        clients.set(id, { url, client });
        return { ...element, client };
      });
    },
    async close() {
      const closing = [...clients.values()].map((entry) => entry.client.close());
      clients.clear();
      await Promise.all(closing);
    },
  };
}
