// Запись — только на мастере (SPEC SE-12): изменяющий запрос к не-мастеру получает 307 на тот же
// путь у мастера (или 503, пока мастер не выбран) до того, как тело начнёт читаться.
import type { FastifyInstance } from 'fastify';
import type { Mastership } from '../domain/mastership.js';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function registerMasterGate(app: FastifyInstance, mastership: Mastership): void {
  app.addHook('onRequest', (request, _reply, done) => {
    if (!WRITE_METHODS.has(request.method) || !request.url.startsWith('/api/') || mastership.isMaster) done();
    else done(mastership.refusal(request.url));
  });
}
