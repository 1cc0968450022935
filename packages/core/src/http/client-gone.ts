// Сигнал «клиент ушёл, не дождавшись ответа»: долгую работу ради этого ответа (перехеширование файла,
// SPEC QR-7) стоит остановить, а не читать диск впустую.
import type { FastifyReply } from 'fastify';

export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  return gone.signal;
}
