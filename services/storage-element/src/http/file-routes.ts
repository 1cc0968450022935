// HTTP API элемента хранения: приём байтов от ingester, запись о файле, выдача байтов, лента изменений.
import type { Readable } from 'node:stream';
import {
  ArtError,
  decide,
  formatContentDisposition,
  requestAuditContext,
  requirePermission,
  UUID_PATTERN,
  type AuditClient,
  type BlobStore,
} from '@artstore/core';
import {
  DELETE_FILE_QUERY_SCHEMA,
  METADATA_PATCH_BODY_SCHEMA,
  normalizeMetadata,
  parseStorageEncoding,
  SE_HEADERS,
  type ChangesResponse,
  type FileMetadata,
  type StorageEncoding,
} from '@artstore/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { recordFromAttr, type AttrRecord } from '../domain/attr.js';
import { assertAttrSignature, type PublicSigningKey } from '../domain/attr-signing.js';
import type { FileWriter } from '../domain/file-writer.js';
import { acceptsEncoding, decodedSlice } from '../domain/stored-encoding.js';
import { metadataEtag, parseMetadataIfMatch, type MetadataPatch, type MetadataUpdater } from '../domain/metadata-updater.js';
import type { FileDeleter } from '../domain/file-deleter.js';
import type { ModeController } from '../domain/mode-controller.js';
import type { FileCache } from '../store/file-cache.js';

export interface FileRoutesDeps {
  elementId: string;
  writer: FileWriter;
  cache: FileCache;
  blobs: BlobStore;
  modes: ModeController;
  updater: MetadataUpdater;
  deleter: FileDeleter;
  /** Открытые ключи корня SE: ими проверяется каждая выдаваемая запись (SPEC SE-2). */
  signingKeys: readonly PublicSigningKey[];
  /** Журнал аудита (SPEC AD-9): приём, удаление и правка метаданных. */
  audit: AuditClient;
}

const MAX_NAME_BYTES = 1024;

export function registerFileRoutes(app: FastifyInstance, deps: FileRoutesDeps): void {
  // Каждая операция — над этим SE: гранты «роль@se:<element_id>» действуют здесь (SPEC AD-5).
  const here = { se: deps.elementId };
  // Тело загрузки не разбирается: любой тип содержимого приходит потоком в обработчик.
  // Отдельная область плагина — JSON-маршруты SE сохраняют обычный разбор тела.
  void app.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.post(
      '/api/files',
      {
        schema: {
          summary: 'Принять байты файла (внутренний вызов ingester): тело — поток байтов',
          tags: ['files'],
          headers: {
            type: 'object',
            required: [SE_HEADERS.name],
            properties: {
              [SE_HEADERS.name]: { type: 'string', minLength: 1 },
              [SE_HEADERS.metadata]: { type: 'string' },
              [SE_HEADERS.fileId]: { type: 'string', pattern: UUID_PATTERN.source },
              [SE_HEADERS.encoding]: { type: 'string', maxLength: 32 },
            },
          },
        },
      },
      async (request, reply) => {
        const principal = requirePermission(request.principal, 'files:write', here);
        const originalName = decodeName(request.headers[SE_HEADERS.name]);
        const declared = request.headers['content-length'];
        const { attr, seq } = await deps.writer.write({
          id: request.headers[SE_HEADERS.fileId] as string | undefined,
          body: request.body as Readable,
          originalName,
          contentType: request.headers['content-type'] ?? 'application/octet-stream',
          declaredLength: declared === undefined ? undefined : Number(declared),
          metadata: decodeMetadata(request.headers[SE_HEADERS.metadata]),
          actor: principal.username,
          encoding: decodeEncoding(request.headers[SE_HEADERS.encoding]),
        });
        await deps.audit.record({
          ...requestAuditContext(request, principal),
          action: 'file.upload',
          target: attr.id,
          details: { element_id: deps.elementId, name: attr.original_name, size: attr.size, sha256: attr.sha256 },
        });
        return reply.code(201).send({ ...recordFromAttr(attr), seq });
      },
    );
    done();
  });

  app.get<{ Params: { id: string } }>(
    '/api/files/:id',
    { schema: { summary: 'Запись о файле; ETag — "v<версия>" для If-Match при правке', tags: ['files'], params: idParams } },
    async (request, reply) => {
      requirePermission(request.principal, 'files:read', here);
      deps.modes.assert('read');
      const attr = await load(deps, request, request.params.id);
      void reply.header('etag', metadataEtag(attr.version));
      return recordFromAttr(attr);
    },
  );

  app.delete<{ Params: { id: string }; Querystring: { reason: string; override_retention?: boolean } }>(
    '/api/files/:id',
    {
      schema: {
        summary: 'Удаление (только режим edit): надгробие в attr, байты стираются фоновой очисткой (SPEC SE-9, BY-4)',
        tags: ['files'],
        params: idParams,
        querystring: DELETE_FILE_QUERY_SCHEMA,
      },
    },
    async (request) => {
      // Досрочное удаление (SPEC SE-9) — своё право files:purge, проверяется первым: отказ называет его.
      if (request.query.override_retention) requirePermission(request.principal, 'files:purge', here);
      const principal = requirePermission(request.principal, 'files:delete', here);
      const { attr, seq } = await deps.deleter.delete({
        id: request.params.id,
        reason: request.query.reason,
        overrideRetention: request.query.override_retention ?? false,
        principal,
      });
      await deps.audit.record({
        ...requestAuditContext(request, principal),
        action: 'file.delete',
        target: attr.id,
        details: { element_id: deps.elementId, reason: request.query.reason, retention_overridden: attr.deletion?.retention_overridden ?? false },
      });
      return { ...recordFromAttr(attr), deletion: attr.deletion, seq };
    },
  );

  app.patch<{ Params: { id: string }; Body: MetadataPatch }>(
    '/api/files/:id',
    {
      schema: {
        summary: 'Правка метаданных (description, tags, custom) с If-Match: "v<версия>" (SPEC IN-8)',
        tags: ['files'],
        params: idParams,
        body: METADATA_PATCH_BODY_SCHEMA,
      },
    },
    async (request, reply) => {
      const principal = requirePermission(request.principal, 'files:write', here);
      const header = request.headers['if-match'];
      const expected = parseMetadataIfMatch(Array.isArray(header) ? header.join(',') : header);
      if (expected === null) throw new ArtError('PRECONDITION_REQUIRED', 'Укажите If-Match: "v<версия>" — версию из ETag записи');
      const { attr, seq } = await deps.updater.update(request.params.id, expected, request.body, principal.username);
      await deps.audit.record({
        ...requestAuditContext(request, principal),
        action: 'file.metadata.update',
        target: attr.id,
        details: { element_id: deps.elementId, version: attr.version, fields: Object.keys(request.body) },
      });
      void reply.header('etag', metadataEtag(attr.version));
      return { ...recordFromAttr(attr), seq };
    },
  );

  app.route<{ Params: { id: string } }>({
    method: ['GET', 'HEAD'],
    url: '/api/files/:id/content',
    schema: { summary: 'Байты файла: Range, If-Range, ETag, If-None-Match (SPEC SE-11)', tags: ['files'], params: idParams },
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      requirePermission(request.principal, 'files:read', here);
      deps.modes.assert('read_content');
      const attr = await load(deps, request, request.params.id);
      if (attr.status !== 'active') throw new ArtError('FILE_NOT_FOUND', `Файл ${attr.id} в статусе ${attr.status}`);
      // Сжатый файл (SPEC IN-3) клиент, принимающий кодировку хранения, получает как лежит — с
      // Content-Encoding и своим ETag; остальные — исходные байты, распакованные на лету. Range всегда
      // над исходными байтами: частичный сжатый ответ клиенты (fetch, браузеры) распаковать не могут.
      const stored = attr.stored.encoding;
      const encoded =
        stored !== 'identity' && request.headers.range === undefined && acceptsEncoding(one(request.headers['accept-encoding']), stored);
      const etag = encoded ? `"${attr.sha256}-${stored}"` : `"${attr.sha256}"`;
      const lastModified = new Date(attr.created_at);
      if (stored !== 'identity') void reply.header('vary', 'Accept-Encoding');
      void reply
        .header('etag', etag)
        .header('last-modified', lastModified.toUTCString())
        .header('accept-ranges', 'bytes')
        .header('content-disposition', formatContentDisposition(attr.original_name))
        .header('cache-control', 'private, max-age=0, must-revalidate');
      const size = encoded ? attr.stored.size : attr.size;
      const decision = decide(request.method, headersOf(request), { etag, size, lastModified });
      switch (decision.status) {
        case 304:
          return reply.code(304).send();
        case 412:
          throw new ArtError('PRECONDITION_FAILED', 'If-Match / If-Unmodified-Since не выполнено');
        case 416:
          throw new ArtError('RANGE_NOT_SATISFIABLE', `Размер файла ${attr.size} байт`, {
            headers: { 'content-range': `bytes */${attr.size}` },
          });
        case 206:
          await assertBytesPresent(deps, attr);
          void reply
            .code(206)
            .type(attr.content_type)
            .header('content-range', `bytes ${decision.start}-${decision.end}/${attr.size}`)
            .header('content-length', decision.end - decision.start + 1);
          if (request.method === 'HEAD') return reply.send();
          return reply.send(
            stored === 'identity'
              ? await deps.blobs.get(attr.path, decision)
              : decodedSlice(await deps.blobs.get(attr.path), stored, decision),
          );
        case 200:
          await assertBytesPresent(deps, attr);
          void reply.code(200).type(attr.content_type).header('content-length', size);
          if (encoded) void reply.header('content-encoding', stored);
          if (request.method === 'HEAD') return reply.send();
          return reply.send(
            stored === 'identity' || encoded
              ? await deps.blobs.get(attr.path)
              : decodedSlice(await deps.blobs.get(attr.path), stored),
          );
      }
    },
  });

  app.get<{ Querystring: { after?: number; limit?: number } }>(
    '/api/changes',
    {
      schema: {
        summary: 'Лента изменений (SPEC SE-5): записи в порядке номера изменения',
        tags: ['changes'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'integer', minimum: 0, default: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 500 },
          },
        },
      },
    },
    async (request): Promise<ChangesResponse> => {
      requirePermission(request.principal, 'changes:read', here);
      const after = request.query.after ?? 0;
      const changes = await deps.cache.changes(after, request.query.limit ?? 500);
      return { element_id: deps.elementId, changes, last_seq: changes.at(-1)?.seq ?? after };
    },
  );
}

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: UUID_PATTERN.source } },
} as const;

/** В архиве байты могли уйти в холодное хранение (SPEC SE-7): ясная ошибка вместо 404 или 500. */
async function assertBytesPresent(deps: FileRoutesDeps, attr: AttrRecord): Promise<void> {
  if (deps.modes.mode !== 'ar') return;
  if ((await deps.blobs.stat(attr.path)) === null) {
    throw new ArtError('FILE_ARCHIVED', `Файл ${attr.id} в архиве: байтов на ${attr.element_id} нет, метаданные доступны`);
  }
}

/**
 * Запись выдаётся из кеша, поэтому её подпись проверяется здесь (одна проверка Ed25519 с уже разобранным
 * ключом): подделанная строка кеша не выдаётся ни как метаданные, ни как путь к байтам.
 */
async function load(deps: FileRoutesDeps, request: FastifyRequest, id: string): Promise<AttrRecord> {
  const attr = await deps.cache.get(id);
  if (!attr) throw new ArtError('FILE_NOT_FOUND', `Файл ${id} не найден`);
  assertAttrSignature(attr, deps.signingKeys, request.log);
  return attr;
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(', ') : v);

function headersOf(request: FastifyRequest) {
  const h = request.headers;
  return {
    range: one(h.range),
    ifRange: one(h['if-range']),
    ifMatch: one(h['if-match']),
    ifNoneMatch: one(h['if-none-match']),
    ifModifiedSince: one(h['if-modified-since']),
    ifUnmodifiedSince: one(h['if-unmodified-since']),
  };
}

export function decodeName(header: string | string[] | undefined): string {
  let name: string;
  try {
    name = decodeURIComponent(String(header ?? ''));
  } catch {
    throw new ArtError('FILE_NAME_INVALID', `Заголовок ${SE_HEADERS.name}: некорректное percent-кодирование`);
  }
  if (name === '' || Buffer.byteLength(name) > MAX_NAME_BYTES || name.includes('\0')) {
    throw new ArtError('FILE_NAME_INVALID', `Имя файла пустое, длиннее ${MAX_NAME_BYTES} байт или содержит NUL`);
  }
  return name;
}

/** Кодировка хранения от ingester (SPEC IN-3); чужое значение — отказ, а не молчаливое хранение как есть. */
export function decodeEncoding(header: string | string[] | undefined): StorageEncoding | undefined {
  if (header === undefined) return undefined;
  const parsed = parseStorageEncoding(String(header));
  if (parsed === null) throw new ArtError('VALIDATION_FAILED', `Заголовок ${SE_HEADERS.encoding}: ожидается br или gzip[; level=N]`);
  return parsed;
}

export function decodeMetadata(header: string | string[] | undefined): FileMetadata {
  if (header === undefined) return normalizeMetadata(undefined);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(String(header), 'base64url').toString('utf8'));
  } catch {
    throw new ArtError('VALIDATION_FAILED', `Заголовок ${SE_HEADERS.metadata}: ожидается base64url(JSON)`);
  }
  return normalizeMetadata(parsed);
}
