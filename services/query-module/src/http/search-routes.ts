// Поиск и подсказки по глобальному индексу (SPEC QR-2, QR-3, QR-4, QR-8). Описание API — docs/search.md.
import { ArtError, allowedElements, requirePermissionSomewhere } from '@artstore/core';
import {
  parseConsistencyToken,
  type SearchOrder,
  type SearchResponse,
  type SearchSort,
  type SuggestResponse,
} from '@artstore/contracts';
import type { FastifyInstance } from 'fastify';
import type { ChangeFollower } from '../domain/change-follower.js';
import type { RecordCache } from '../domain/record-cache.js';
import type { SearchIndex, SearchRequest } from '../store/search-index.js';
import type { ContentTypeFilter, SearchFilters } from '../store/search-sql.js';

export interface SearchRoutesDeps {
  search: SearchIndex;
  /** Кеш страниц поиска (SPEC QR-5); свежесть — поколение индекса, права — в ключе. */
  cache: RecordCache;
  follower: ChangeFollower;
  consistencyWaitMs: number;
}

interface SearchQuery {
  q?: string;
  limit?: number;
  cursor?: string;
  consistency_token?: string;
  sort?: SearchSort;
  order?: SearchOrder;
  content_type?: string[];
  created_from?: string;
  created_to?: string;
  size_min?: number;
  size_max?: number;
  storage_element?: string[];
  owner?: string;
  tag?: string[];
  status?: SearchFilters['status'];
  retention_before?: string;
  retention_after?: string;
}

const ISO_DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,6})?)?(Z|[+-]\\d{2}:\\d{2})$';
const instant = { type: 'string', pattern: ISO_DATE_TIME } as const;
const list = (items: object) => ({ type: 'array', items, maxItems: 20 }) as const;
/** Текст без NUL: PostgreSQL не хранит \u0000 в text, и такой запрос дошёл бы до базы и вернул 500. */
const text = (maxLength: number, minLength = 0) =>
  ({ type: 'string', minLength, maxLength, pattern: '^[^\\u0000]*$' }) as const;
/** Размер — bigint в базе; больше MAX_SAFE_INTEGER JSON-число ещё и теряет точность. */
const bytes = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

/** Момент из строки запроса → toISOString. Несуществующая дата (2026-02-30) — 400, а не 500 от базы. */
function parseInstant(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const [y, m, d] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(value);
  const calendar = new Date(Date.UTC(y, m - 1, d));
  // Год 0 Date.UTC понимает как 1900, а PostgreSQL года 0 не знает: отказ здесь, а не 500 от базы.
  if (
    Number.isNaN(date.getTime()) ||
    y < 1 ||
    calendar.getUTCMonth() !== m - 1 ||
    calendar.getUTCDate() !== d
  ) {
    throw new ArtError('VALIDATION_FAILED', `${name}: несуществующий момент времени`);
  }
  return date.toISOString();
}

/** content_type: точные типы и префиксы «image/*». */
function contentTypes(values: string[] | undefined): ContentTypeFilter | undefined {
  if (!values?.length) return undefined;
  const prefixes = values.filter((v) => v.endsWith('/*')).map((v) => v.slice(0, -2));
  return { exact: values.filter((v) => !v.endsWith('/*')), prefixes };
}

export function registerSearchRoutes(app: FastifyInstance, deps: SearchRoutesDeps): void {
  app.get<{ Querystring: SearchQuery }>(
    '/api/search',
    {
      schema: {
        summary: 'Поиск файлов: полнотекстовый запрос, фильтры, сортировка, курсоры',
        tags: ['search'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: text(512),
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 20 },
            cursor: { type: 'string', maxLength: 8192 },
            consistency_token: { type: 'string', maxLength: 128 },
            sort: { type: 'string', enum: ['relevance', 'created_at', 'name', 'size'] },
            order: { type: 'string', enum: ['asc', 'desc'] },
            content_type: list({ type: 'string', pattern: '^[\\w.+-]+/([\\w.+-]+|\\*)$', maxLength: 255 }),
            created_from: instant,
            created_to: instant,
            size_min: bytes,
            size_max: bytes,
            storage_element: list({ type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
            owner: text(255, 1),
            tag: list(text(255, 1)),
            status: { type: 'string', enum: ['active', 'deleted', 'transferred'], default: 'active' },
            retention_before: instant,
            retention_after: instant,
          },
        },
      },
    },
    async (request, reply): Promise<SearchResponse> => {
      // Гранты с областью SE пускают в поиск, но видны только файлы их SE — и в total тоже (QR-8).
      const principal = requirePermissionSomewhere(request.principal, 'files:read');
      const query = request.query;
      const token = query.consistency_token;
      if (token !== undefined) {
        const parsed = parseConsistencyToken(token);
        if (!parsed)
          throw new ArtError('VALIDATION_FAILED', 'consistency_token: ожидается «<element_id>:<seq>»');
        const caughtUp = await deps.follower.waitFor(parsed.elementId, parsed.seq, deps.consistencyWaitMs);
        // Индекс не догнал за отведённое время: отвечаем, но честно помечаем (SPEC QR-4).
        if (!caughtUp) void reply.header('artstore-consistency', 'stale');
      }
      const q = (query.q ?? '').trim();
      const sort = query.sort ?? (q === '' ? 'created_at' : 'relevance');
      const filters: SearchFilters = {
        status: query.status ?? 'active',
        storageElements: query.storage_element,
        contentTypes: contentTypes(query.content_type),
        createdFrom: parseInstant('created_from', query.created_from),
        createdTo: parseInstant('created_to', query.created_to),
        sizeMin: query.size_min,
        sizeMax: query.size_max,
        owner: query.owner,
        tags: query.tag,
        retentionBefore: parseInstant('retention_before', query.retention_before),
        retentionAfter: parseInstant('retention_after', query.retention_after),
      };
      const allowed = allowedElements(principal, 'files:read');
      const search: SearchRequest = {
        q,
        sort,
        order: query.order ?? (sort === 'name' ? 'asc' : 'desc'),
        filters,
        limit: query.limit ?? 20,
        cursor: query.cursor,
        allowed,
      };
      // Страница зависит от видимых вызывающему SE (QR-8): они — часть ключа, иначе ответ пользователя с
      // глобальным правом достался бы пользователю с грантом на один SE.
      const key = JSON.stringify({ ...search, allowed: allowed === 'all' ? 'all' : [...allowed].sort() });
      const response = (await deps.cache.cached('search', key, () => deps.search.search(search)))!;
      deps.search.notePopular(search, response);
      return response;
    },
  );

  app.get<{ Querystring: { q?: string; limit?: number } }>(
    '/api/search/suggest',
    {
      schema: {
        summary: 'Подсказки: имена, теги и популярные запросы по префиксу и с опечатками',
        tags: ['search'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: text(512),
            limit: { type: 'integer', minimum: 1, maximum: 20, default: 10 },
          },
        },
      },
    },
    async (request): Promise<SuggestResponse> => {
      const principal = requirePermissionSomewhere(request.principal, 'files:read');
      const suggestions = await deps.search.suggest(
        request.query.q ?? '',
        request.query.limit ?? 10,
        allowedElements(principal, 'files:read'),
      );
      return { suggestions };
    },
  );
}
