// Бенчмарк «query» (issue «Benchmarks», SPEC QR-1, QR-6) на PostgreSQL и Redis:
//   1. Догоняние индекса: SE с --files загруженными мелкими файлами, query-module стартует с пустым
//      индексом; время до курсора = голове ленты (GET /health/ready → checks.index.detail[<se>].last_seq),
//      изменений/с.
//   2. Выдача через прокси query (GET /api/files/{id}/content): файл --big-mib MiB и --small-count файлов
//      по --small-kib KiB с параллельностью --concurrency — в отношении к эталону bench/baseline-server.ts
//      (голый node:http, выдача с диска), измеренному в том же прогоне тем же клиентом; те же файлы прямо
//      с SE (цена самого прокси), CPU серверных процессов на выдачу, пиковый RSS query.
// SE и query — отдельные процессы `artstore start …` (одна одноразовая база PostgreSQL, таблицы SE с
// префиксом se_, общий префикс Redis — события ленты будят query); клиент бенчмарка — этот процесс.
// Параметры (раздел RESULTS.md пишется только при значениях по умолчанию):
//   --files N  --file-kib N  --upload-concurrency N  --big-mib N  --small-count N  --small-kib N
//   --concurrency N  --rounds N  --no-results
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  createThrowawayPostgres,
  deleteKeysWithPrefix,
  testRedisUrl,
  uniqueTestPrefix,
} from '@artstore/adapters/testing';
import { CleanupStack, createTestTokenIssuer } from '@artstore/core/testing';
import { lastSeq } from '@artstore/storage-element/testing';
import { databaseSection } from '../tests/e2e/harness.js';
import { prepareSeNode, spawnSe, waitReady } from '../tests/e2e/se-crash-kit.js';
import { startBaseline } from './lib/baseline.js';
import { BenchClient, runPool, uploadSmallRound, type Target, type Uploaded } from './lib/http-client.js';
import { payloadSha256, payloadStream, smallFiles, type SmallFile } from './lib/payload.js';
import { indexPositions, startQueryProcess, type QueryProcess } from './lib/query-process.js';
import {
  invocation,
  machine,
  markdownTable,
  publishResults,
  runBenchmark,
  textTable,
  type Row,
} from './lib/report.js';
import { readCpuSeconds, RssSampler } from './lib/rss.js';

const MiB = 1024 * 1024;
const DEFAULTS = {
  files: '20000',
  'file-kib': '1',
  'upload-concurrency': '16',
  'big-mib': '1024',
  'small-count': '200',
  'small-kib': '1024',
  concurrency: '8',
  rounds: '2',
} as const;
const WATCHDOG_MS = 30 * 60_000;
const ELEMENT_ID = 'se-bench';
/** Цель issue: выдача через query ≥ 0,7 эталона. */
const GOAL = 0.7;

const { values: args } = parseArgs({
  options: {
    ...(Object.fromEntries(
      Object.entries(DEFAULTS).map(([k, v]) => [k, { type: 'string', default: v }]),
    ) as Record<keyof typeof DEFAULTS, { type: 'string'; default: string }>),
    'no-results': { type: 'boolean', default: false },
  },
});
const num = (key: keyof typeof DEFAULTS) => Number(args[key]);
const fileCount = num('files');
const fileSize = num('file-kib') * 1024;
const uploadConcurrency = num('upload-concurrency');
const bigSize = num('big-mib') * MiB;
const smallCount = num('small-count');
const smallSize = num('small-kib') * 1024;
const concurrency = num('concurrency');
const roundCount = num('rounds');
const isDefaultRun = (Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]).every(
  (k) => args[k] === DEFAULTS[k],
);

const cleanup = new CleanupStack((error) => console.error('очистка:', error));
function abort(reason: string, code: number): void {
  console.error(`\nbench query: ${reason} — останавливаю процессы и удаляю базу`);
  void cleanup.run().finally(() => process.exit(code));
}
process.once('SIGINT', () => abort('прервано (SIGINT)', 130));
process.once('SIGTERM', () => abort('прервано (SIGTERM)', 143));
setTimeout(() => abort(`не уложился в ${WATCHDOG_MS / 60_000} мин`, 1), WATCHDOG_MS).unref();

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'н/д');
const mib = (bytes: number | undefined) => (bytes === undefined ? 'н/д' : `${fmt(bytes / MiB, 0)} MiB`);
const sizeLabel = (bytes: number) =>
  bytes >= 1024 * MiB
    ? `${fmt(bytes / (1024 * MiB), 0)} GiB`
    : bytes >= MiB
      ? `${fmt(bytes / MiB, 0)} MiB`
      : `${bytes / 1024} KiB`;

const uploader = new BenchClient(uploadConcurrency);
const client = new BenchClient(concurrency);
const single = new BenchClient(1);

/** Ждёт, пока индекс query дойдёт до seq; возвращает секунды ожидания. */
async function waitIndexed(query: QueryProcess, seq: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const position = (await indexPositions(query.url))[ELEMENT_ID] ?? 0;
    if (position >= seq) return (performance.now() - started) / 1000;
    if (performance.now() - started > timeoutMs)
      throw new Error(`индекс не дошёл до seq ${seq} за ${timeoutMs} мс (сейчас ${position})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// ── Выдача ───────────────────────────────────────────────────────────────────────────────────────
interface Round {
  big: number;
  small: number;
  /** Процессорное время (user + sys) серверных процессов стороны за выдачу, с: по процессам. */
  cpu: { big: Record<string, number>; small: Record<string, number> };
}

/** CPU процессов (user + sys, с) по именам; без /proc (не Linux) — NaN, в отчёте «н/д». */
function cpuNow(pids: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(pids).map(([name, pid]) => {
      const cpu = pid === undefined ? undefined : readCpuSeconds(pid);
      return [name, cpu === undefined ? Number.NaN : cpu.user + cpu.system];
    }),
  );
}

const cpuDelta = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(Object.keys(before).map((name) => [name, after[name]! - before[name]!]));

interface Side {
  target: Target;
  /** Серверные процессы стороны: их CPU считается за каждую выдачу. */
  pids: Record<string, number | undefined>;
  big: Uploaded;
  small: Uploaded[];
  rounds: Round[];
}

async function downloadRound(
  side: Side,
  hashes: { big: string; small: SmallFile[] },
  sampler?: RssSampler,
): Promise<Round> {
  sampler?.enter('big');
  const cpu0 = cpuNow(side.pids);
  let started = performance.now();
  const big = await single.download(side.target, side.big.id);
  const bigSeconds = (performance.now() - started) / 1000;
  if (big.size !== bigSize || big.sha256 !== hashes.big)
    throw new Error(`${side.target.name}: выдан не тот большой файл (${big.size} байт)`);
  sampler?.enter('small');
  const cpu1 = cpuNow(side.pids);
  started = performance.now();
  await runPool(side.small.length, concurrency, async (i) => {
    const got = await client.download(side.target, side.small[i]!.id);
    if (got.sha256 !== hashes.small[i]!.sha256)
      throw new Error(`${side.target.name}: выдан не тот файл ${hashes.small[i]!.name}`);
  });
  const smallSeconds = (performance.now() - started) / 1000;
  sampler?.enter('between');
  return {
    big: bigSeconds,
    small: smallSeconds,
    cpu: { big: cpuDelta(cpu0, cpu1), small: cpuDelta(cpu1, cpuNow(side.pids)) },
  };
}

// ── Отчёт ────────────────────────────────────────────────────────────────────────────────────────
interface CatchUp {
  uploadSeconds: number;
  head: number;
  startSeconds: number;
  catchUpSeconds: number;
  rssPeak: number | undefined;
}

const best = (side: Side, key: 'big' | 'small') => Math.min(...side.rounds.map((r) => r[key]));
const HEADER: Row = [
  'Сценарий',
  'Эталон (node:http)',
  'SE напрямую',
  'ArtStore (query → SE)',
  'ArtStore ÷ эталон',
  'query ÷ SE',
  `Цель ≥ ${GOAL}×`,
];

function rows(base: Side, art: Side, se: Side, rss: RssSampler, hwm: number | undefined): Row[] {
  const big = (side: Side) => bigSize / MiB / best(side, 'big');
  const small = (side: Side) => (smallCount * smallSize) / MiB / best(side, 'small');
  const ratioRow = (label: string, rate: (side: Side) => number, unit: string): Row => [
    label,
    `${fmt(rate(base))} ${unit}`,
    `${fmt(rate(se))} ${unit}`,
    `${fmt(rate(art))} ${unit}`,
    `${fmt(rate(art) / rate(base), 2)}×`,
    `${fmt(rate(art) / rate(se), 2)}×`,
    rate(art) / rate(base) >= GOAL ? 'да' : 'нет',
  ];
  // CPU серверов в лучшем по времени раунде: на 1 GiB большого файла и на один мелкий файл, мс.
  const cpu = (side: Side, key: keyof Round['cpu'], per: number): string => {
    const round = side.rounds.reduce((a, b) => (b[key] < a[key] ? b : a));
    const parts = Object.entries(round.cpu[key]).map(
      ([name, seconds]) => [name, (seconds * 1000) / per] as const,
    );
    const total = parts.reduce((sum, [, ms]) => sum + ms, 0);
    return parts.length === 1
      ? fmt(total)
      : `${fmt(total)} (${parts.map(([name, ms]) => `${name} ${fmt(ms)}`).join(' + ')})`;
  };
  const cpuRow = (label: string, key: keyof Round['cpu'], per: number): Row => [
    label,
    cpu(base, key, per),
    cpu(se, key, per),
    cpu(art, key, per),
    '—',
    '—',
    '',
  ];
  const memory = (label: string, bytes: number | undefined): Row => [
    label,
    '—',
    '—',
    mib(bytes),
    '—',
    '—',
    '',
  ];
  return [
    ratioRow(`${sizeLabel(bigSize)}: выдача (1 соединение)`, big, 'MiB/s'),
    ratioRow(
      `${smallCount} × ${sizeLabel(smallSize)}: выдача (параллельность ${concurrency})`,
      small,
      'MiB/s',
    ),
    cpuRow(`CPU серверов на ${sizeLabel(bigSize)} (user + sys), мс`, 'big', 1),
    cpuRow(`CPU серверов на файл ${sizeLabel(smallSize)} (user + sys), мс`, 'small', smallCount),
    memory('RSS query: после догоняния', rss.peak('idle')),
    memory(`RSS query: пик при выдаче ${sizeLabel(bigSize)}`, rss.peak('big')),
    memory('RSS query: пик на мелких файлах', rss.peak('small')),
    memory('RSS query: VmHWM за всю жизнь', hwm),
  ];
}

function catchUpLines(c: CatchUp): string[] {
  return [
    `загрузка ${fileCount} файлов по ${sizeLabel(fileSize)} на SE (параллельность ${uploadConcurrency}): ${fmt(c.uploadSeconds, 0)} с (${fmt(fileCount / c.uploadSeconds, 0)} файл/с), голова ленты seq ${c.head}`,
    `старт query-module с пустым индексом до /health/live: ${fmt(c.startSeconds, 1)} с`,
    `догоняние до головы ленты: **${fmt(c.catchUpSeconds, 1)} с — ${fmt(c.head / c.catchUpSeconds, 0)} изменений/с** (всего от запуска процесса ${fmt(c.startSeconds + c.catchUpSeconds, 1)} с — ${fmt(c.head / (c.startSeconds + c.catchUpSeconds), 0)} изменений/с)`,
    `пик RSS query при догонянии: ${mib(c.rssPeak)}`,
  ];
}

function resultsSection(
  c: CatchUp,
  table: Row[],
  sides: Side[],
  extra: { totalSeconds: number; load: number[][] },
): string {
  const m = machine();
  const avg = (values: number[]) => values.map((v) => v.toFixed(2)).join(' / ');
  const roundLines = sides.flatMap((side) =>
    side.rounds.map(
      (r, i) =>
        `${side.target.name}, раунд ${i + 1}: ${sizeLabel(bigSize)} ${fmt(bigSize / MiB / r.big)} MiB/s; ${smallCount} × ${sizeLabel(smallSize)} ${fmt((smallCount * smallSize) / MiB / r.small)} MiB/s`,
    ),
  );
  return `## query — догоняние индекса и выдача через query-module (PostgreSQL, Redis, отдельные процессы)

- Дата: ${m.date}
- Машина: ${m.cpus} CPU (nproc), ${m.cpuModel}, ${m.memory} ОЗУ, ${m.os}; load average (1/5/15 мин) до прогона ${avg(extra.load[0]!)}, после ${avg(extra.load[1]!)}
- Node: ${m.node}
- Команда: \`${invocation('node --import tsx bench/query.ts')}\` (прогон занял ${fmt(extra.totalSeconds, 0)} с)
- Топология: \`artstore start storage-element\` и \`artstore start query-module\` — отдельные процессы на одной
  одноразовой базе PostgreSQL (таблицы SE с префиксом se_) и общем префиксе Redis; сервисный токен query — по
  client_credentials у конечного пункта бенчмарка (тестовый издатель RS256); настройки query по умолчанию
  (change_batch_size 500). Эталон — bench/baseline-server.ts (голый node:http, файл потоком с диска).

### Догоняние индекса (SPEC QR-1)

${catchUpLines(c)
  .map((line) => `- ${line}`)
  .join('\n')}

Курсор читается из \`GET /health/ready\` → \`checks.index.detail.${ELEMENT_ID}.last_seq\` каждые 25 мс.

### Выдача через прокси query (SPEC QR-6)

${markdownTable(HEADER, table)}

- \`GET /api/files/{id}/content\` с токеном роли reader в query-module (он находит запись в индексе и
  передаёт поток SE) против \`GET /api/files/{id}/content\` эталона; клиент один и тот же (node:http, keep-alive);
  sha256 каждого выданного файла сверен. «SE напрямую» — те же файлы с SE без прокси (токен admin): отношение
  query ÷ SE — цена самого прокси, ArtStore ÷ эталон — всей цепочки. Раундов ${roundCount}, эталон и ArtStore чередуются, в таблице —
  лучший раунд каждой стороны. У ArtStore два HTTP-перехода (клиент → query → SE) и проверка токена дважды.
- CPU — приращение utime + stime серверных процессов стороны (/proc/<pid>/stat, шаг 10 мс) за лучший по
  времени раунд: на весь большой файл и в среднем на один мелкий; у ArtStore — сумма query и SE.

<details><summary>Все раунды</summary>

${roundLines.map((line) => `- ${line}`).join('\n')}

</details>
`;
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const loadBefore = loadavg();
  const workDir = await mkdtemp(join(tmpdir(), 'artstore-bench-query-'));
  cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
  cleanup.defer(() => [uploader, client, single].forEach((c) => c.close()));
  console.log(
    `bench query: догоняние ${fileCount} × ${sizeLabel(fileSize)}; выдача ${sizeLabel(bigSize)} и ${smallCount} × ${sizeLabel(smallSize)} ` +
      `(параллельность ${concurrency}), раундов ${roundCount}`,
  );
  const pg = await createThrowawayPostgres('bench_query');
  cleanup.defer(() => pg.drop());
  const keyPrefix = uniqueTestPrefix('bench_query');
  cleanup.defer(() => deleteKeysWithPrefix(testRedisUrl(), keyPrefix));
  const issuer = await createTestTokenIssuer();
  cleanup.defer(() => issuer.close());

  const node = await prepareSeNode(issuer, 'bench-query', undefined, {
    database: { ...databaseSection(pg), table_prefix: 'se_' },
    redis: { url: testRedisUrl(), key_prefix: keyPrefix },
    storage: { element_id: ELEMENT_ID },
  });
  cleanup.defer(() => node.cleanup.run());
  const seProcess = spawnSe(node);
  await waitReady(node, seProcess);
  const adminToken = await issuer.mint({ name: 'bench', roles: ['admin'], ttlSeconds: 7200 });
  const seTarget: Target = {
    name: 'SE',
    base: node.url,
    headers: { authorization: `Bearer ${adminToken}` },
    protocol: 'storage-element',
  };

  // 1. Догоняние: лента SE заполнена до старта query.
  const bulk = await uploadSmallRound(
    uploader,
    seTarget,
    smallFiles(fileCount, fileSize, 'catchup'),
    0,
    uploadConcurrency,
  );
  console.log(`  загружено на SE ${fileCount} файлов за ${fmt(bulk.seconds, 0)} с`);
  const head = await lastSeq(node, adminToken);
  const query = await startQueryProcess({
    workDir,
    issuer,
    pg,
    cleanup,
    keyPrefix,
    storageElements: [{ id: ELEMENT_ID, url: node.url }],
    readiness: 'live',
  });
  const rss = new RssSampler(query.pid);
  rss.enter('catchup');
  rss.start();
  cleanup.defer(() => rss.stop());
  const catchUpSeconds = await waitIndexed(query, head, 20 * 60_000);
  const catchUp: CatchUp = {
    uploadSeconds: bulk.seconds,
    head,
    startSeconds: query.startSeconds,
    catchUpSeconds,
    rssPeak: rss.peak('catchup'),
  };
  console.log(
    catchUpLines(catchUp)
      .map((line) => `  ${line.replaceAll('**', '')}`)
      .join('\n'),
  );
  rss.enter('idle');

  // 2. Выдача: одни и те же байты на эталоне и на SE; загрузка — вне замера.
  rss.enter('prepare');
  const hashes = { big: await payloadSha256(bigSize), small: smallFiles(smallCount, smallSize, 'download') };
  const { target: baseTarget, pid: basePid } = await startBaseline(workDir, cleanup);
  const readerToken = await issuer.mint({ name: 'bench-reader', roles: ['reader'], ttlSeconds: 7200 });
  const queryTarget: Target = {
    name: 'ArtStore',
    base: query.url,
    headers: { authorization: `Bearer ${readerToken}` },
  };
  const sides: Side[] = [];
  const sePid = seProcess.child.pid;
  for (const [target, uploadTo, pids] of [
    [baseTarget, baseTarget, { эталон: basePid }],
    [queryTarget, seTarget, { query: query.pid, SE: sePid }],
  ] as const) {
    const big = await single.upload(
      uploadTo,
      `download-${bigSize / MiB}MiB.bin`,
      payloadStream(bigSize),
      bigSize,
    );
    const { uploaded } = await uploadSmallRound(client, uploadTo, hashes.small, 0, concurrency);
    sides.push({ target, pids, big, small: uploaded, rounds: [] });
  }
  // Те же файлы прямо с SE (без прокси): отношение query ÷ SE — цена самого прокси.
  sides.push({ ...sides[1]!, target: { ...seTarget, name: 'SE напрямую' }, pids: { SE: sePid }, rounds: [] });
  await waitIndexed(query, await lastSeq(node, adminToken), 60_000);
  for (const side of sides) await downloadRound(side, hashes); // прогрев: JIT, соединения, кеш записей
  rss.enter('idle');
  for (let round = 0; round < roundCount; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      side.rounds.push(await downloadRound(side, hashes, side.target === queryTarget ? rss : undefined));
    }
    console.log(
      `  раунд ${round + 1}: ${sides.map((s) => `${s.target.name} ${fmt(bigSize / MiB / s.rounds[round]!.big)} / ${fmt((smallCount * smallSize) / MiB / s.rounds[round]!.small)} MiB/s`).join('; ')}`,
    );
  }
  const hwm = rss.stop();
  const table = rows(sides[0]!, sides[1]!, sides[2]!, rss, hwm);
  console.log(`\n${textTable(HEADER, table)}\n`);
  const totalSeconds = (performance.now() - startedAt) / 1000;
  await publishResults('query', isDefaultRun && !args['no-results'], () =>
    resultsSection(catchUp, table, sides, { totalSeconds, load: [loadBefore, loadavg()] }),
  );
}

await runBenchmark('query', main, cleanup);
