import type { FastifyInstance } from 'fastify';

export interface RunningService {
  name: string;
  /** Фактический адрес (порт 0 превращается в выданный системой). */
  url: string;
  stop(): Promise<void>;
}

/** Запускает приложение на host:port; stop() закрывает сервер и вызывает onStop (фоновые задачи, клиенты). */
export async function listen(
  name: string,
  app: FastifyInstance,
  endpoint: { host: string; port: number },
  onStop: () => Promise<void> = async () => {},
): Promise<RunningService> {
  await app.listen({ host: endpoint.host, port: endpoint.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : endpoint.port;
  const host = endpoint.host === '0.0.0.0' || endpoint.host === '::' ? '127.0.0.1' : endpoint.host;
  return {
    name,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    stop: async () => {
      await onStop();
      await app.close();
    },
  };
}
