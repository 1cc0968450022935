// Временные ссылки на скачивание (SPEC QR-6, §9): POST /api/links выдаёт подписанную ссылку на один файл,
// GET/HEAD /api/links/{token} отдаёт байты без входа — через тот же прокси к SE, что и /content, но с сервисным
// токеном query: право проверено при создании ссылки, а подпись доказывает, что ссылку выдали мы.
import {
  ArtError,
  requestAuditContext,
  uuidv7,
  UUID_PATTERN,
  type AuditClient,
  type ServiceClient,
  type ServiceResponse,
} from '@artstore/core';
import { LINK_EXPIRES_IN, type CreateLinkRequest, type TemporaryLink } from '@artstore/contracts';
import type { FastifyInstance } from 'fastify';
import type { LinkClaims, LinkSigner } from '../domain/links.js';
import type { FileIndex } from '../store/file-index.js';
import type { LinkStore } from '../store/link-store.js';
import {
  deliversBytes,
  elementClient,
  findRecord,
  openContent,
  readableRecord,
  sendContent,
  type DownloadMetrics,
} from './download-proxy.js';

export interface LinkRoutesDeps {
  index: FileIndex;
  elements: ReadonlyMap<string, ServiceClient>;
  audit: AuditClient;
  downloads: DownloadMetrics;
  linkSigner: LinkSigner;
  linkStore: LinkStore;
}

const createBody = {
  type: 'object',
  required: ['file_id'],
  additionalProperties: false,
  properties: {
    file_id: { type: 'string', pattern: UUID_PATTERN.source },
    expires_in: {
      type: 'integer',
      minimum: LINK_EXPIRES_IN.min,
      maximum: LINK_EXPIRES_IN.max,
      default: LINK_EXPIRES_IN.default,
    },
    single_use: { type: 'boolean', default: false },
  },
} as const;

export function registerLinkRoutes(app: FastifyInstance, deps: LinkRoutesDeps): void {
  app.post<{ Body: CreateLinkRequest }>(
    '/api/links',
    {
      schema: {
        summary: 'Временная ссылка на скачивание файла (без входа, с ограниченным сроком)',
        tags: ['links'],
        body: createBody,
      },
    },
    async (request, reply): Promise<TemporaryLink> => {
      // Ссылка передаёт право чтения любому держателю: выдать её может только тот, кто читает файл сам (QR-8).
      const { record, principal } = await readableRecord(
        deps.index,
        request.principal,
        request.body.file_id,
        {
          activeOnly: true,
        },
      );
      const claims: LinkClaims = {
        id: uuidv7(),
        fileId: record.id,
        expiresAt: new Date(Date.now() + (request.body.expires_in ?? LINK_EXPIRES_IN.default) * 1000),
        singleUse: request.body.single_use ?? false,
      };
      const token = deps.linkSigner.sign(claims);
      await deps.audit.record({
        ...requestAuditContext(request, principal),
        action: 'link.create',
        target: record.id,
        details: {
          link_id: claims.id,
          storage_element: record.storage_element,
          expires_at: claims.expiresAt.toISOString(),
          single_use: claims.singleUse,
        },
      });
      void reply.code(201);
      return {
        id: claims.id,
        file_id: record.id,
        token,
        url: `/api/links/${token}`,
        expires_at: claims.expiresAt.toISOString(),
        single_use: claims.singleUse,
      };
    },
  );

  app.route<{ Params: { token: string } }>({
    method: ['GET', 'HEAD'],
    url: '/api/links/:token',
    exposeHeadRoute: false,
    // Без входа: право даёт подпись ссылки (core/http/server.ts пропускает проверку токена у public-маршрутов).
    config: { public: true },
    schema: {
      summary: 'Байты файла по временной ссылке: Range и условные запросы как у /api/files/{id}/content',
      tags: ['links'],
      security: [],
      params: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } },
    },
    handler: async (request, reply) => {
      const claims = deps.linkSigner.open(request.params.token);
      const record = await findRecord(deps.index, claims.fileId, { activeOnly: true });
      if (claims.singleUse && (await deps.linkStore.isUsed(claims.id))) throw linkUsed(claims);
      const upstream = await openContent(request, elementClient(deps.elements, record), record);
      const delivers = deliversBytes(request, upstream);
      if (claims.singleUse && delivers) await markUsedOrRelease(deps.linkStore, claims, upstream);
      if (delivers) {
        await deps.audit.record({
          // Держатель ссылки анонимен; байты берёт query своей сервисной учётной записью, а кто выдал ссылку —
          // в событии link.create с тем же link_id.
          actor: { subject: `link:${claims.id}`, username: `link:${claims.id}`, kind: 'service' },
          ip: request.ip,
          request_id: request.id,
          action: 'file.download',
          target: record.id,
          details: {
            link_id: claims.id,
            storage_element: record.storage_element,
            status: upstream.status,
            range: request.headers.range ?? null,
          },
        });
      }
      // Для CDN перед query (QR-6): многоразовую ссылку можно кешировать до её истечения (ETag и Last-Modified —
      // от SE, Range и условные запросы CDN делает сам); одноразовую — нельзя: второй раз байты не выдаются.
      const maxAge = Math.max(0, Math.floor((claims.expiresAt.getTime() - Date.now()) / 1000));
      const cacheControl = claims.singleUse ? 'no-store' : `public, max-age=${maxAge}`;
      return sendContent(request, reply, upstream, { via: 'link', metrics: deps.downloads, cacheControl });
    },
  });
}

const linkUsed = (claims: LinkClaims) =>
  new ArtError('LINK_USED', `Одноразовая ссылка ${claims.id} уже использована`, {
    extra: { link_id: claims.id },
  });

/**
 * Отметка использования — после ответа SE и до первого байта клиенту: отказ SE не сжигает ссылку, а из двух
 * одновременных скачиваний байты получает то, чья вставка прошла; второе закрывает поток к SE и получает 410.
 */
async function markUsedOrRelease(
  store: LinkStore,
  claims: LinkClaims,
  upstream: ServiceResponse,
): Promise<void> {
  let first = false;
  try {
    first = await store.markUsed(claims.id, claims.expiresAt);
  } finally {
    // Поток к SE закрывается без дочитывания; ошибка «запрос прерван», которой undici отвечает на это, ожидаема.
    if (!first) upstream.body.once('error', () => undefined).destroy();
  }
  if (!first) throw linkUsed(claims);
}
