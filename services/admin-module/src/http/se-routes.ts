// Реестр элементов хранения (SPEC AD-7, §9 /api/storage-elements). Права — storage:manage (AD-5):
// регистрация и удаление меняют состав системы и требуют его глобально; чтение, правка и смена режима
// одного SE доступны и по гранту на этот SE (`operator@se:<id>`), а список показывает только SE из
// области вызывающего. ingester и query список отсюда не читают: они получают его через обнаружение (AD-8).
import {
  allowedElements,
  ELEMENT_ID_PATTERN,
  requirePermission,
  requirePermissionSomewhere,
  SE_MODES,
  type SeMode,
} from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import type { RegisterInput, SeRegistry } from '../domain/se-registry.js';

const id = { type: 'string', pattern: ELEMENT_ID_PATTERN.source } as const;
const idParams = { type: 'object', required: ['id'], properties: { id } } as const;
/** Адрес SE: http(s) без query и fragment; завершающий «/» отбрасывается. */
const url = { type: 'string', maxLength: 2048, pattern: '^https?://[^\\s?#]+$' } as const;
const name = { type: 'string', minLength: 1, maxLength: 128 } as const;
const priority = { type: 'integer', minimum: 0, maximum: 1_000_000 } as const;
const withoutTrailingSlash = (value: string) => value.replace(/\/+$/, '');

export function registerSeRoutes(app: FastifyInstance, registry: SeRegistry): void {
  app.get(
    '/api/storage-elements',
    {
      schema: {
        summary: 'Элементы хранения: адрес, приоритет, режим, здоровье и место по последнему опросу',
        tags: ['storage'],
      },
    },
    async (request) => {
      const principal = requirePermissionSomewhere(request.principal, 'storage:manage');
      const allowed = allowedElements(principal, 'storage:manage');
      const all = await registry.list();
      return { storage_elements: allowed === 'all' ? all : all.filter((element) => allowed.has(element.id)) };
    },
  );

  app.post<{ Body: RegisterInput }>(
    '/api/storage-elements',
    {
      schema: {
        summary: 'Регистрация SE: admin сначала опрашивает его по адресу и сверяет element_id',
        tags: ['storage'],
        body: {
          type: 'object',
          required: ['id', 'url'],
          additionalProperties: false,
          properties: { id, url, name, priority },
        },
      },
    },
    async (request, reply) => {
      const actor = requirePermission(request.principal, 'storage:manage');
      const input = { ...request.body, url: withoutTrailingSlash(request.body.url) };
      return reply.code(201).send(await registry.register(input, actor.subject));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/storage-elements/:id',
    { schema: { summary: 'Элемент хранения', tags: ['storage'], params: idParams } },
    async (request) => {
      requirePermission(request.principal, 'storage:manage', { se: request.params.id });
      return registry.get(request.params.id);
    },
  );

  app.patch<{ Params: { id: string }; Body: { name?: string; url?: string; priority?: number } }>(
    '/api/storage-elements/:id',
    {
      schema: {
        summary: 'Имя, адрес (новый адрес опрашивается до сохранения) и приоритет SE',
        tags: ['storage'],
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { name, url, priority },
        },
      },
    },
    async (request) => {
      const actor = requirePermission(request.principal, 'storage:manage', { se: request.params.id });
      const patch =
        request.body.url === undefined
          ? request.body
          : { ...request.body, url: withoutTrailingSlash(request.body.url) };
      return registry.update(request.params.id, patch, actor.subject);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/storage-elements/:id',
    {
      schema: {
        summary: 'Снять SE с учёта (данные на нём не трогаются)',
        tags: ['storage'],
        params: idParams,
      },
    },
    async (request, reply) => {
      const actor = requirePermission(request.principal, 'storage:manage');
      await registry.remove(request.params.id, actor.subject);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string }; Body: { mode: SeMode } }>(
    '/api/storage-elements/:id/mode',
    {
      schema: {
        summary: 'Сменить режим SE на нём самом: через API только rw→ro и ro→ar (SPEC SE-7)',
        tags: ['storage'],
        params: idParams,
        body: {
          type: 'object',
          required: ['mode'],
          additionalProperties: false,
          properties: { mode: { type: 'string', enum: [...SE_MODES] } },
        },
      },
    },
    async (request) => {
      const principal = requirePermission(request.principal, 'storage:manage', { se: request.params.id });
      return registry.changeMode(request.params.id, request.body.mode, principal);
    },
  );
}
