// Внутренний API возобновляемых загрузок (SPEC IN-1, BY-6): его вызывает сервер tus ingester-module с
// токеном пользователя. Сессия принадлежит создателю; storage:manage на этом SE видит и прерывает все.
import type { Readable } from 'node:stream';
import {
  ArtError,
  requestAuditContext,
  requirePermission,
  UUID_PATTERN,
  type AuditClient,
  type Principal,
} from '@artstore/core';
import { SE_HEADERS, UPLOAD_SESSION_HEADERS, type UploadSessionList } from '@artstore/contracts';
import type { FastifyInstance } from 'fastify';
import type { SessionActor, UploadSessions } from '../domain/upload-sessions.js';
import { decodeEncoding, decodeMetadata, decodeName } from './file-routes.js';

export interface UploadSessionRoutesDeps {
  elementId: string;
  sessions: UploadSessions;
  audit: AuditClient;
}

const params = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: UUID_PATTERN.source } },
} as const;

/** Неотрицательное целое из заголовка (Upload-Length, Upload-Offset); иное — 400. */
function byteCount(header: string | string[] | undefined, name: string): number {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined || !/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new ArtError('VALIDATION_FAILED', `${name}: ожидается целое число байт ≥ 0`);
  }
  return Number(value);
}

export function registerUploadSessionRoutes(app: FastifyInstance, deps: UploadSessionRoutesDeps): void {
  const here = { se: deps.elementId };
  const actorOf = (principal: Principal): SessionActor => {
    let manager = true;
    try {
      requirePermission(principal, 'storage:manage', here);
    } catch {
      manager = false;
    }
    return { username: principal.username, manager };
  };

  // Тело куска не разбирается: любой тип содержимого приходит потоком (как POST /api/files).
  void app.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    scope.post(
      '/api/uploads',
      {
        schema: {
          summary: 'Создать сессию возобновляемой загрузки: резерв места на Upload-Length (SPEC IN-1, SE-8)',
          tags: ['uploads'],
          headers: {
            type: 'object',
            required: [SE_HEADERS.name, UPLOAD_SESSION_HEADERS.length],
            properties: {
              [SE_HEADERS.name]: { type: 'string', minLength: 1 },
              [SE_HEADERS.metadata]: { type: 'string' },
              [SE_HEADERS.fileId]: { type: 'string', pattern: UUID_PATTERN.source },
              [UPLOAD_SESSION_HEADERS.length]: { type: 'string' },
              [UPLOAD_SESSION_HEADERS.contentType]: { type: 'string', maxLength: 255 },
              [SE_HEADERS.encoding]: { type: 'string', maxLength: 32 },
            },
          },
        },
      },
      async (request, reply) => {
        const principal = requirePermission(request.principal, 'files:write', here);
        const headers = request.headers;
        const created = await deps.sessions.create(actorOf(principal), {
          name: decodeName(headers[SE_HEADERS.name]),
          metadata: decodeMetadata(headers[SE_HEADERS.metadata]),
          contentType:
            (headers[UPLOAD_SESSION_HEADERS.contentType] as string | undefined) || 'application/octet-stream',
          length: byteCount(headers[UPLOAD_SESSION_HEADERS.length], 'Upload-Length'),
          fileId: headers[SE_HEADERS.fileId] as string | undefined,
          encoding: decodeEncoding(headers[SE_HEADERS.encoding]),
        });
        return reply.code(201).send(created);
      },
    );

    scope.route<{ Params: { id: string } }>({
      method: ['GET', 'HEAD'],
      url: '/api/uploads/:id',
      exposeHeadRoute: false,
      schema: {
        summary: 'Состояние сессии: принятое смещение, длина, срок, file_id',
        tags: ['uploads'],
        params,
      },
      handler: async (request, reply) => {
        const principal = requirePermission(request.principal, 'files:write', here);
        const session = deps.sessions.get(request.params.id, actorOf(principal));
        void reply
          .header(UPLOAD_SESSION_HEADERS.offset, String(session.offset))
          .header(UPLOAD_SESSION_HEADERS.length, String(session.length))
          .header('cache-control', 'no-store');
        return request.method === 'HEAD' ? reply.send() : session;
      },
    });

    scope.patch<{ Params: { id: string } }>(
      '/api/uploads/:id',
      {
        schema: {
          summary: 'Кусок с Upload-Offset (и Upload-Checksum); последний кусок записывает файл',
          tags: ['uploads'],
          params,
        },
      },
      async (request) => {
        const principal = requirePermission(request.principal, 'files:write', here);
        const length = request.headers['content-length'];
        const checksum = request.headers[UPLOAD_SESSION_HEADERS.checksum];
        const result = await deps.sessions.patch(request.params.id, actorOf(principal), {
          offset: byteCount(request.headers[UPLOAD_SESSION_HEADERS.offset], 'Upload-Offset'),
          body: request.body as Readable,
          contentLength: length === undefined ? undefined : Number(length),
          checksum: Array.isArray(checksum) ? checksum.join(',') : checksum,
        });
        if (result.file !== undefined && result.file.seq !== null) {
          // Как у POST /api/files: приём файла — событие аудита SE (SPEC AD-9); повтор завершения — не новое.
          await deps.audit.record({
            ...requestAuditContext(request, principal),
            action: 'file.upload',
            target: result.file.id,
            details: {
              element_id: deps.elementId,
              name: result.file.name,
              size: result.file.size,
              sha256: result.file.sha256,
              resumable: true,
            },
          });
        }
        return result;
      },
    );

    scope.delete<{ Params: { id: string } }>(
      '/api/uploads/:id',
      {
        schema: {
          summary: 'Прервать загрузку (tus termination): части и резерв удаляются',
          tags: ['uploads'],
          params,
        },
      },
      async (request, reply) => {
        const principal = requirePermission(request.principal, 'files:write', here);
        await deps.sessions.terminate(request.params.id, actorOf(principal));
        return reply.code(204).send();
      },
    );

    scope.get(
      '/api/uploads',
      { schema: { summary: 'Открытые сессии загрузок (для администратора)', tags: ['uploads'] } },
      (request) => {
        requirePermission(request.principal, 'storage:manage', here);
        return { element_id: deps.elementId, sessions: deps.sessions.list() } satisfies UploadSessionList;
      },
    );
    done();
  });
}
