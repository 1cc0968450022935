// HTTP-клиенты admin-module к SE (SPEC AD-7): по одному на SE с keep-alive, пересоздаётся при смене
// адреса. Автомат защиты сразу пропускает пробный вызов (resetTimeoutMs 0): опрос и так идёт раз в
// poll_interval, а разомкнутый на 10 с автомат задержал бы обнаружение вернувшегося SE.
import { createServiceClient, type ServiceClient } from '@artstore/core';

/** Сроки вызовов SE: зависший SE не должен держать опрос и ответ администратору. */
export const SE_CALL_TIMEOUT_MS = 5000;

export function createSeClient(id: string, url: string, getToken: () => Promise<string>): ServiceClient {
  return createServiceClient({
    baseUrl: url,
    name: id,
    connectTimeoutMs: 2000,
    headersTimeoutMs: SE_CALL_TIMEOUT_MS,
    bodyTimeoutMs: SE_CALL_TIMEOUT_MS,
    maxConnections: 4,
    breaker: { resetTimeoutMs: 0 },
    getToken,
  });
}

export function createSeClients(getToken: () => Promise<string>) {
  const clients = new Map<string, { url: string; client: ServiceClient }>();
  return {
    for(id: string, url: string): ServiceClient {
      const known = clients.get(id);
      if (known?.url === url) return known.client;
      if (known) void known.client.close();
      const client = createSeClient(id, url, getToken);
      clients.set(id, { url, client });
      return client;
    },
    /** Закрывает клиентов SE, которых больше нет в реестре. */
    retain(ids: readonly string[]): void {
      for (const [id, known] of clients) {
        if (ids.includes(id)) continue;
        clients.delete(id);
        void known.client.close();
      }
    },
    async close(): Promise<void> {
      const all = [...clients.values()];
      clients.clear();
      await Promise.all(all.map((known) => known.client.close()));
    },
  };
}
export type SeClients = ReturnType<typeof createSeClients>;
