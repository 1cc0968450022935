// Одна строка журнала на запрос (SPEC X-4) вместо пары «incoming/completed» fastify: метод, путь
// без строки запроса (в ней бывают токены ссылок), статус, длительность. Служебные маршруты —
// health, metrics и опрос ленты изменений — на уровне debug, чтобы не топить полезные строки.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

const QUIET = [/^\/health\//, /^\/metrics$/, /^\/api\/changes$/];
/** Пути, сам сегмент которых — секрет: токен временной ссылки (SPEC QR-6) действует как пароль. */
const SECRET_SEGMENTS: readonly RegExp[] = [/^(\/api\/links\/)[^/]+/];

/** Путь для журнала: без строки запроса и с замаскированными секретными сегментами. */
export function loggablePath(url: string): string {
  const path = url.split('?')[0]!;
  return SECRET_SEGMENTS.reduce((masked, pattern) => masked.replace(pattern, '$1***'), path);
}

export class RequestLogController extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'request_id' });
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const path = loggablePath(request.url);
    const entry = {
      method: request.method,
      path,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ...(error ? { err: error } : {}),
    };
    if (error) request.log.error(entry, 'request_completed');
    else if (QUIET.some((p) => p.test(path)) && reply.statusCode < 400)
      request.log.debug(entry, 'request_completed');
    else request.log.info(entry, 'request_completed');
  }
}
