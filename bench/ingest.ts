// Бенчмарк «ingest» (issue «Ingester»): пропускная способность загрузки через ingester-module — один файл
// 1 GiB, 5 000 файлов по 4 KiB при параллельности 16 и возобновляемая загрузка tus 50 MiB кусками по
// 5 MiB — в отношении к эталону (bench/baseline-server.ts: голый node:http, поток на диск + fsync),
// измеренному в том же прогоне тем же клиентом. ArtStore — production-топология: пять процессов
// `artstore start <service>` на PostgreSQL и Redis; запросы идут прямо в порт ingester. Плюс пиковое RSS
// эталона, ingester и SE.
// Параметры (раздел RESULTS.md пишется только при значениях по умолчанию):
//   --big-mib N  --small-count N  --small-kib N  --concurrency N  --tus-mib N  --tus-chunk-mib N  --rounds N  --no-results
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CleanupStack } from '@artstore/core/testing';
import { loginAndChangePassword } from '../tests/e2e/flow.js';
import { startSystem } from '../tests/e2e/harness.js';
import { startBaseline } from './lib/baseline.js';
import { BenchClient, percentile, uploadSmallRound, type Target } from './lib/http-client.js';
import { payloadSha256, payloadStream, smallFiles } from './lib/payload.js';
import {
  invocation,
  machine,
  markdownTable,
  publishResults,
  runBenchmark,
  textTable,
  type Row,
} from './lib/report.js';
import { RssSampler } from './lib/rss.js';
import { tusUpload } from './lib/tus-client.js';

const MiB = 1024 * 1024;
const DEFAULTS = {
  'big-mib': '1024',
  'small-count': '5000',
  'small-kib': '4',
  concurrency: '16',
  'tus-mib': '50',
  'tus-chunk-mib': '5',
  rounds: '2',
} as const;
const WATCHDOG_MS = 20 * 60_000;

const { values: args } = parseArgs({
  options: {
    ...(Object.fromEntries(
      Object.entries(DEFAULTS).map(([k, v]) => [k, { type: 'string', default: v }]),
    ) as Record<keyof typeof DEFAULTS, { type: 'string'; default: string }>),
    'no-results': { type: 'boolean', default: false },
  },
});
const num = (key: keyof typeof DEFAULTS) => Number(args[key]);
const bigSize = num('big-mib') * MiB;
const smallCount = num('small-count');
const smallSize = num('small-kib') * 1024;
const concurrency = num('concurrency');
const tusSize = num('tus-mib') * MiB;
const tusChunk = num('tus-chunk-mib') * MiB;
const roundCount = num('rounds');
const isDefaultRun = (Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]).every(
  (k) => args[k] === DEFAULTS[k],
);

type Scenario = 'big' | 'small' | 'tus';
interface Round {
  seconds: Record<Scenario, number>;
  latencies: number[];
}
interface Side {
  target: Target;
  /** Процессы, память которых считается: эталон — один, ArtStore — ingester и SE. */
  samplers: Map<string, RssSampler>;
  rounds: Round[];
  /** Загрузка tus: у эталона — один POST того же объёма (нижняя граница цены возобновляемости). */
  resumable(name: string, size: number): Promise<{ size: number; sha256?: string }>;
}

const cleanup = new CleanupStack((error) => console.error('очистка:', error));
function abort(reason: string, code: number): void {
  console.error(`\nbench ingest: ${reason} — останавливаю процессы`);
  void cleanup.run().finally(() => process.exit(code));
}
process.once('SIGINT', () => abort('прервано (SIGINT)', 130));
process.once('SIGTERM', () => abort('прервано (SIGTERM)', 143));
setTimeout(() => abort(`не уложился в ${WATCHDOG_MS / 60_000} мин`, 1), WATCHDOG_MS).unref();

const client = new BenchClient(concurrency);
const single = new BenchClient(1);

function sampled(pids: Record<string, number | undefined>): Map<string, RssSampler> {
  const samplers = new Map<string, RssSampler>();
  for (const [name, pid] of Object.entries(pids)) {
    const sampler = new RssSampler(pid);
    cleanup.defer(() => sampler.stop());
    sampler.start();
    samplers.set(name, sampler);
  }
  return samplers;
}

async function startBaselineSide(workDir: string): Promise<Side> {
  const { target, pid } = await startBaseline(workDir, cleanup);
  return {
    target,
    samplers: sampled({ эталон: pid }),
    rounds: [],
    resumable: (name, size) => single.upload(target, name, payloadStream(size), size),
  };
}

async function startArtStoreSide(): Promise<Side> {
  const system = await startSystem('separate', 'bench_ingest');
  cleanup.defer(() => system.stop());
  const { token } = await loginAndChangePassword(system.gateway, 'Первый-пароль-2026');
  const base = system.urls['ingester-module']!;
  const target: Target = { name: 'ArtStore', base, headers: { authorization: `Bearer ${token}` } };
  return {
    target,
    samplers: sampled({
      ingester: system.pids['ingester-module'],
      'storage-element': system.pids['storage-element'],
    }),
    rounds: [],
    resumable: (name, size) =>
      tusUpload({ base, token, name, size, chunkSize: tusChunk, body: payloadStream(size) }),
  };
}

function enter(side: Side, phase: string): void {
  for (const sampler of side.samplers.values()) sampler.enter(phase);
}

async function measureRound(side: Side, round: number, hashes: { big: string; tus: string }): Promise<Round> {
  const { target } = side;
  enter(side, 'big');
  let started = performance.now();
  const big = await single.upload(
    target,
    `ingest-${bigSize / MiB}MiB-r${round}.bin`,
    payloadStream(bigSize),
    bigSize,
  );
  const bigSeconds = (performance.now() - started) / 1000;
  if (big.sha256 !== undefined && big.sha256 !== hashes.big)
    throw new Error(`${target.name}: sha256 большого файла не совпал`);

  enter(side, 'small');
  const small = smallFiles(smallCount, smallSize, `ingest-small-r${round}`);
  const { latencies, seconds: smallSeconds } = await uploadSmallRound(
    client,
    target,
    small,
    round,
    concurrency,
  );

  enter(side, 'tus');
  started = performance.now();
  const resumed = await side.resumable(`ingest-tus-r${round}.bin`, tusSize);
  const tusSeconds = (performance.now() - started) / 1000;
  if (resumed.size !== tusSize || (resumed.sha256 !== undefined && resumed.sha256 !== hashes.tus)) {
    throw new Error(`${target.name}: tus-загрузка: ${resumed.size} байт, sha256 ${resumed.sha256}`);
  }
  enter(side, 'between');
  return { seconds: { big: bigSeconds, small: smallSeconds, tus: tusSeconds }, latencies };
}

// ── Отчёт ───────────────────────────────────────────────────────────────────────────────────────
const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'н/д');
const mib = (bytes: number | undefined) => (bytes === undefined ? 'н/д' : `${fmt(bytes / MiB, 0)} MiB`);
const LABELS: Record<Scenario, string> = {
  big: `${bigSize / MiB} MiB: загрузка`,
  small: `${smallCount} × ${smallSize / 1024} KiB: загрузка (параллельность ${concurrency})`,
  tus: `tus ${tusSize / MiB} MiB кусками по ${tusChunk / MiB} MiB`,
};
/** Пропускная способность сценария: MiB/s или файл/с. */
function rate(scenario: Scenario, seconds: number): number {
  return scenario === 'small'
    ? smallCount / seconds
    : (scenario === 'big' ? bigSize : tusSize) / MiB / seconds;
}
const unit = (scenario: Scenario) => (scenario === 'small' ? 'файл/с' : 'MiB/s');
/** Лучший раунд: посторонняя нагрузка на общей машине только замедляет. */
const best = (side: Side, scenario: Scenario) =>
  side.rounds.reduce((a, b) => (b.seconds[scenario] < a.seconds[scenario] ? b : a));

function rows(base: Side, art: Side): Row[] {
  const result: Row[] = (['big', 'small', 'tus'] as const).map((scenario) => {
    const b = rate(scenario, best(base, scenario).seconds[scenario]);
    const a = rate(scenario, best(art, scenario).seconds[scenario]);
    return [
      LABELS[scenario],
      `${fmt(b)} ${unit(scenario)}`,
      `${fmt(a)} ${unit(scenario)}`,
      `${fmt(a / b, 2)}×`,
    ];
  });
  const latency = (side: Side) => {
    const values = best(side, 'small').latencies;
    return `${fmt(percentile(values, 50))} / ${fmt(percentile(values, 95))} мс`;
  };
  result.splice(2, 0, ['  задержка p50 / p95', latency(base), latency(art), '—']);
  const memory = (side: Side, phase: string) =>
    [...side.samplers].map(([name, sampler]) => `${name} ${mib(sampler.peak(phase))}`).join(', ');
  for (const [phase, label] of [
    ['idle', 'RSS после прогрева'],
    ['big', `RSS: пик при ${bigSize / MiB} MiB`],
    ['small', 'RSS: пик на мелких файлах'],
    ['tus', 'RSS: пик при tus'],
  ] as const) {
    result.push([label, memory(base, phase), memory(art, phase), '—']);
  }
  return result;
}

function roundLines(sides: Side[]): string[] {
  return sides.flatMap((side) =>
    side.rounds.map(
      (r, i) =>
        `${side.target.name}, раунд ${i + 1}: ` +
        (['big', 'small', 'tus'] as const)
          .map((s) => `${s} ${fmt(rate(s, r.seconds[s]))} ${unit(s)}`)
          .join('; '),
    ),
  );
}

const HEADER: Row = ['Сценарий', 'Эталон (node:http)', 'ArtStore (ingester)', 'Отношение'];

function resultsSection(
  table: Row[],
  rounds: string[],
  totalSeconds: number,
  load: { before: number[]; after: number[] },
): string {
  const m = machine();
  const avg = (values: number[]) => values.map((v) => v.toFixed(2)).join(' / ');
  return `## ingest — загрузка через ingester, production-топология (PostgreSQL, Redis, отдельные процессы)

- Дата: ${m.date}
- Машина: ${m.cpus} CPU (nproc), ${m.cpuModel}, ${m.memory} ОЗУ, ${m.os}; load average (1/5/15 мин) до прогона ${avg(load.before)}, после ${avg(load.after)}
- Node: ${m.node}
- Команда: \`${invocation('node --import tsx bench/ingest.ts')}\` (прогон занял ${fmt(totalSeconds, 0)} с)
- Сценарий: сырая загрузка \`POST /api/files?name=…\` прямо в порт ingester (он передаёт поток SE);
  tus — \`POST /api/uploads\` и последовательные \`PATCH\` кусками (у эталона — один POST того же объёма);
  раундов: ${roundCount}, эталон и ArtStore чередуются, в таблице — лучший раунд каждой стороны;
  sha256 принятых файлов сверен с отправленными
- Цели issue: большой файл ≥ 0,7×, мелкие ≥ 0,5×

${markdownTable(HEADER, table)}

<details><summary>Все раунды</summary>

${rounds.map((line) => `- ${line}`).join('\n')}

</details>

Отношение = ArtStore ÷ эталон (как в разделе transfer). Эталон пишет тело в файл с одним fsync; ArtStore
на каждый файл — запись намерения в WAL, данные с fsync, attr-файл с fsync каталога, строку кеша SE в
PostgreSQL, сагу загрузки ingester и событие аудита — и два HTTP-перехода (клиент → ingester → SE).
`;
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const loadBefore = loadavg();
  const workDir = await mkdtemp(join(tmpdir(), 'artstore-bench-ingest-'));
  cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
  cleanup.defer(() => {
    client.close();
    single.close();
  });
  console.log(
    `bench ingest: ${bigSize / MiB} MiB, ${smallCount} × ${smallSize / 1024} KiB (параллельность ${concurrency}), ` +
      `tus ${tusSize / MiB} MiB по ${tusChunk / MiB} MiB; раундов: ${roundCount}`,
  );
  const hashes = { big: await payloadSha256(bigSize), tus: await payloadSha256(tusSize) };
  const baseline = await startBaselineSide(workDir);
  const art = await startArtStoreSide();
  const sides = [baseline, art];
  for (const side of sides) {
    // Прогрев вне замера: JIT, соединения keep-alive, первые запросы к БД.
    await uploadSmallRound(client, side.target, smallFiles(64, smallSize, 'ingest-warmup'), 0, concurrency);
    enter(side, 'idle');
  }
  for (let round = 0; round < roundCount; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse())
      side.rounds.push(await measureRound(side, round, hashes));
    console.log(
      roundLines(sides)
        .filter((line) => line.includes(`раунд ${round + 1}:`))
        .map((line) => `  ${line}`)
        .join('\n'),
    );
  }
  const table = rows(baseline, art);
  console.log(`\n${textTable(HEADER, table)}\n`);
  const totalSeconds = (performance.now() - startedAt) / 1000;
  await publishResults('ingest', isDefaultRun && !args['no-results'], () =>
    resultsSection(table, roundLines(sides), totalSeconds, { before: loadBefore, after: loadavg() }),
  );
}

await runBenchmark('ingest', main, cleanup);
