// Свободный TCP-порт на loopback для тестов, которым номер нужен до старта (он попадает в конфигурацию
// или в командную строку дочернего процесса). Где сервис сам слушает порт 0, этот помощник не нужен.
import { createServer } from 'node:net';

/** Слушаем порт 0, запоминаем выданный системой номер и закрываем. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
