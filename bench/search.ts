// Бенчмарк «search» (issue «Benchmarks», SPEC QR-2, QR-3): задержка поиска p50/p95/p99 по индексу из
// --records записей (по умолчанию 1 000 000) на настоящем PostgreSQL. Записи — правдоподобный корпус
// (bench/lib/search-corpus.ts) — загружаются через createFileIndex(db).apply пачками: так заполняются все
// производные колонки схемы, какие бы ни были. Запросы — по HTTP к query-module отдельным процессом
// (`artstore start query-module`, SE в конфигурации — заглушки, ленты не читаются), последовательно.
// query-module стартует до загрузки: схему создают его же миграции.
// Случаи: (а) селективный термин, (б) частый термин с sort=created_at, (в) только фильтры, (г) подсказка.
// Параметры (раздел RESULTS.md пишется только при значениях по умолчанию):
//   --records N  --requests N  --warmup N  --batch N  --no-results
//   --explain — планы EXPLAIN всех случаев (без него — только не уложившихся в цель)
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createPostgresDatabase, createRedisCoordination } from '@artstore/adapters';
import {
  createThrowawayPostgres,
  deleteKeysWithPrefix,
  testRedisUrl,
  uniqueTestPrefix,
} from '@artstore/adapters/testing';
import type { Database } from '@artstore/core';
import { CleanupStack, createTestTokenIssuer } from '@artstore/core/testing';
import { QUERY_MODULE } from '../services/query-module/src/index.js';
import { INDEX_GENERATION_KEY } from '../services/query-module/src/domain/record-cache.js';
import { createFileIndex } from '../services/query-module/src/store/file-index.js';
import { createSearchIndex } from '../services/query-module/src/store/search-index.js';
import { percentile, runPool } from './lib/http-client.js';
import { startQueryProcess } from './lib/query-process.js';
import {
  invocation,
  machine,
  markdownTable,
  publishResults,
  runBenchmark,
  textTable,
  type Row,
} from './lib/report.js';
import { explainingDatabase, type ExplainedQuery } from './lib/explain.js';
import { RssSampler } from './lib/rss.js';
import {
  createRng,
  ELEMENTS,
  FREQUENT_SHARE,
  makeBatch,
  rareWordCount,
  searchQueries,
} from './lib/search-corpus.js';

const MiB = 1024 * 1024;
const DEFAULTS = { records: '1000000', requests: '200', warmup: '50', batch: '1000' } as const;
const WATCHDOG_MS = 60 * 60_000;
/** Адрес-заглушка SE: порт 9 (discard) закрыт — ленты не читаются, а старт query не должен падать. */
const STUB_SE_URL = 'http://127.0.0.1:9';

const { values: args } = parseArgs({
  options: {
    ...(Object.fromEntries(
      Object.entries(DEFAULTS).map(([k, v]) => [k, { type: 'string', default: v }]),
    ) as Record<keyof typeof DEFAULTS, { type: 'string'; default: string }>),
    'no-results': { type: 'boolean', default: false },
    explain: { type: 'boolean', default: false },
  },
});
const records = Number(args.records);
const requests = Number(args.requests);
const warmup = Number(args.warmup);
const batchSize = Number(args.batch);
const isDefaultRun = (Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]).every(
  (k) => args[k] === DEFAULTS[k],
);

const cleanup = new CleanupStack((error) => console.error('очистка:', error));
function abort(reason: string, code: number): void {
  console.error(`\nbench search: ${reason} — останавливаю процессы и удаляю базу`);
  void cleanup.run().finally(() => process.exit(code));
}
process.once('SIGINT', () => abort('прервано (SIGINT)', 130));
process.once('SIGTERM', () => abort('прервано (SIGTERM)', 143));
setTimeout(() => abort(`не уложился в ${WATCHDOG_MS / 60_000} мин`, 1), WATCHDOG_MS).unref();

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'н/д');

// ── Загрузка индекса ─────────────────────────────────────────────────────────────────────────────
interface LoadFigures {
  seconds: number;
  /** Из них вставка через apply (остальное — построение вторичных индексов). */
  insertSeconds: number;
  indexes: string[];
  migrations: string[];
  tableBytes: number;
  /** Колонки query_files с NULL хотя бы в одной строке (производные должны быть заполнены). */
  nullColumns: Record<string, number>;
  generatedColumns: string[];
}

async function loadIndex(db: Database): Promise<LoadFigures> {
  const index = createFileIndex(db);
  const started = performance.now();
  // Как при восстановлении из дампа: вторичные индексы query_files снимаются на время загрузки и строятся
  // заново по их же определениям (pg_get_indexdef) — какие бы ни были в схеме. Вставка строк — та же apply:
  // первичный ключ (нужен её on conflict), generated-колонки и триггеры работают как в эксплуатации.
  const { rows: secondary } = await db.query<{ name: string; definition: string }>(
    `select c.relname as name, pg_get_indexdef(i.indexrelid) as definition from pg_index i join pg_class c on c.oid = i.indexrelid
     where i.indrelid = 'query_files'::regclass and not i.indisprimary order by c.relname`,
  );
  for (const { name } of secondary) await db.query(`drop index "${name}"`);
  let loaded = 0;
  let reported = 0;
  // Каждый SE грузится своим потоком пачек: курсоры разных SE не спорят за одну строку query_cursors.
  await Promise.all(
    ELEMENTS.map(async (elementId, e) => {
      const share = Math.floor(records / ELEMENTS.length) + (e < records % ELEMENTS.length ? 1 : 0);
      const rng = createRng(1000 + e);
      // Эпоха перестроения индекса (mark-and-sweep): у новой базы — та, что у курсора по умолчанию.
      const { epoch } = await index.cursor(elementId);
      for (let seq = 1; seq <= share; seq += batchSize) {
        const count = Math.min(batchSize, share - seq + 1);
        await index.apply(elementId, makeBatch(rng, records, elementId, seq, count), seq + count - 1, epoch);
        loaded += count;
        if (loaded - reported >= 100_000 || loaded === records) {
          reported = loaded;
          const seconds = (performance.now() - started) / 1000;
          console.log(`  загружено ${loaded} из ${records} (${fmt(loaded / seconds, 0)} записей/с)`);
        }
      }
    }),
  );
  const insertSeconds = (performance.now() - started) / 1000;
  for (const { name, definition } of secondary) {
    const t0 = performance.now();
    await db.transaction(async (tx) => {
      await tx.query(`set local maintenance_work_mem = '512MB'`);
      await tx.query(definition);
    });
    console.log(`  индекс ${name}: ${fmt((performance.now() - t0) / 1000, 1)} с`);
  }
  const seconds = (performance.now() - started) / 1000;
  // Планировщику нужна статистика: в эксплуатации её собрал бы autovacuum.
  await db.query('vacuum analyze query_files');
  const { rows: columns } = await db.query<{ column_name: string; is_generated: string }>(
    `select column_name, is_generated from information_schema.columns where table_name = 'query_files' order by ordinal_position`,
  );
  const nulls = columns
    .map((c) => `count(*) filter (where "${c.column_name}" is null)::int as "${c.column_name}"`)
    .join(', ');
  const { rows: counted } = await db.query<Record<string, number>>(`select ${nulls} from query_files`);
  const nullColumns = Object.fromEntries(Object.entries(counted[0] ?? {}).filter(([, n]) => n > 0));
  const { rows: size } = await db.query<{ bytes: string }>(
    `select pg_total_relation_size('query_files')::text as bytes`,
  );
  const { rows: applied } = await db.query<{ id: string }>(
    `select id from artstore_schema_migrations where scope = $1 order by id`,
    [QUERY_MODULE],
  );
  return {
    seconds,
    insertSeconds,
    indexes: secondary.map((r) => r.name),
    migrations: applied.map((r) => r.id),
    tableBytes: Number(size[0]?.bytes ?? 0),
    nullColumns,
    generatedColumns: columns.filter((c) => c.is_generated === 'ALWAYS').map((c) => c.column_name),
  };
}

// ── Замер ────────────────────────────────────────────────────────────────────────────────────────
type CaseName = 'selective' | 'frequent' | 'filters' | 'suggest' | 'ranked' | 'cached';
/**
 * Случаи (а)–(д) меряют индекс: перед каждым запросом поколение кеша query (SPEC QR-5) сдвигается, и ответ
 * собирается из PostgreSQL. (е) — те же запросы (б) повторно без сдвига: ответ из LRU процесса.
 */
const CASES: { name: CaseName; label: string; goalMs?: number; fromCache?: true }[] = [
  { name: 'selective', label: '(а) селективный термин, sort=relevance', goalMs: 50 },
  { name: 'frequent', label: '(б) частый термин, sort=created_at&limit=20', goalMs: 200 },
  { name: 'filters', label: '(в) только фильтры (content_type, size, created)' },
  { name: 'suggest', label: '(г) подсказка /api/search/suggest, 3–4 буквы', goalMs: 50 },
  { name: 'ranked', label: '(д) частый термин, sort=relevance (окно 10 000 новых)' },
  { name: 'cached', label: '(е) запросы (б) повторно — ответ из кеша query', fromCache: true },
];

interface CaseResult {
  latencies: number[];
  /** total из ответов поиска (у подсказки — число подсказок). */
  totals: number[];
  exact: number;
  /** Номер самого медленного запроса в списке случая — его план разбирается, если цель не достигнута. */
  slowest: number;
}

function paths(set: ReturnType<typeof searchQueries>): Record<CaseName, string[]> {
  const qs = (params: Record<string, string | number>) =>
    new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
  const frequent = set.frequent.map(
    (q, i) => `/api/search?${qs({ q, sort: 'created_at', order: i % 2 === 0 ? 'desc' : 'asc', limit: 20 })}`,
  );
  return {
    selective: set.selective.map((q) => `/api/search?${qs({ q, limit: 20 })}`),
    frequent,
    filters: set.filters.map((f) => `/api/search?${qs({ ...f, sort: 'created_at', limit: 20 })}`),
    suggest: set.suggest.map((q) => `/api/search/suggest?${qs({ q, limit: 10 })}`),
    ranked: set.frequent.map((q) => `/api/search?${qs({ q, limit: 20 })}`),
    cached: frequent,
  };
}

async function measure(
  base: string,
  token: string,
  list: string[],
  beforeEach: () => Promise<unknown> = () => Promise.resolve(),
): Promise<CaseResult> {
  const result: CaseResult = { latencies: [], totals: [], exact: 0, slowest: 0 };
  // Последовательно: замеряется задержка одного запроса, а не пропускная способность.
  await runPool(list.length, 1, async (i) => {
    await beforeEach();
    const t0 = performance.now();
    const response = await fetch(`${base}${list[i]}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await response.text();
    result.latencies.push(performance.now() - t0);
    if (result.latencies[i]! > result.latencies[result.slowest]!) result.slowest = i;
    if (response.status !== 200) throw new Error(`${list[i]}: HTTP ${response.status} ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as { total?: number; total_exact?: boolean; suggestions?: unknown[] };
    result.totals.push(body.total ?? body.suggestions?.length ?? 0);
    if (body.total_exact === true) result.exact++;
  });
  return result;
}

/**
 * Планы самого медленного запроса случаев, не уложившихся в цель: тот же вызов createSearchIndex, что у
 * маршрута, на БД-обёртке с EXPLAIN (ANALYZE, BUFFERS) перед каждым SELECT.
 */
async function explainMisses(
  db: Database,
  set: ReturnType<typeof searchQueries>,
  results: Map<CaseName, CaseResult>,
): Promise<Map<CaseName, ExplainedQuery[]>> {
  const explained = new Map<CaseName, ExplainedQuery[]>();
  for (const { name, goalMs, fromCache } of CASES) {
    if (fromCache) continue;
    const result = results.get(name)!;
    const missed = goalMs !== undefined && percentile(result.latencies, 95) >= goalMs;
    if (!missed && !args.explain) continue;
    const plans: ExplainedQuery[] = [];
    const search = createSearchIndex(explainingDatabase(db, plans));
    const i = result.slowest;
    try {
      if (name === 'suggest') await search.suggest(set.suggest[i]!, 10, 'all');
      else if (name === 'filters') {
        const f = set.filters[i]!;
        await search.search({
          q: '',
          sort: 'created_at',
          order: 'desc',
          filters: {
            status: 'active',
            contentTypes: { exact: [f.content_type], prefixes: [] },
            sizeMin: f.size_min,
            sizeMax: f.size_max,
            createdFrom: f.created_from,
            createdTo: f.created_to,
          },
          limit: 20,
          allowed: 'all',
        });
      } else
        await search.search({
          q: name === 'selective' ? set.selective[i]! : set.frequent[i]!,
          sort: name === 'frequent' ? 'created_at' : 'relevance',
          order: name === 'frequent' && i % 2 === 1 ? 'asc' : 'desc',
          filters: { status: 'active' },
          limit: 20,
          allowed: 'all',
        });
    } finally {
      await search.close();
    }
    explained.set(name, plans);
  }
  return explained;
}

function planDetails(explained: Map<CaseName, ExplainedQuery[]>): string {
  if (explained.size === 0) return '';
  const blocks = [...explained].map(([name, plans]) => {
    const label = CASES.find((c) => c.name === name)!.label;
    const body = plans.map(({ sql, plan }) => `-- ${sql}\n${plan}`).join('\n\n');
    return `<details><summary>EXPLAIN (ANALYZE, BUFFERS): ${label}, самый медленный запрос</summary>\n\n\`\`\`\n${body}\n\`\`\`\n\n</details>`;
  });
  return `\n${blocks.join('\n\n')}\n`;
}

// ── Отчёт ────────────────────────────────────────────────────────────────────────────────────────
const HEADER: Row = [
  'Случай',
  'Запросов',
  'p50, мс',
  'p95, мс',
  'p99, мс',
  'max, мс',
  'Найдено (медиана; мин–макс)',
  'Цель p95',
];

function rows(results: Map<CaseName, CaseResult>): Row[] {
  return CASES.map(({ name, label, goalMs }) => {
    const r = results.get(name)!;
    const p95 = percentile(r.latencies, 95);
    const found =
      name === 'suggest'
        ? `${percentile(r.totals, 50)} подсказок`
        : `${percentile(r.totals, 50)}; ${Math.min(...r.totals)}–${Math.max(...r.totals)}${r.exact === r.totals.length ? '' : ` (точно: ${r.exact} из ${r.totals.length})`}`;
    return [
      label,
      String(r.latencies.length),
      fmt(percentile(r.latencies, 50)),
      fmt(p95),
      fmt(percentile(r.latencies, 99)),
      fmt(Math.max(...r.latencies)),
      found,
      goalMs === undefined ? '—' : `< ${goalMs} мс — ${p95 < goalMs ? 'да' : 'нет'}`,
    ];
  });
}

function resultsSection(
  table: Row[],
  load: LoadFigures,
  extra: {
    rssPeak?: number;
    hwm?: number;
    startSeconds: number;
    totalSeconds: number;
    load: number[][];
    plans: string;
  },
): string {
  const m = machine();
  const avg = (values: number[]) => values.map((v) => v.toFixed(2)).join(' / ');
  // NULL допустим только там, где значения нет по смыслу (retention_until у файлов без срока хранения).
  const nullNote =
    Object.keys(load.nullColumns).length === 0
      ? 'NULL нет ни в одной колонке'
      : `строк с NULL: ${Object.entries(load.nullColumns)
          .map(([column, n]) => `${column} ${n}`)
          .join(', ')} (у записей без срока хранения retention_until и должен быть NULL)`;
  return `## search — задержка поиска и подсказок query-module (PostgreSQL, ${records} записей)

- Дата: ${m.date}
- Машина: ${m.cpus} CPU (nproc), ${m.cpuModel}, ${m.memory} ОЗУ, ${m.os}; load average (1/5/15 мин) до прогона ${avg(extra.load[0]!)}, после ${avg(extra.load[1]!)}
- Node: ${m.node}
- Команда: \`${invocation('node --import tsx bench/search.ts')}\` (прогон занял ${fmt(extra.totalSeconds, 0)} с)
- Индекс: ${records} записей корпуса bench/lib/search-corpus.ts (65 % русских, 35 % английских имён и описаний,
  теги, custom, ${ELEMENTS.length} SE, 9 content_type, размеры 100 B–4 GB, даты 2021–2026, 2 % удалённых);
  загрузка \`createFileIndex(db).apply\` пачками по ${batchSize} тремя потоками (по SE) со снятыми на время вторичными индексами
  (${load.indexes.length}: ${load.indexes.join(', ')} — затем построены заново по pg_get_indexdef): всего ${fmt(load.seconds, 0)} с
  (вставка ${fmt(load.insertSeconds, 0)} с, ${fmt(records / load.insertSeconds, 0)} записей/с; индексы ${fmt(load.seconds - load.insertSeconds, 0)} с), затем \`VACUUM ANALYZE\`; таблица с индексами ${fmt(load.tableBytes / MiB, 0)} MiB; миграции: ${load.migrations.join(', ')};
  производные колонки: ${load.generatedColumns.join(', ') || 'нет'}; ${nullNote}
- Запросы: HTTP к \`artstore start query-module\` (отдельный процесс, PostgreSQL + Redis, SE — адрес-заглушка;
  старт на пустой базе до загрузки индекса ${fmt(extra.startSeconds, 1)} с), токен с ролью reader, последовательно по одному; прогрев — ${warmup} запросов
  каждого случая с другими терминами; затем ${requests} разных запросов на случай. В (а)–(д) перед каждым запросом
  сдвигается поколение кеша query (QR-5) — ответ собирается из PostgreSQL; (е) — повтор запросов (б) из кеша.
  (а) — вымышленная фамилия/контрагент из имени файла (словарь ${rareWordCount(records)} слов, ~${fmt(records / rareWordCount(records), 0)} записей
  на слово); (б) — одно из 10 слов, каждое в описании ~${FREQUENT_SHARE * 100} % записей, order чередуется;
  (в) — content_type + size_min/size_max + created_from/created_to, sort=created_at; (г) — первые 3–4 буквы
  слов из имён, limit=10
- RSS query-module: пик за замер ${extra.rssPeak === undefined ? 'н/д' : `${fmt(extra.rssPeak / MiB, 0)} MiB`}, VmHWM ${extra.hwm === undefined ? 'н/д' : `${fmt(extra.hwm / MiB, 0)} MiB`}
- Цели issue: p95 < 50 мс для (а) и (г), < 200 мс для (б)

${markdownTable(HEADER, table)}

Задержка — от отправки запроса до последнего байта ответа (fetch в процессе бенчмарка, keep-alive).
«Найдено» — \`total\` из ответов (у подсказок — число подсказок в ответе); «точно: k из n» — сколько ответов
пришло с \`total_exact: true\`, остальные \`total\` — оценка (настоящая доля частого термина — ~${FREQUENT_SHARE * 100} %).
${extra.plans}`;
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const loadBefore = loadavg();
  const workDir = await mkdtemp(join(tmpdir(), 'artstore-bench-search-'));
  cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
  console.log(`bench search: ${records} записей, ${requests} запросов на случай (прогрев ${warmup})`);
  const pg = await createThrowawayPostgres('bench_search');
  cleanup.defer(() => pg.drop());
  // query-module стартует первым: схему создают его миграции, и код поиска, который замеряется, загружен
  // до долгой загрузки индекса (правки исходников во время прогона его уже не меняют).
  const issuer = await createTestTokenIssuer();
  cleanup.defer(() => issuer.close());
  // Свой префикс Redis: через него замер сдвигает поколение кеша query перед каждым запросом.
  const keyPrefix = uniqueTestPrefix('bench_search');
  cleanup.defer(() => deleteKeysWithPrefix(testRedisUrl(), keyPrefix));
  const coordination = createRedisCoordination({ url: testRedisUrl(), keyPrefix });
  cleanup.defer(() => coordination.close());
  const missCache = () => coordination.increment(INDEX_GENERATION_KEY, 24 * 3600_000);
  const query = await startQueryProcess({
    workDir,
    issuer,
    pg,
    cleanup,
    keyPrefix,
    storageElements: ELEMENTS.map((id) => ({ id, url: STUB_SE_URL })),
    // Заглушки не отвечают: редкий опрос не засоряет журнал и не отнимает процессор у замера.
    pollIntervalMs: 600_000,
    readiness: 'live',
  });
  console.log(
    `  query-module запущен на пустой базе за ${fmt(query.startSeconds, 1)} с (SE — заглушки ${STUB_SE_URL})`,
  );
  const db = createPostgresDatabase({
    ...pg.options,
    applicationName: 'artstore-bench-search',
    maxConnections: ELEMENTS.length,
  });
  let load: LoadFigures;
  try {
    load = await loadIndex(db);
  } finally {
    await db.close();
  }
  console.log(
    `  загрузка: ${fmt(load.seconds, 0)} с; миграции: ${load.migrations.join(', ')}; таблица ${fmt(load.tableBytes / MiB, 0)} MiB`,
  );
  console.log(
    `  производные колонки: ${load.generatedColumns.join(', ') || 'нет'}; колонки с NULL: ${JSON.stringify(load.nullColumns)}`,
  );

  const sampler = new RssSampler(query.pid);
  sampler.start();
  cleanup.defer(() => sampler.stop());
  const token = await issuer.mint({ name: 'bench-reader', roles: ['reader'], ttlSeconds: 7200 });

  const set = searchQueries(records, requests, 1);
  const measured = paths(set);
  const warm = paths(searchQueries(records, requests + warmup, 2));
  const results = new Map<CaseName, CaseResult>();
  for (const { name, label, fromCache } of CASES) {
    // Прогрев (е) — сами замеряемые запросы: они и должны оказаться в кеше.
    if (fromCache) await measure(query.url, token, measured[name]);
    else await measure(query.url, token, warm[name].slice(requests), missCache);
    sampler.enter(name);
    const result = await measure(query.url, token, measured[name], fromCache ? undefined : missCache);
    results.set(name, result);
    console.log(
      `  ${label}: p50 ${fmt(percentile(result.latencies, 50))} / p95 ${fmt(percentile(result.latencies, 95))} мс`,
    );
  }
  const rssPeak = Math.max(...CASES.map(({ name }) => sampler.peak(name) ?? 0));
  const hwm = sampler.stop();
  const table = rows(results);
  console.log(`\n${textTable(HEADER, table)}\n`);
  const explainDb = createPostgresDatabase({
    ...pg.options,
    applicationName: 'artstore-bench-search-explain',
    maxConnections: 2,
  });
  let plans: string;
  try {
    plans = planDetails(await explainMisses(explainDb, set, results));
  } finally {
    await explainDb.close();
  }
  if (plans !== '') console.log(plans);
  const totalSeconds = (performance.now() - startedAt) / 1000;
  await publishResults('search', isDefaultRun && !args['no-results'], () =>
    resultsSection(table, load, {
      rssPeak: rssPeak || undefined,
      hwm,
      startSeconds: query.startSeconds,
      totalSeconds,
      load: [loadBefore, loadavg()],
      plans,
    }),
  );
}

await runBenchmark('search', main, cleanup);
