// Бенчмарк «transfer»: загрузка и выдача одного файла 256 MiB и 2 000 файлов по 4 KiB через шлюз
// встроенного режима (`artstore start all`: PGlite + in-process координация). Каждая цифра — в
// отношении к эталону, измеренному в том же прогоне тем же клиентом (bench/baseline-server.ts:
// голый node:http, поток на диск + fsync, поток с диска). Плюс пиковое RSS обоих серверов.
// Параметры (для пробных прогонов; раздел RESULTS.md пишется только при значениях по умолчанию):
//   --big-mib N  --small-count N  --small-kib N  --concurrency N  --rounds N  --no-results
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseConsistencyToken } from '@artstore/contracts';
import { CleanupStack } from '@artstore/core/testing';
import { loginAndChangePassword } from '../tests/e2e/flow.js';
import { startSystem } from '../tests/e2e/harness.js';
import { startBaseline } from './lib/baseline.js';
import { BenchClient, percentile, runPool, uploadSmallRound, type Target, type Uploaded } from './lib/http-client.js';
import { payloadSha256, payloadStream, smallFiles, type SmallFile } from './lib/payload.js';
import { invocation, machine, markdownTable, publishResults, runBenchmark, textTable, type Row } from './lib/report.js';
import { findPidByArgument, readStatusBytes, RssSampler } from './lib/rss.js';

const MiB = 1024 * 1024;
const DEFAULTS = { 'big-mib': '256', 'small-count': '2000', 'small-kib': '4', concurrency: '16', rounds: '3' } as const;
/** Весь прогон обязан уложиться в 10 минут (issue); сторож срабатывает раньше и всё останавливает. */
const WATCHDOG_MS = 9 * 60_000;
const WARMUP_FILES = 64;

const { values: args } = parseArgs({
  options: {
    'big-mib': { type: 'string', default: DEFAULTS['big-mib'] },
    'small-count': { type: 'string', default: DEFAULTS['small-count'] },
    'small-kib': { type: 'string', default: DEFAULTS['small-kib'] },
    concurrency: { type: 'string', default: DEFAULTS.concurrency },
    rounds: { type: 'string', default: DEFAULTS.rounds },
    'no-results': { type: 'boolean', default: false },
  },
});
const bigSize = Number(args['big-mib']) * MiB;
const smallCount = Number(args['small-count']);
const smallSize = Number(args['small-kib']) * 1024;
const concurrency = Number(args.concurrency);
const roundCount = Number(args.rounds);
const isDefaultRun = (Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]).every((k) => args[k] === DEFAULTS[k]);

/** Один раунд замеров одной стороны: секунды и задержки запросов (мс). */
interface Round {
  bigUpload: number;
  bigDownload: number;
  smallUpload: number;
  smallDownload: number;
  uploadLatencies: number[];
  downloadLatencies: number[];
}

/** Сторона сравнения: эталон или ArtStore, с общим для всех раундов клиентом и счётчиком RSS. */
interface Side {
  target: Target;
  sampler: RssSampler;
  rssAfterStart: number | undefined;
  rounds: Round[];
  hwm?: number;
}

// ── Остановка всего запущенного: при успехе, ошибке, Ctrl+C, SIGTERM и по сторожу ──────────────
const cleanup = new CleanupStack((error) => console.error('очистка:', error));
function abort(reason: string, code: number): void {
  console.error(`\nbench transfer: ${reason} — останавливаю процессы`);
  void cleanup.run().finally(() => process.exit(code));
}
process.once('SIGINT', () => abort('прервано (SIGINT)', 130));
process.once('SIGTERM', () => abort('прервано (SIGTERM)', 143));
setTimeout(() => abort(`не уложился в ${WATCHDOG_MS / 60_000} мин`, 1), WATCHDOG_MS).unref();

// ── ArtStore, встроенный режим ──────────────────────────────────────────────────────────────────
async function startArtStore(): Promise<{ target: Target; pid: number | undefined }> {
  const system = await startSystem('embedded', 'bench');
  cleanup.defer(() => system.stop());
  // Харнесс не отдаёт pid; `artstore start all` — один процесс (tsx регистрируется в нём же),
  // и путь к его конфигу во временном каталоге уникален.
  const pid = findPidByArgument(join(system.workDir, 'artstore.yaml'));
  const { token } = await loginAndChangePassword(system.gateway, 'admin123');
  const headers = { authorization: `Bearer ${token}` };
  const settle = async (files: Uploaded[]): Promise<void> => {
    // Выдача идёт через индекс query-module: ждём, пока он догонит наибольший номер изменения
    // каждого SE (consistency_token, SPEC QR-4). Вне замера.
    const latest = new Map<string, { seq: number; token: string }>();
    for (const file of files) {
      const parsed = parseConsistencyToken(file.consistency_token ?? '');
      if (parsed && parsed.seq > (latest.get(parsed.elementId)?.seq ?? -1)) latest.set(parsed.elementId, { seq: parsed.seq, token: file.consistency_token! });
    }
    for (const { token: consistency } of latest.values()) {
      for (let attempt = 0; ; attempt++) {
        const response = await fetch(`${system.gateway}/api/search?q=&limit=1&consistency_token=${encodeURIComponent(consistency)}`, { headers });
        await response.arrayBuffer();
        if (response.ok && response.headers.get('artstore-consistency') !== 'stale') break;
        if (attempt >= 12) throw new Error(`индекс не догнал ${consistency}: HTTP ${response.status}`);
      }
    }
  };
  return { target: { name: 'ArtStore', base: system.gateway, headers, settle }, pid };
}

// ── Замеры: один и тот же код и те же клиенты для обеих сторон ────────────────────────────────────
const client = new BenchClient(concurrency);
/** Большой файл — по одному соединению (параллельность 1). */
const single = new BenchClient(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Прогрев вне замера: JIT, соединения keep-alive, первые запросы к БД. */
async function warmUp(side: Side, warmup: SmallFile[]): Promise<void> {
  const { target } = side;
  const files = await runPool(warmup.length, concurrency, (i) => client.upload(target, warmup[i]!.name, warmup[i]!.bytes, warmup[i]!.bytes.length));
  await target.settle?.(files);
  await runPool(files.length, concurrency, (i) => client.download(target, files[i]!.id));
  side.sampler.enter('idle');
  await sleep(300);
}

async function measureBig(side: Side, round: number, bigSha256: string): Promise<Pick<Round, 'bigUpload' | 'bigDownload'>> {
  const { target, sampler } = side;
  sampler.enter('big-upload');
  let started = performance.now();
  // Тело порождается потоком: 256 MiB не лежат в памяти клиента.
  const big = await single.upload(target, `bench-${bigSize / MiB}MiB-r${round}.bin`, payloadStream(bigSize), bigSize);
  const bigUpload = (performance.now() - started) / 1000;
  if (big.sha256 !== undefined && big.sha256 !== bigSha256) throw new Error(`${target.name}: sha256 большого файла на сервере ${big.sha256} ≠ ${bigSha256}`);
  await target.settle?.([big]);

  sampler.enter('big-download');
  started = performance.now();
  const received = await single.download(target, big.id);
  const bigDownload = (performance.now() - started) / 1000;
  if (received.size !== bigSize || received.sha256 !== bigSha256) {
    throw new Error(`${target.name}: выданный большой файл отличается: ${received.size} байт, sha256 ${received.sha256}`);
  }
  sampler.enter('between');
  return { bigUpload, bigDownload };
}

async function measureSmall(side: Side, round: number, small: SmallFile[]): Promise<Omit<Round, 'bigUpload' | 'bigDownload'>> {
  const { target, sampler } = side;
  sampler.enter('small');
  const { uploaded, latencies: uploadLatencies, seconds: smallUpload } = await uploadSmallRound(client, target, small, round, concurrency);
  await target.settle?.(uploaded);

  const downloadLatencies: number[] = [];
  const started = performance.now();
  // Проверяются размер и sha256 каждого файла (а не только выборки): на 4 KiB это почти бесплатно.
  await runPool(uploaded.length, concurrency, async (i) => {
    const t0 = performance.now();
    const received = await client.download(target, uploaded[i]!.id);
    downloadLatencies.push(performance.now() - t0);
    if (received.size !== small[i]!.bytes.length || received.sha256 !== small[i]!.sha256) {
      throw new Error(`${target.name}: выданный ${small[i]!.name} отличается (${received.size} байт)`);
    }
  });
  const smallDownload = (performance.now() - started) / 1000;
  sampler.enter('between');
  return { smallUpload, smallDownload, uploadLatencies, downloadLatencies };
}

/** Лучший раунд по метрике: внешняя нагрузка на общей машине только замедляет, поэтому берём минимум времени. */
function best(side: Side, key: 'bigUpload' | 'bigDownload' | 'smallUpload' | 'smallDownload'): Round {
  return side.rounds.reduce((a, b) => (b[key] < a[key] ? b : a));
}

// ── Отчёт ───────────────────────────────────────────────────────────────────────────────────────
const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'н/д');
const mib = (bytes: number | undefined) => (bytes === undefined ? 'н/д' : `${fmt(bytes / MiB, 0)} MiB`);
const mibps = (seconds: number) => bigSize / MiB / seconds;
const filesps = (seconds: number) => smallCount / seconds;
const bigLabel = () => `${bigSize / MiB} MiB`;
const smallLabel = () => `${smallCount} × ${smallSize / 1024} KiB`;

function rows(base: Side, art: Side): Row[] {
  const latency = (values: number[]) => `${fmt(percentile(values, 50))} / ${fmt(percentile(values, 95))} мс`;
  const pair = (label: string, b: number, a: number, unit: string): Row => [label, `${fmt(b)} ${unit}`, `${fmt(a)} ${unit}`, `${fmt(a / b, 2)}×`];
  const same = (label: string, value: (side: Side) => string): Row => [label, value(base), value(art), '—'];
  const peak = (phase: string) => (side: Side) => mib(side.sampler.peak(phase));
  return [
    pair(`${bigLabel()}: загрузка`, mibps(best(base, 'bigUpload').bigUpload), mibps(best(art, 'bigUpload').bigUpload), 'MiB/s'),
    pair(`${bigLabel()}: выдача`, mibps(best(base, 'bigDownload').bigDownload), mibps(best(art, 'bigDownload').bigDownload), 'MiB/s'),
    pair(`${smallLabel()}: загрузка`, filesps(best(base, 'smallUpload').smallUpload), filesps(best(art, 'smallUpload').smallUpload), 'файл/с'),
    same('  задержка p50 / p95', (side) => latency(best(side, 'smallUpload').uploadLatencies)),
    pair(`${smallLabel()}: выдача`, filesps(best(base, 'smallDownload').smallDownload), filesps(best(art, 'smallDownload').smallDownload), 'файл/с'),
    same('  задержка p50 / p95', (side) => latency(best(side, 'smallDownload').downloadLatencies)),
    same('RSS сервера: сразу после старта', (side) => mib(side.rssAfterStart)),
    same('RSS сервера: после прогрева', peak('idle')),
    same(`RSS сервера: пик при загрузке ${bigLabel()}`, peak('big-upload')),
    same(`RSS сервера: пик при выдаче ${bigLabel()}`, peak('big-download')),
    same('RSS сервера: пик на мелких файлах', peak('small')),
    same('RSS сервера: VmHWM за всю жизнь', (side) => mib(side.hwm)),
  ];
}

/** Все раунды, чтобы был виден разброс на общей машине. */
function roundLines(sides: Side[]): string[] {
  return sides.flatMap((side) =>
    side.rounds.map(
      (r, i) =>
        `${side.target.name}, раунд ${i + 1}: ${bigLabel()} ↑ ${fmt(mibps(r.bigUpload))} ↓ ${fmt(mibps(r.bigDownload))} MiB/s; ` +
        `${smallLabel()} ↑ ${fmt(filesps(r.smallUpload))} ↓ ${fmt(filesps(r.smallDownload))} файл/с`,
    ),
  );
}

const HEADER: Row = ['Сценарий', 'Эталон (node:http)', 'ArtStore (шлюз)', 'Отношение'];

function resultsSection(table: Row[], rounds: string[], totalSeconds: number, load: { before: number[]; after: number[] }): string {
  const m = machine();
  const loadavg = (values: number[]) => values.map((v) => v.toFixed(2)).join(' / ');
  return `## transfer — загрузка и выдача через шлюз, встроенный режим

- Дата: ${m.date}
- Машина: ${m.cpus} CPU (nproc), ${m.cpuModel}, ${m.memory} ОЗУ, ${m.os}; load average (1/5/15 мин) до прогона ${loadavg(load.before)}, после ${loadavg(load.after)}
- Node: ${m.node}
- Команда: \`${invocation('node --import tsx bench/transfer.ts')}\` (прогон занял ${fmt(totalSeconds, 0)} с)
- Сценарий: один файл ${bigLabel()} (параллельность 1) и ${smallCount} файлов по ${smallSize / 1024} KiB (параллельность ${concurrency});
  сырая загрузка \`POST /api/files?name=…\`, выдача \`GET /api/files/{id}/content\`;
  раундов: ${roundCount}, эталон и ArtStore чередуются, в таблице — лучший раунд каждой стороны;
  выданные байты сверены по sha256 (большой файл и каждый мелкий)

${markdownTable(HEADER, table)}

<details><summary>Все раунды</summary>

${rounds.map((line) => `- ${line}`).join('\n')}

</details>

### Как читать отношения

- **Отношение = ArtStore ÷ эталон** по пропускной способности (MiB/s, файл/с). 1,00× — ArtStore
  так же быстр, как голый сервер, который только пишет тело на диск с fsync и отдаёт файл с диска;
  0,50× — вдвое медленнее. Больше 1 почти не бывает: эталон — верхняя граница для этой машины.
- Эталон и ArtStore измерены **в одном прогоне одним и тем же клиентом** (node:http, keep-alive,
  одинаковая параллельность), поэтому отношение показывает цену серверной стороны — шлюз, ingester,
  SE, хеширование, attr-файл, запись в БД, индекс — и мало зависит от машины. Абсолютные MiB/s и
  файл/с зависят от диска и процессора, между машинами их не сравнивают; сравнивают отношения.
- Эталон делает меньше, чем ArtStore: один fsync на файл, без sha256, без attr-файла и без БД,
  и один процесс без промежуточных HTTP-переходов. Поэтому на мелких файлах, где цена — число
  операций на файл, отношение заметно меньше 1 по самой природе хранилища; ориентир — чтобы оно не
  падало от изменения к изменению.
- Машина общая: раунды чередуются (эталон, ArtStore, затем наоборот), и каждая сторона берёт лучший
  раунд — посторонняя нагрузка только замедляет. Если раунды сильно расходятся (см. «Все раунды»,
  load average), отношения надо перемерить на тихой машине.
- Задержки p50/p95 — время одного запроса мелкого файла от начала до последнего байта ответа при
  параллельности ${concurrency}; в отношения они не входят.
- **RSS** — резидентная память серверного процесса (/proc/<pid>/status): пик VmRSS по фазам
  (опрос раз в 100 мс) и VmHWM за всю жизнь процесса, включая старт. Потоковая передача видна так:
  пик при загрузке и выдаче ${bigLabel()} почти не больше RSS после прогрева — память не растёт с
  размером файла. Рост на сотни MiB означал бы, что файл где-то буферизуется целиком.
`;
}

// ── Прогон ──────────────────────────────────────────────────────────────────────────────────────
async function main(): Promise<void> {
  const startedAt = performance.now();
  const loadBefore = loadavg();
  const workDir = await mkdtemp(join(tmpdir(), 'artstore-bench-'));
  cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
  cleanup.defer(() => {
    client.close();
    single.close();
  });

  console.log(`bench transfer: ${bigLabel()} и ${smallLabel()} (параллельность ${concurrency}), раундов: ${roundCount}`);
  const bigSha256 = await payloadSha256(bigSize);
  const small = smallFiles(smallCount, smallSize, 'bench-small');
  const warmup = smallFiles(WARMUP_FILES, smallSize, 'bench-warmup');

  // Оба сервера живут весь прогон: раунды чередуются, и медленная полоса посторонней нагрузки не
  // достаётся целиком одной стороне.
  const sides: Side[] = [];
  for (const start of [() => startBaseline(workDir, cleanup), startArtStore]) {
    const { target, pid } = await start();
    const sampler = new RssSampler(pid);
    cleanup.defer(() => sampler.stop());
    const side: Side = { target, sampler, rssAfterStart: pid === undefined ? undefined : readStatusBytes(pid, 'VmRSS'), rounds: [] };
    console.log(`  ${target.name}: ${target.base}, pid ${pid ?? 'не найден (RSS будет «н/д»)'}, RSS после старта ${mib(side.rssAfterStart)}`);
    sampler.start();
    sides.push(side);
  }
  const [baseline, art] = sides as [Side, Side];
  for (const side of sides) await warmUp(side, warmup);

  for (let round = 0; round < roundCount; round++) {
    const order = round % 2 === 0 ? [baseline, art] : [art, baseline];
    const big = new Map<Side, Awaited<ReturnType<typeof measureBig>>>();
    for (const side of order) big.set(side, await measureBig(side, round, bigSha256));
    for (const side of order) side.rounds.push({ ...big.get(side)!, ...(await measureSmall(side, round, small)) });
    console.log(roundLines(sides).filter((line) => line.includes(`раунд ${round + 1}:`)).map((line) => `  ${line}`).join('\n'));
  }
  for (const side of sides) side.hwm = side.sampler.stop();

  const table = rows(baseline, art);
  console.log(`\n${textTable(HEADER, table)}\n`);
  const totalSeconds = (performance.now() - startedAt) / 1000;
  await publishResults('transfer', isDefaultRun && !args['no-results'], () =>
    resultsSection(table, roundLines(sides), totalSeconds, { before: loadBefore, after: loadavg() }),
  );
}

await runBenchmark('transfer', main, cleanup);
