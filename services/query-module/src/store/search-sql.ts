// Построение SQL поиска (SPEC QR-2): разбор строки запроса в синтаксисе websearch и условия фильтров.
// Всё, что пришло от пользователя, уходит в БД параметрами; в текст SQL попадают только наши фрагменты.
import type { SearchOrder, SearchSort } from '@artstore/contracts';

/** Термин запроса: слово или фраза (несколько слов подряд), возможно, с исключением «-». */
export interface QueryTerm {
  words: string[];
  negated: boolean;
}

/** Запрос — дизъюнкция групп (OR), группа — конъюнкция терминов. */
export type ParsedQuery = QueryTerm[][];

/** Больше терминов не берём: запрос ≤ 512 символов, а каждый термин — три to_tsquery в плане. */
export const MAX_QUERY_TERMS = 32;

/**
 * Разбор как у websearch_to_tsquery: «"фраза"», «a OR b», «-исключение»; остальное — слова через AND.
 * Свой разбор, а не websearch_to_tsquery, потому что каждое слово ищется ещё и как префикс лексемы
 * (стеммер даёт «Архивные» → «архивн», а «архив» → «арх»: без префикса они не совпали бы).
 */
export function parseSearchQuery(input: string): ParsedQuery {
  const groups: ParsedQuery = [[]];
  let count = 0;
  const re = /(-?)"([^"]*)"?|(\S+)/g;
  for (let match = re.exec(input); match !== null && count < MAX_QUERY_TERMS; match = re.exec(input)) {
    const [, minus, phrase, bare] = match;
    if (bare !== undefined && /^or$/i.test(bare)) {
      // OR между терминами; в начале, в конце или дважды подряд — ничего не значит, как у websearch.
      if (groups.at(-1)!.length > 0) groups.push([]);
      continue;
    }
    const negated = minus === '-' || (bare !== undefined && bare.length > 1 && bare.startsWith('-'));
    const text = phrase ?? (negated ? bare!.slice(1) : bare!);
    const words = text.split(/\s+/).filter((w) => w !== '');
    if (words.length === 0) continue;
    groups.at(-1)!.push({ words, negated });
    count++;
  }
  return groups.filter((group) => group.length > 0);
}

/** Слово как префикс лексемы в тексте tsquery: в кавычках, кавычки и обратная косая черта удвоены. */
export function prefixLexeme(word: string): string {
  return `'${word.replace(/\\/g, '\\\\').replace(/'/g, "''")}':*`;
}

/** Накопитель параметров: place(v) возвращает «$n». */
export class SqlParams {
  readonly values: unknown[] = [];
  place(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * tsquery из разобранного запроса. Слово — префикс в трёх конфигурациях (simple, russian, english):
 * спецсимволы tsquery внутри кавычек — просто текст, парсер to_tsquery их отбрасывает как знаки.
 * Пустой запрос (одни знаки препинания) даёт пустой tsquery, который ничему не соответствует.
 */
export function tsqueryExpression(query: ParsedQuery, params: SqlParams): string {
  const word = (w: string): string => {
    const p = params.place(prefixLexeme(w));
    return `(to_tsquery('simple', ${p}::text) || to_tsquery('russian', ${p}::text) || to_tsquery('english', ${p}::text))`;
  };
  const term = (t: QueryTerm): string => {
    const phrase = t.words.map(word).reduce((left, right) => `tsquery_phrase(${left}, ${right})`);
    return t.negated ? `(!! ${phrase})` : phrase;
  };
  return `(${query.map((group) => `(${group.map(term).join(' && ')})`).join(' || ')})`;
}

export type ContentTypeFilter = { exact: string[]; prefixes: string[] };

export interface SearchFilters {
  status: 'active' | 'deleted' | 'transferred';
  storageElements?: string[];
  contentTypes?: ContentTypeFilter;
  createdFrom?: string;
  createdTo?: string;
  sizeMin?: number;
  sizeMax?: number;
  owner?: string;
  tags?: string[];
  retentionBefore?: string;
  retentionAfter?: string;
}

/** Экранирование для LIKE с escape '\'. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** elements — SE, которые можно показать: права вызывающего (QR-8), уже пересечённые с фильтром storage_element. */
export function filterConditions(
  filters: SearchFilters,
  elements: readonly string[] | 'all',
  params: SqlParams,
): string[] {
  const where = [`status = ${params.place(filters.status)}`];
  if (elements !== 'all') where.push(`element_id = any(${params.place(elements)}::text[])`);
  const types = filters.contentTypes;
  if (types) {
    // Только непустые части: `content_type = any(…)` без OR планировщик ведёт по индексу
    // (content_type, created_at) — фильтр по типу с сортировкой по дате не читает всю таблицу.
    const alternatives: string[] = [];
    if (types.exact.length > 0) alternatives.push(`content_type = any(${params.place(types.exact)}::text[])`);
    if (types.prefixes.length > 0) {
      const prefixes = types.prefixes.map((p) => `${escapeLike(p)}/%`);
      alternatives.push(`content_type like any(${params.place(prefixes)}::text[])`);
    }
    if (alternatives.length > 0) where.push(`(${alternatives.join(' or ')})`);
  }
  if (filters.createdFrom !== undefined)
    where.push(`created_at >= ${params.place(filters.createdFrom)}::timestamptz`);
  if (filters.createdTo !== undefined)
    where.push(`created_at <= ${params.place(filters.createdTo)}::timestamptz`);
  if (filters.sizeMin !== undefined) where.push(`size >= ${params.place(filters.sizeMin)}::bigint`);
  if (filters.sizeMax !== undefined) where.push(`size <= ${params.place(filters.sizeMax)}::bigint`);
  if (filters.owner !== undefined) where.push(`created_by = ${params.place(filters.owner)}`);
  if (filters.tags?.length) where.push(`tags @> ${params.place(filters.tags)}::text[]`);
  if (filters.retentionBefore !== undefined)
    where.push(`retention_until < ${params.place(filters.retentionBefore)}::timestamptz`);
  if (filters.retentionAfter !== undefined)
    where.push(`retention_until > ${params.place(filters.retentionAfter)}::timestamptz`);
  return where;
}

/** Выражение ключа сортировки и тип, к которому приводится значение из курсора. */
export function sortKey(sort: SearchSort, rank: string | null): { expression: string; cast: string } {
  switch (sort) {
    case 'relevance':
      if (rank === null) throw new Error('relevance без запроса');
      return { expression: rank, cast: 'real' };
    case 'created_at':
      return { expression: 'created_at', cast: 'timestamptz' };
    case 'name':
      return { expression: 'name', cast: 'text' };
    case 'size':
      return { expression: 'size', cast: 'bigint' };
  }
}

export function orderBy(expression: string, order: SearchOrder, id = 'id'): string {
  const dir = order === 'asc' ? 'asc' : 'desc';
  return `${expression} ${dir}, ${id} ${dir}`;
}

/** Условие keyset: строго после (ключ, id) последней строки предыдущей страницы в порядке выдачи. */
export function keysetCondition(
  key: { expression: string; cast: string },
  order: SearchOrder,
  after: { key: unknown; id: string },
  params: SqlParams,
): string {
  const op = order === 'asc' ? '>' : '<';
  return `(${key.expression}, id) ${op} (${params.place(after.key)}::${key.cast}, ${params.place(after.id)}::uuid)`;
}
