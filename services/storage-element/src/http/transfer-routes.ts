// Внутренний API участника переноса (SPEC IN-6): его вызывает координатор в ingester с токеном того, кто
// заказал перенос; нужно право storage:manage на этом SE (SPEC AD-5). Каждый шаг идемпотентен.
import type { Readable } from 'node:stream';
import {
  ArtError,
  requestAuditContext,
  requirePermission,
  UUID_PATTERN,
  type AuditClient,
} from '@artstore/core';
import { normalizeMetadata, SE_HEADERS, type TransferSource } from '@artstore/contracts';
import type { FastifyInstance } from 'fastify';
import { recordFromAttr, type AttrRecord } from '../domain/attr.js';
import type { TransferParticipant } from '../domain/transfer-participant.js';
import { decodeEncoding } from './file-routes.js';

export interface TransferRoutesDeps {
  elementId: string;
  participant: TransferParticipant;
  audit: AuditClient;
}

const fileParams = {
  type: 'object',
  required: ['file_id'],
  properties: { file_id: { type: 'string', pattern: UUID_PATTERN.source } },
} as const;
const transferQuery = {
  type: 'object',
  required: ['transfer_id'],
  additionalProperties: false,
  properties: { transfer_id: { type: 'string', pattern: UUID_PATTERN.source } },
} as const;

function view(attr: AttrRecord) {
  return { ...recordFromAttr(attr), transfer: attr.transfer ?? null };
}

export function registerTransferRoutes(app: FastifyInstance, deps: TransferRoutesDeps): void {
  const here = { se: deps.elementId };
  // Тело prepare — поток байтов любого типа, как у POST /api/files: своя область без разбора тела.
  void app.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.put<{ Params: { file_id: string } }>(
      '/api/transfers/:file_id',
      {
        schema: {
          summary:
            'Prepare переноса (SPEC IN-6): копия в статусе pending, sha256 и размер сверяются с источником',
          tags: ['transfers'],
          params: fileParams,
          headers: {
            type: 'object',
            required: [SE_HEADERS.transferSource],
            properties: {
              [SE_HEADERS.transferSource]: { type: 'string', minLength: 2 },
              [SE_HEADERS.encoding]: { type: 'string', maxLength: 32 },
            },
          },
        },
      },
      async (request, reply) => {
        const principal = requirePermission(request.principal, 'storage:manage', here);
        const source = decodeSource(request.headers[SE_HEADERS.transferSource]);
        const declared = request.headers['content-length'];
        const attr = await deps.participant.prepare({
          id: request.params.file_id,
          body: request.body as Readable,
          contentLength: declared === undefined ? undefined : Number(declared),
          source,
          principal,
          encoding: decodeEncoding(request.headers[SE_HEADERS.encoding]),
        });
        return reply.code(201).send(view(attr));
      },
    );
    done();
  });

  app.post<{ Params: { file_id: string }; Querystring: { transfer_id: string } }>(
    '/api/transfers/:file_id/commit',
    {
      schema: {
        summary: 'Commit переноса на целевом SE: pending → active (идемпотентно)',
        tags: ['transfers'],
        params: fileParams,
        querystring: transferQuery,
      },
    },
    async (request) => {
      const principal = requirePermission(request.principal, 'storage:manage', here);
      return view(
        await deps.participant.commit(request.params.file_id, request.query.transfer_id, principal.username),
      );
    },
  );

  app.delete<{ Params: { file_id: string }; Querystring: { transfer_id: string } }>(
    '/api/transfers/:file_id',
    {
      schema: {
        summary:
          'Abort переноса на целевом SE: pending-копия удаляется (идемпотентно; активный файл не трогается)',
        tags: ['transfers'],
        params: fileParams,
        querystring: transferQuery,
      },
    },
    async (request) => {
      requirePermission(request.principal, 'storage:manage', here);
      return deps.participant.abort(request.params.file_id, request.query.transfer_id);
    },
  );

  app.post<{ Params: { file_id: string }; Body: { target: string; transfer_id: string } }>(
    '/api/files/:file_id/transferred',
    {
      schema: {
        summary: 'Источник переноса: надгробие transferred, байты стираются фоновой очисткой (идемпотентно)',
        tags: ['transfers'],
        params: fileParams,
        body: {
          type: 'object',
          required: ['target', 'transfer_id'],
          additionalProperties: false,
          properties: {
            target: { type: 'string', minLength: 1 },
            transfer_id: { type: 'string', pattern: UUID_PATTERN.source },
          },
        },
      },
    },
    async (request) => {
      const principal = requirePermission(request.principal, 'storage:manage', here);
      const attr = await deps.participant.markTransferred(
        request.params.file_id,
        request.body.transfer_id,
        request.body.target,
        principal,
      );
      await deps.audit.record({
        ...requestAuditContext(request, principal),
        action: 'file.transfer.out',
        target: attr.id,
        details: {
          element_id: deps.elementId,
          target: request.body.target,
          transfer_id: request.body.transfer_id,
        },
      });
      return view(attr);
    },
  );
}

function decodeSource(header: string | string[] | undefined): TransferSource {
  let parsed: Partial<TransferSource>;
  try {
    parsed = JSON.parse(Buffer.from(String(header), 'base64url').toString('utf8')) as Partial<TransferSource>;
  } catch {
    throw new ArtError(
      'VALIDATION_FAILED',
      `Заголовок ${SE_HEADERS.transferSource}: ожидается base64url(JSON)`,
    );
  }
  const text = (key: keyof TransferSource) => typeof parsed[key] === 'string' && parsed[key] !== '';
  if (
    !['transfer_id', 'source_element', 'name', 'content_type', 'created_at', 'created_by'].every((key) =>
      text(key as keyof TransferSource),
    ) ||
    !/^[0-9a-f]{64}$/.test(String(parsed.sha256)) ||
    !Number.isSafeInteger(parsed.size) ||
    (parsed.size ?? -1) < 0 ||
    (parsed.retention_until !== null && typeof parsed.retention_until !== 'string')
  ) {
    throw new ArtError(
      'VALIDATION_FAILED',
      `Заголовок ${SE_HEADERS.transferSource}: неполная запись источника`,
    );
  }
  return { ...(parsed as TransferSource), metadata: normalizeMetadata(parsed.metadata) };
}
