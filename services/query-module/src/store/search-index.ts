// Поиск и подсказки по глобальному индексу (SPEC QR-2, QR-3, QR-8). Схема — миграция 0002_search.
import type {
  SearchItem,
  SearchOrder,
  SearchResponse,
  SearchSort,
  SearchSuggestion,
  FileRecord,
} from '@artstore/contracts';
import { ArtError, type Database, type Logger } from '@artstore/core';
import { createPopularQueries, normalizeQuery } from './popular-queries.js';
import {
  decodeSearchCursor,
  encodeSearchCursor,
  searchFingerprint,
  type SearchCursorScope,
} from './search-cursor.js';
import {
  SqlParams,
  escapeLike,
  filterConditions,
  keysetCondition,
  orderBy,
  parseSearchQuery,
  prefixLexeme,
  sortKey,
  tsqueryExpression,
  type SearchFilters,
} from './search-sql.js';

/** До стольких совпадений total точный; дальше — оценка планировщика (total_exact: false). */
export const EXACT_TOTAL_LIMIT = 10_000;

export interface SearchIndexOptions {
  /** Порог точного total; меньше — только в тестах. */
  exactTotalLimit?: number;
  /** Как часто счётчики популярных запросов уходят в БД. */
  popularFlushMs?: number;
  logger?: Logger;
}

/**
 * Маркеры подсветки от ts_headline — управляющие символы, которых нет в тексте (их вырезаем до
 * ts_headline): весь текст экранируется от HTML, и только маркеры становятся <mark>…</mark>.
 */
const MARK_START = '\u0001';
const MARK_END = '\u0002';

export interface SearchRequest {
  /** Без пробелов по краям; '' — только фильтры. */
  q: string;
  sort: SearchSort;
  order: SearchOrder;
  filters: SearchFilters;
  limit: number;
  cursor?: string;
  /** SE, файлы которых можно показать вызывающему (allowedElements, QR-8). */
  allowed: 'all' | ReadonlySet<string>;
}

interface PageRow {
  record: FileRecord;
  id: string;
  element_id: string;
  key: Date | string | bigint | number;
  hl_name: string | null;
  hl_description: string | null;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Подсветка только если ts_headline что-то отметил; иначе поле не выдаём. */
function highlighted(text: string | null): string | undefined {
  if (text === null || !text.includes(MARK_START)) return undefined;
  return escapeHtml(text).replaceAll(MARK_START, '<mark>').replaceAll(MARK_END, '</mark>');
}

function cursorKey(key: PageRow['key']): string | number {
  if (key instanceof Date) return key.toISOString();
  return typeof key === 'bigint' ? Number(key) : key;
}

/** Эффективный набор SE: права ∩ фильтр storage_element; null — показывать нечего. */
function visibleElements(
  allowed: 'all' | ReadonlySet<string>,
  requested: string[] | undefined,
): string[] | 'all' | null {
  if (allowed === 'all') return requested?.length ? requested : 'all';
  const visible = requested?.length ? requested.filter((e) => allowed.has(e)) : [...allowed];
  return visible.length > 0 ? visible : null;
}

export function createSearchIndex(db: Database, options: SearchIndexOptions = {}) {
  const exactLimit = options.exactTotalLimit ?? EXACT_TOTAL_LIMIT;
  // Порог подставляется в текст SQL: только положительное целое.
  if (!Number.isSafeInteger(exactLimit) || exactLimit < 1)
    throw new Error('createSearchIndex: exactTotalLimit — положительное целое');
  const popular = createPopularQueries(db, {
    flushMs: options.popularFlushMs ?? 1000,
    logger: options.logger,
  });

  async function estimate(where: string, params: unknown[]): Promise<number> {
    const { rows } = await db.query<{ 'QUERY PLAN': unknown }>(
      `explain (format json) select 1 from query_files where ${where}`,
      params,
    );
    const raw = rows[0]?.['QUERY PLAN'];
    const plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as [{ Plan: { 'Plan Rows': number } }];
    return Math.round(plan[0].Plan['Plan Rows']);
  }

  /** total по тем же условиям без курсора: точный count до порога, сверх — оценка (QR-2). */
  async function total(build: (params: SqlParams) => string): Promise<{ total: number; exact: boolean }> {
    const params = new SqlParams();
    const where = build(params);
    const { rows } = await db.query<{ n: number }>(
      `select count(*)::int as n from (select 1 from query_files where ${where} limit ${exactLimit + 1}) s`,
      params.values,
    );
    const n = rows[0]?.n ?? 0;
    if (n <= exactLimit) return { total: n, exact: true };
    return { total: Math.max(exactLimit + 1, await estimate(where, params.values)), exact: false };
  }

  return {
    async search(request: SearchRequest): Promise<SearchResponse> {
      const { q, sort, order, filters, limit } = request;
      const parsed = q === '' ? null : parseSearchQuery(q);
      if (sort === 'relevance' && parsed === null)
        throw new ArtError('VALIDATION_FAILED', 'sort=relevance: нужен непустой q');
      const scope: SearchCursorScope = { sort, order, fingerprint: searchFingerprint({ q, filters }) };
      const after = decodeSearchCursor(request.cursor, scope);
      const elements = visibleElements(request.allowed, filters.storageElements);
      // Нечего показывать: нет доступных SE или в запросе одни служебные слова («OR», «""»).
      if (elements === null || parsed?.length === 0)
        return { items: [], next_cursor: null, total: 0, total_exact: true };

      // Условия строятся заново для каждого запроса: у каждого свой список параметров.
      const conditions = (params: SqlParams): { where: string[]; tsq: string | null } => {
        const where = filterConditions(filters, elements, params);
        const tsq = parsed === null ? null : tsqueryExpression(parsed, params);
        if (tsq !== null) where.push(`search @@ ${tsq}`);
        return { where, tsq };
      };

      const params = new SqlParams();
      const { where, tsq } = conditions(params);
      // Веса ts_rank_cd {D, C, B, A}: совпадение в имени (A) весит впятеро больше, чем в описании (C).
      const rank = tsq === null ? null : `ts_rank_cd('{0.1, 0.2, 0.4, 1.0}', search, ${tsq})`;
      const key = sortKey(sort, rank);
      const keyset = after ? keysetCondition(key, order, after, params) : null;
      const limitParam = params.place(limit + 1);
      // ts_headline дорог: только для строк страницы, во внешнем запросе после LIMIT.
      const headline = (text: string, extra: string): string =>
        tsq === null
          ? 'null'
          : `ts_headline('simple', translate(${text}, chr(1) || chr(2), ''), ${tsq}, '${extra}StartSel=' || chr(1) || ', StopSel=' || chr(2))`;
      // Сначала total: он же выбирает план. Оценки планировщика для tsquery с префиксами — константы, и
      // для редкого слова он идёт по индексу сортировки, отбрасывая почти всю таблицу. Когда совпадений
      // не больше порога (total точный), собираем их все через GIN (MATERIALIZED не даёт склеить с
      // сортировкой) и сортируем узкие строки; когда больше — частое слово: обход индекса сортировки с
      // фильтром быстро набирает страницу.
      const counted = await total((p) => conditions(p).where.join(' and '));
      const paged = keyset === null ? where : [...where, keyset];
      // Частый термин с sort=relevance: ранг по сотням тысяч совпадений — секунды. Ранжируются только
      // exactLimit самых новых совпадений (обход индекса по дате), и ответ это честно называет.
      const windowed = !counted.exact && sort === 'relevance';
      const inner = counted.exact
        ? `with m as materialized (select id, ${key.expression} as key from query_files where ${paged.join(' and ')}),
                top as (select id, key from m order by ${orderBy('key', order)} limit ${limitParam})
           select f.record, f.id, f.element_id, f.name, top.key from top join query_files f on f.id = top.id`
        : windowed
          ? `with recent as materialized (select id from query_files where ${where.join(' and ')}
                                            order by created_at desc, id desc limit ${exactLimit})
             select record, id, element_id, name, ${key.expression} as key from recent join query_files using (id)
             ${keyset === null ? '' : `where ${keyset}`} order by ${orderBy(key.expression, order)} limit ${limitParam}`
          : `select record, id, element_id, name, ${key.expression} as key from query_files
             where ${paged.join(' and ')} order by ${orderBy(key.expression, order)} limit ${limitParam}`;
      const page = await db.query<PageRow>(
        `select p.record, p.id, p.element_id, p.key,
                ${headline('p.name', 'HighlightAll=true, ')} as hl_name,
                ${headline(`coalesce(p.record->'metadata'->>'description', '')`, 'MaxWords=30, MinWords=10, ')} as hl_description
         from (${inner}) p
         order by ${orderBy('p.key', order, 'p.id')}`,
        params.values,
      );
      const rows = page.rows.slice(0, limit);
      const last = rows.at(-1);
      return {
        items: rows.map((row): SearchItem => {
          const highlight = { name: highlighted(row.hl_name), description: highlighted(row.hl_description) };
          if (highlight.name === undefined) delete highlight.name;
          if (highlight.description === undefined) delete highlight.description;
          return Object.keys(highlight).length > 0 ? { ...row.record, highlight } : row.record;
        }),
        next_cursor:
          page.rows.length > limit && last
            ? encodeSearchCursor(scope, { key: cursorKey(last.key), id: last.id })
            : null,
        total: counted.total,
        total_exact: counted.exact,
        ...(windowed ? { relevance_window: exactLimit } : {}),
      };
    },

    /**
     * Учёт популярного запроса (QR-3): первая страница непустого запроса, давшая результаты, — на каждый
     * поиск, в том числе отвеченный из кеша (QR-5), иначе частые запросы считались бы реже редких.
     */
    notePopular(request: Pick<SearchRequest, 'q' | 'cursor'>, response: SearchResponse): void {
      if (request.q === '' || request.cursor !== undefined || response.items.length === 0) return;
      popular.record(request.q, new Set(response.items.map((item) => item.storage_element)));
    },

    /**
     * Подсказки (QR-3): имена и теги по префиксу и с опечатками (pg_trgm word_similarity), популярные
     * запросы по префиксу. Виды чередуются, чтобы длинный список имён не вытеснял теги и запросы.
     */
    async suggest(
      q: string,
      limit: number,
      allowed: 'all' | ReadonlySet<string>,
    ): Promise<SearchSuggestion[]> {
      const elements = visibleElements(allowed, undefined);
      if (elements === null) return [];
      const text = normalizeQuery(q);
      const prefix = `${escapeLike(text)}%`;
      const scoped = (column: string, p: SqlParams): string =>
        elements === 'all' ? 'true' : `${column} = any(${p.place(elements)}::text[])`;
      // Опечатки ищем от 3 символов: у более коротких строк триграмм слишком мало для сходства.
      const fuzzy = text.length >= 3;

      // Имена — ступенями, от дешёвой к дорогой, пока не набран limit разных имён: начало имени (btree),
      // начало слова в имени (GIN по словам имени), опечатки (GIN по триграммам — на частых
      // триграммах перебирает много строк, поэтому последней).
      const names = async (): Promise<string[]> => {
        if (text === '') return [];
        const found = new Set<string>();
        const steps = [
          (p: SqlParams) =>
            `select min(name) as name from query_files
             where status = 'active' and ${scoped('element_id', p)} and lower(name) collate "C" like ${p.place(prefix)}
             group by lower(name) collate "C" order by lower(name) collate "C" limit ${p.place(limit)}`,
          (p: SqlParams) =>
            `select name from query_files
             where status = 'active' and ${scoped('element_id', p)} and to_tsvector('simple', name) @@ to_tsquery('simple', ${p.place(prefixLexeme(text))})
             limit ${p.place(limit * 3)}`,
          ...(fuzzy
            ? [
                (p: SqlParams) =>
                  `select name from query_files
                   where status = 'active' and ${scoped('element_id', p)} and ${p.place(text)} <% lower(name)
                   order by word_similarity(${p.place(text)}, lower(name)) desc, name limit ${p.place(limit * 3)}`,
              ]
            : []),
        ];
        for (const step of steps) {
          if (found.size >= limit) break;
          const p = new SqlParams();
          const sql = step(p);
          for (const row of (await db.query<{ name: string }>(sql, p.values)).rows) found.add(row.name);
        }
        return [...found];
      };
      const tags = async (): Promise<string[]> => {
        if (text === '') return [];
        const p = new SqlParams();
        const match = fuzzy
          ? `(lower(tag) collate "C" like ${p.place(prefix)} or ${p.place(text)} <% lower(tag))`
          : `lower(tag) collate "C" like ${p.place(prefix)}`;
        const { rows } = await db.query<{ tag: string }>(
          `select tag from query_tags where ${scoped('element_id', p)} and ${match}
           group by tag order by bool_or(lower(tag) collate "C" like ${p.place(prefix)}) desc, sum(files) desc, tag limit ${p.place(limit)}`,
          p.values,
        );
        return rows.map((r) => r.tag);
      };
      const queries = async (): Promise<string[]> => {
        const p = new SqlParams();
        const { rows } = await db.query<{ query: string }>(
          `select query from query_popular where ${scoped('element_id', p)} and query collate "C" like ${p.place(prefix)}
           group by query order by sum(hits) desc, query limit ${p.place(limit)}`,
          p.values,
        );
        return rows.map((r) => r.query);
      };

      const lists = await Promise.all([names(), tags(), queries()]);
      const kinds = ['name', 'tag', 'query'] as const;
      const seen = new Set<string>();
      const result: SearchSuggestion[] = [];
      for (let i = 0; result.length < limit && lists.some((list) => i < list.length); i++) {
        kinds.forEach((kind, k) => {
          const value = lists[k]![i];
          if (value === undefined || result.length >= limit || seen.has(`${kind}:${value}`)) return;
          seen.add(`${kind}:${value}`);
          result.push({ kind, text: value });
        });
      }
      return result;
    },

    /** Сбрасывает накопленные счётчики популярных запросов (тесты, остановка). */
    flushPopular: () => popular.flush(),
    close: () => popular.close(),
  };
}
export type SearchIndex = ReturnType<typeof createSearchIndex>;
