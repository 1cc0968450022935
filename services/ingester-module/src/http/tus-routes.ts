// Сервер tus 1.0 (https://tus.io/protocols/resumable-upload, SPEC IN-1, §9 `/api/uploads…`): core
// protocol и расширения creation, termination, checksum, expiration. Сессии — на SE (tus-uploads.ts).
import { Readable } from 'node:stream';
import { ArtError, requirePermissionSomewhere, type Principal } from '@artstore/core';
import { UPLOAD_CHECKSUM_ALGORITHMS, type UploadSessionView } from '@artstore/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseUploadMetadata, type TusUploads } from '../domain/tus-uploads.js';

export const TUS_VERSION = '1.0.0';
const TUS_EXTENSIONS = 'creation,termination,checksum,expiration';
const OFFSET_CONTENT_TYPE = 'application/offset+octet-stream';

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Неотрицательное целое из заголовка tus; иное — 400. */
function byteCount(value: string | undefined, name: string): number {
  if (value === undefined) throw new ArtError('VALIDATION_FAILED', `Нужен заголовок ${name}`);
  if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new ArtError('VALIDATION_FAILED', `${name}: ожидается целое число байт ≥ 0`);
  }
  return Number(value);
}

/** Upload-Expires — дата RFC 7231 (tus expiration). */
const expires = (session: UploadSessionView) => new Date(session.expires_at).toUTCString();

function clientAbortSignal(request: FastifyRequest): AbortSignal {
  const controller = new AbortController();
  request.raw.once('close', () => {
    if (!request.raw.complete) controller.abort();
  });
  return controller.signal;
}

export function registerTusRoutes(app: FastifyInstance, uploads: TusUploads): void {
  void app.register((scope, _options, done) => {
    // Тело куска — поток байтов, не разбирается (backpressure до SE, IN-1).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    // tus 1.0: Tus-Resumable — в каждом ответе, кроме OPTIONS; запрос без поддерживаемой версии — 412 и не
    // выполняется (проверка до аутентификации и до чтения тела).
    scope.addHook('onRequest', (request, reply, done) => {
      if (request.method === 'OPTIONS') return done();
      void reply.header('tus-resumable', TUS_VERSION);
      if (header(request, 'tus-resumable') === TUS_VERSION) return done();
      done(
        new ArtError('TUS_VERSION_UNSUPPORTED', `Нужен заголовок Tus-Resumable: ${TUS_VERSION}`, {
          headers: { 'tus-version': TUS_VERSION, 'tus-resumable': TUS_VERSION },
        }),
      );
    });

    const options = (_request: FastifyRequest, reply: FastifyReply) => {
      void reply
        .code(204)
        .header('tus-resumable', TUS_VERSION)
        .header('tus-version', TUS_VERSION)
        .header('tus-extension', TUS_EXTENSIONS)
        .header('tus-checksum-algorithm', UPLOAD_CHECKSUM_ALGORITHMS.join(','));
      const max = uploads.maxSize();
      if (max !== undefined) void reply.header('tus-max-size', String(max));
      return reply.send();
    };
    scope.options('/api/uploads', { schema: { hide: true } }, options);
    scope.options('/api/uploads/:token', { schema: { hide: true } }, options);

    scope.post(
      '/api/uploads',
      {
        schema: {
          summary:
            'tus creation: Upload-Length и Upload-Metadata (filename, filetype, description, tags, storage_element)',
          tags: ['uploads'],
        },
      },
      async (request, reply) => {
        const principal = requirePermissionSomewhere(request.principal, 'files:write');
        if (header(request, 'upload-defer-length') !== undefined) {
          throw new ArtError(
            'VALIDATION_FAILED',
            'Upload-Defer-Length не поддерживается: длина нужна сразу — под неё резервируется место (SPEC SE-8)',
          );
        }
        const length = byteCount(header(request, 'upload-length'), 'Upload-Length');
        const max = uploads.maxSize();
        if (max !== undefined && length > max) {
          throw new ArtError('UPLOAD_LENGTH_EXCEEDED', `Upload-Length ${length} больше Tus-Max-Size ${max}`);
        }
        const created = await uploads.create({
          principal,
          length,
          metadata: parseUploadMetadata(header(request, 'upload-metadata')),
          requestId: request.id,
          ip: request.ip,
        });
        void reply
          .code(201)
          .header('location', `/api/uploads/${created.token}`)
          .header('upload-expires', expires(created.session));
        if (created.fileId !== undefined) void reply.header('artstore-file-id', created.fileId);
        return reply.send();
      },
    );

    scope.head<{ Params: { token: string } }>(
      '/api/uploads/:token',
      { schema: { summary: 'tus: принятое смещение загрузки', tags: ['uploads'] } },
      async (request, reply) => {
        const session = await uploads.status(principalOf(request), request.params.token, request.id);
        void reply
          .header('upload-offset', String(session.offset))
          .header('upload-length', String(session.length))
          .header('upload-expires', expires(session))
          .header('cache-control', 'no-store');
        if (session.finished) void reply.header('artstore-file-id', session.file_id);
        return reply.code(200).send();
      },
    );

    scope.get<{ Params: { token: string } }>(
      '/api/uploads/:token',
      {
        schema: {
          summary: 'Состояние загрузки JSON: offset, length, expires_at, file_id (после завершения)',
          tags: ['uploads'],
        },
      },
      async (request) => {
        const session = await uploads.status(principalOf(request), request.params.token, request.id);
        return {
          offset: session.offset,
          length: session.length,
          expires_at: session.expires_at,
          file_id: session.finished ? session.file_id : null,
        };
      },
    );

    scope.patch<{ Params: { token: string } }>(
      '/api/uploads/:token',
      {
        schema: {
          summary: 'tus: кусок с Upload-Offset (и Upload-Checksum); последний отвечает Artstore-File-Id',
          tags: ['uploads'],
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const type = (header(request, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
        if (type !== OFFSET_CONTENT_TYPE) {
          throw new ArtError(
            'UNSUPPORTED_MEDIA_TYPE',
            `Кусок tus передаётся с Content-Type: ${OFFSET_CONTENT_TYPE}`,
          );
        }
        const result = await uploads.patch({
          principal,
          token: request.params.token,
          offset: byteCount(header(request, 'upload-offset'), 'Upload-Offset'),
          checksum: header(request, 'upload-checksum'),
          contentLength: header(request, 'content-length'),
          body: (request.body as Readable | undefined) ?? Readable.from([]),
          requestId: request.id,
          ip: request.ip,
          clientAborted: clientAbortSignal(request),
        });
        void reply
          .code(204)
          .header('upload-offset', String(result.session.offset))
          .header('upload-expires', expires(result.session));
        if (result.fileId !== undefined) void reply.header('artstore-file-id', result.fileId);
        return reply.send();
      },
    );

    scope.delete<{ Params: { token: string } }>(
      '/api/uploads/:token',
      {
        schema: {
          summary: 'tus termination: части удаляются; администратор прерывает любую загрузку',
          tags: ['uploads'],
        },
      },
      async (request, reply) => {
        await uploads.terminate(principalOf(request), request.params.token, request.id);
        return reply.code(204).send();
      },
    );

    scope.get(
      '/api/uploads',
      {
        schema: {
          summary: 'Открытые загрузки на всех SE (storage:manage); недоступный SE — available: false',
          tags: ['uploads'],
        },
      },
      async (request) => ({ storage_elements: await uploads.list(principalOf(request), request.id) }),
    );
    done();
  });
}

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ArtError('AUTH_TOKEN_MISSING');
  return request.principal;
}
