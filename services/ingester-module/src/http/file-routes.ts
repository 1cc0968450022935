// Удаление (SPEC IN-5) и правка метаданных (IN-8) через ingester: файл ищется на SE (file-locator.ts),
// запрос уходит владельцу с токеном вызывающего. Режим edit, срок хранения, files:purge и If-Match
// проверяет SE — его ответ, ETag и problem+json уходят клиенту как есть. Ingester добавляет то, чего SE
// не видит: адрес клиента в событии аудита (AD-9) и счётчики операций.
import { json } from 'node:stream/consumers';
import {
  ArtError,
  requestAuditContext,
  requirePermissionSomewhere,
  UUID_PATTERN,
  type AuditClient,
  type Principal,
} from '@artstore/core';
import { DELETE_FILE_QUERY_SCHEMA, METADATA_PATCH_BODY_SCHEMA } from '@artstore/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FileLocator, LocatedFile } from '../domain/file-locator.js';
import type { OperationMetrics } from '../domain/operation-metrics.js';

export interface FileRoutesDeps {
  locator: FileLocator;
  audit: AuditClient;
  metrics: OperationMetrics;
}

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: UUID_PATTERN.source } },
} as const;

type Operation = 'delete' | 'metadata_update';
const AUDIT_ACTION: Record<Operation, string> = {
  delete: 'file.delete',
  metadata_update: 'file.metadata.update',
};

export function registerFileRoutes(app: FastifyInstance, deps: FileRoutesDeps): void {
  /**
   * Находит SE и выполняет на нём вызов; если SE из кеша ответил «нет такого» (файл перенесён), ищет
   * заново один раз. Исход — в аудит и метрики.
   */
  async function onOwner<T>(
    request: FastifyRequest<{ Params: { id: string } }>,
    principal: Principal,
    operation: Operation,
    details: Record<string, unknown>,
    call: (located: LocatedFile) => Promise<T>,
  ): Promise<T> {
    const { id } = request.params;
    let elementId: string | undefined;
    try {
      let located = await deps.locator.locate(id, principal.token, request.id);
      elementId = located.elementId;
      let result: T;
      try {
        result = await call(located);
      } catch (error) {
        if (!located.cached || !(error instanceof ArtError) || error.code !== 'FILE_NOT_FOUND') throw error;
        deps.locator.forget(id);
        located = await deps.locator.locate(id, principal.token, request.id);
        elementId = located.elementId;
        result = await call(located);
      }
      deps.metrics.operation(operation, 'success');
      await deps.audit.record({
        ...requestAuditContext(request, principal),
        action: AUDIT_ACTION[operation],
        target: id,
        details: { storage_element: elementId, ...details },
      });
      return result;
    } catch (error) {
      const code = error instanceof ArtError ? error.code : 'INTERNAL';
      deps.metrics.operation(operation, code);
      // Отказ — тоже событие безопасности (SPEC AD-9): кто и откуда пытался удалить или править.
      await deps.audit.record({
        ...requestAuditContext(request, principal),
        action: AUDIT_ACTION[operation],
        target: id,
        outcome: 'failure',
        details: {
          ...(elementId === undefined ? {} : { storage_element: elementId }),
          ...details,
          error: code,
        },
      });
      throw error;
    }
  }

  const asCaller = (principal: Principal) => ({ authorization: `Bearer ${principal.token}` });

  app.delete<{ Params: { id: string }; Querystring: { reason: string; override_retention?: boolean } }>(
    '/api/files/:id',
    {
      schema: {
        summary:
          'Удаление файла (только режим edit, срок хранения соблюдается): надгробие, байты — фоновой очисткой',
        tags: ['files'],
        params: idParams,
        querystring: DELETE_FILE_QUERY_SCHEMA,
      },
    },
    async (request) => {
      // Ранний отказ без опроса SE; право на SE-владельце проверит он сам (SPEC AD-5).
      const principal = requirePermissionSomewhere(request.principal, 'files:delete');
      const { reason, override_retention: override = false } = request.query;
      return onOwner(request, principal, 'delete', { reason, retention_overridden: override }, ({ client }) =>
        client.json<unknown>('DELETE', `/api/files/${request.params.id}`, {
          headers: asCaller(principal),
          query: { reason, override_retention: override },
          requestId: request.id,
        }),
      );
    },
  );

  app.patch<{ Params: { id: string }; Body: Record<string, unknown> }>(
    '/api/files/:id',
    {
      schema: {
        summary: 'Правка метаданных (description, tags, custom) с If-Match: "v<версия>" из ETag записи',
        tags: ['files'],
        params: idParams,
        body: METADATA_PATCH_BODY_SCHEMA,
      },
    },
    async (request, reply) => {
      const principal = requirePermissionSomewhere(request.principal, 'files:write');
      const ifMatch = request.headers['if-match'];
      // Без версии правка затёрла бы чужую (SPEC IN-8); проверка до опроса SE.
      if (ifMatch === undefined)
        throw new ArtError('PRECONDITION_REQUIRED', 'Укажите If-Match: "v<версия>" — версию из ETag записи');
      const fields = Object.keys(request.body);
      const response = await onOwner(
        request,
        principal,
        'metadata_update',
        { fields },
        async ({ client }) => {
          const answer = await client.stream('PATCH', `/api/files/${request.params.id}`, {
            headers: {
              ...asCaller(principal),
              'if-match': Array.isArray(ifMatch) ? ifMatch.join(',') : ifMatch,
            },
            body: request.body,
            requestId: request.id,
          });
          return { etag: answer.headers.etag, body: await json(answer.body) };
        },
      );
      if (typeof response.etag === 'string') void reply.header('etag', response.etag);
      return response.body;
    },
  );
}
