// Бенчмарк «transfer»: загрузка и выдача одного файла 256 MiB и 2 000 файлов по 4 KiB через шлюз
// встроенного режима (`artstore start all`: PGlite + in-process координация). Каждая цифра — в
// отношении к эталону, измеренному в том же прогоне тем же клиентом (bench/baseline-server.ts:
// голый node:http, поток на диск + fsync, поток с диска). Плюс пиковое RSS обоих серверов.
// Параметры (для пробных прогонов; раздел RESULTS.md пишется только при значениях по умолчанию):
//   --big-mib N  --small-count N  --small-kib N  --concurrency N  --no-results
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseConsistencyToken } from '@artstore/contracts';
import { loginAndChangePassword } from '../tests/e2e/flow.js';
import { freePort, startSystem } from '../tests/e2e/harness.js';
import { BenchClient, percentile, runPool, type Target, type Uploaded } from './lib/http-client.js';
import { payloadSha256, payloadStream, smallFiles, type SmallFile } from './lib/payload.js';
import { invocation, machine, markdownTable, textTable, updateResults, type Row } from './lib/report.js';
import { findPidByArgument, readStatusBytes, RssSampler } from './lib/rss.js';

const MiB = 1024 * 1024;
const DEFAULTS = { 'big-mib': '256', 'small-count': '2000', 'small-kib': '4', concurrency: '16' } as const;
/** Весь прогон обязан уложиться в 10 минут (issue); сторож срабатывает раньше и всё останавливает. */
const WATCHDOG_MS = 9 * 60_000;
const WARMUP_FILES = 64;
const BASELINE_SERVER = fileURLToPath(new URL('./baseline-server.ts', import.meta.url));

const { values: args } = parseArgs({
  options: {
    'big-mib': { type: 'string', default: DEFAULTS['big-mib'] },
    'small-count': { type: 'string', default: DEFAULTS['small-count'] },
    'small-kib': { type: 'string', default: DEFAULTS['small-kib'] },
    concurrency: { type: 'string', default: DEFAULTS.concurrency },
    'no-results': { type: 'boolean', default: false },
  },
});
const bigSize = Number(args['big-mib']) * MiB;
const smallCount = Number(args['small-count']);
const smallSize = Number(args['small-kib']) * 1024;
const concurrency = Number(args.concurrency);
const isDefaultRun = (Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]).every((k) => args[k] === DEFAULTS[k]);

interface SuiteResult {
  name: string;
  bigUpload: { seconds: number };
  bigDownload: { seconds: number };
  smallUpload: { seconds: number; latencies: number[] };
  smallDownload: { seconds: number; latencies: number[] };
  rss: { idle?: number; bigUpload?: number; bigDownload?: number; small?: number; hwm?: number };
}

// ── Остановка всего запущенного: при успехе, ошибке, Ctrl+C, SIGTERM и по сторожу ──────────────
const cleanups: (() => Promise<unknown>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) await step().catch((error: unknown) => console.error('очистка:', error));
  })();
  return cleaning;
}
function abort(reason: string, code: number): void {
  console.error(`\nbench transfer: ${reason} — останавливаю процессы`);
  void cleanup().finally(() => process.exit(code));
}
process.once('SIGINT', () => abort('прервано (SIGINT)', 130));
process.once('SIGTERM', () => abort('прервано (SIGTERM)', 143));
setTimeout(() => abort(`не уложился в ${WATCHDOG_MS / 60_000} мин`, 1), WATCHDOG_MS).unref();

// ── Эталонный сервер ────────────────────────────────────────────────────────────────────────────
async function startBaseline(workDir: string): Promise<{ target: Target; pid: number | undefined }> {
  const dataDir = join(workDir, 'baseline');
  await mkdir(dataDir);
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', BASELINE_SERVER, String(port), dataDir], { stdio: ['ignore', 'inherit', 'inherit'] });
  cleanups.push(() => stopChild(child));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`эталонный сервер завершился с кодом ${child.exitCode}`);
    const ok = await fetch(`${base}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error('эталонный сервер не ответил за 30 с');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { target: { name: 'эталон', base, headers: {} }, pid: child.pid };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// ── ArtStore, встроенный режим ──────────────────────────────────────────────────────────────────
async function startArtStore(): Promise<{ target: Target; pid: number | undefined }> {
  const system = await startSystem('embedded', 'bench');
  cleanups.push(() => system.stop());
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

// ── Один набор замеров, одинаковый для обеих сторон ─────────────────────────────────────────────
async function runSuite(target: Target, pid: number | undefined, bigSha256: string, small: SmallFile[], warmup: SmallFile[]): Promise<SuiteResult> {
  const client = new BenchClient(concurrency);
  const sampler = new RssSampler(pid);
  sampler.start();
  try {
    // Прогрев: JIT, соединения keep-alive, первые запросы к БД — вне замера.
    const warm = await runPool(warmup.length, concurrency, (i) => client.upload(target, warmup[i]!.name, warmup[i]!.bytes, warmup[i]!.bytes.length));
    await target.settle?.(warm);
    await runPool(warm.length, concurrency, (i) => client.download(target, warm[i]!.id));

    sampler.enter('idle');
    await new Promise((r) => setTimeout(r, 300));

    sampler.enter('big-upload');
    // Большой файл — по одному соединению (параллельность 1), тело порождается потоком.
    const single = new BenchClient(1);
    let big: Uploaded;
    let bigUploadSeconds: number;
    let bigDownloadSeconds: number;
    try {
      let started = performance.now();
      big = await single.upload(target, `bench-${bigSize / MiB}MiB.bin`, payloadStream(bigSize), bigSize);
      bigUploadSeconds = (performance.now() - started) / 1000;
      if (big.sha256 !== undefined && big.sha256 !== bigSha256) throw new Error(`${target.name}: sha256 большого файла на сервере ${big.sha256} ≠ ${bigSha256}`);
      await target.settle?.([big]);

      sampler.enter('big-download');
      started = performance.now();
      const received = await single.download(target, big.id);
      bigDownloadSeconds = (performance.now() - started) / 1000;
      if (received.size !== bigSize || received.sha256 !== bigSha256) {
        throw new Error(`${target.name}: выданный большой файл отличается: ${received.size} байт, sha256 ${received.sha256}`);
      }
    } finally {
      single.close();
    }

    sampler.enter('small');
    const uploadLatencies: number[] = [];
    let started = performance.now();
    const uploaded = await runPool(small.length, concurrency, async (i) => {
      const file = small[i]!;
      const t0 = performance.now();
      const result = await client.upload(target, file.name, file.bytes, file.bytes.length);
      uploadLatencies.push(performance.now() - t0);
      if (result.sha256 !== undefined && result.sha256 !== file.sha256) throw new Error(`${target.name}: sha256 ${file.name} на сервере не совпал`);
      return result;
    });
    const smallUploadSeconds = (performance.now() - started) / 1000;
    await target.settle?.(uploaded);

    const downloadLatencies: number[] = [];
    started = performance.now();
    // Размер проверяется у каждого файла; sha256 тоже у каждого — на 4 KiB это ничего не стоит.
    await runPool(uploaded.length, concurrency, async (i) => {
      const t0 = performance.now();
      const received = await client.download(target, uploaded[i]!.id);
      downloadLatencies.push(performance.now() - t0);
      if (received.size !== small[i]!.bytes.length || received.sha256 !== small[i]!.sha256) {
        throw new Error(`${target.name}: выданный ${small[i]!.name} отличается (${received.size} байт)`);
      }
    });
    const smallDownloadSeconds = (performance.now() - started) / 1000;

    const hwm = sampler.stop();
    return {
      name: target.name,
      bigUpload: { seconds: bigUploadSeconds },
      bigDownload: { seconds: bigDownloadSeconds },
      smallUpload: { seconds: smallUploadSeconds, latencies: uploadLatencies },
      smallDownload: { seconds: smallDownloadSeconds, latencies: downloadLatencies },
      rss: { idle: sampler.peak('idle'), bigUpload: sampler.peak('big-upload'), bigDownload: sampler.peak('big-download'), small: sampler.peak('small'), hwm },
    };
  } finally {
    sampler.stop();
    client.close();
  }
}

// ── Отчёт ───────────────────────────────────────────────────────────────────────────────────────
const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'н/д');
const mib = (bytes: number | undefined) => (bytes === undefined ? 'н/д' : `${fmt(bytes / MiB, 0)} MiB`);
const ratio = (artstore: number, baseline: number) => `${fmt(artstore / baseline, 2)}×`;

function rows(base: SuiteResult, art: SuiteResult): Row[] {
  const mibps = (seconds: number, bytes: number) => bytes / MiB / seconds;
  const filesps = (seconds: number) => smallCount / seconds;
  const bigLabel = `${bigSize / MiB} MiB`;
  const smallLabel = `${smallCount} × ${smallSize / 1024} KiB`;
  const latency = (values: number[]) => `${fmt(percentile(values, 50))} / ${fmt(percentile(values, 95))} мс`;
  const pair = (label: string, b: number, a: number, unit: string): Row => [label, `${fmt(b)} ${unit}`, `${fmt(a)} ${unit}`, ratio(a, b)];
  return [
    pair(`${bigLabel}: загрузка`, mibps(base.bigUpload.seconds, bigSize), mibps(art.bigUpload.seconds, bigSize), 'MiB/s'),
    pair(`${bigLabel}: выдача`, mibps(base.bigDownload.seconds, bigSize), mibps(art.bigDownload.seconds, bigSize), 'MiB/s'),
    pair(`${smallLabel}: загрузка`, filesps(base.smallUpload.seconds), filesps(art.smallUpload.seconds), 'файл/с'),
    [`  задержка p50 / p95`, latency(base.smallUpload.latencies), latency(art.smallUpload.latencies), '—'],
    pair(`${smallLabel}: выдача`, filesps(base.smallDownload.seconds), filesps(art.smallDownload.seconds), 'файл/с'),
    [`  задержка p50 / p95`, latency(base.smallDownload.latencies), latency(art.smallDownload.latencies), '—'],
    ['RSS сервера: после прогрева', mib(base.rss.idle), mib(art.rss.idle), '—'],
    [`RSS сервера: пик при загрузке ${bigLabel}`, mib(base.rss.bigUpload), mib(art.rss.bigUpload), '—'],
    [`RSS сервера: пик при выдаче ${bigLabel}`, mib(base.rss.bigDownload), mib(art.rss.bigDownload), '—'],
    ['RSS сервера: пик на мелких файлах', mib(base.rss.small), mib(art.rss.small), '—'],
    ['RSS сервера: VmHWM за весь прогон', mib(base.rss.hwm), mib(art.rss.hwm), '—'],
  ];
}

const HEADER: Row = ['Сценарий', 'Эталон (node:http)', 'ArtStore (шлюз)', 'Отношение'];

function resultsSection(table: Row[], totalSeconds: number): string {
  const m = machine();
  return `## transfer — загрузка и выдача через шлюз, встроенный режим

- Дата: ${m.date}
- Машина: ${m.cpus} CPU (nproc), ${m.cpuModel}, ${m.memory} ОЗУ, ${m.os}
- Node: ${m.node}
- Команда: \`${invocation('node --import tsx bench/transfer.ts')}\` (прогон занял ${fmt(totalSeconds, 0)} с)
- Параметры: большой файл ${bigSize / MiB} MiB (параллельность 1), ${smallCount} файлов по ${smallSize / 1024} KiB (параллельность ${concurrency}); сырая загрузка \`POST /api/files?name=…\`, выдача \`GET /api/files/{id}/content\`

${markdownTable(HEADER, table)}

### Как читать отношения

- **Отношение = ArtStore ÷ эталон** для пропускной способности (MiB/s, файл/с). 1,00× — ArtStore
  так же быстр, как голый сервер, который только пишет тело на диск с fsync и отдаёт файл с диска;
  0,50× — вдвое медленнее. Больше 1 почти не бывает: эталон — верхняя граница для этой машины.
- Эталон и ArtStore измерены **в одном прогоне одним и тем же клиентом** (node:http, keep-alive,
  одинаковая параллельность), поэтому отношение показывает цену серверной стороны — шлюз, ingester,
  SE, хеширование, attr-файл, запись в БД, индекс — и мало зависит от машины. Абсолютные MiB/s и
  файл/с зависят от диска и процессора и между машинами не сравниваются; сравнивайте отношения.
- Эталон делает меньше, чем ArtStore: один fsync на файл, без sha256, без attr-файла и без БД.
  Поэтому на мелких файлах, где цена — это число операций на файл, отношение заметно меньше 1 по
  самой природе хранилища; ориентир — не падать от прогона к прогону.
- Задержки p50/p95 — время одного запроса мелкого файла от начала до последнего байта ответа при
  параллельности ${concurrency}; они не входят в отношения и показаны для наглядности.
- **RSS** — резидентная память серверного процесса (/proc/<pid>/status): пик VmRSS по фазам
  (опрос раз в 100 мс) и VmHWM за всю жизнь процесса. Потоковая передача видна так: пик при
  загрузке и выдаче ${bigSize / MiB} MiB почти не больше RSS после прогрева — память не растёт с размером
  файла. Рост на сотни MiB означал бы, что файл где-то буферизуется целиком.
`;
}

// ── Прогон ──────────────────────────────────────────────────────────────────────────────────────
async function main(): Promise<void> {
  const startedAt = performance.now();
  const workDir = await mkdtemp(join(tmpdir(), 'artstore-bench-'));
  cleanups.push(() => rm(workDir, { recursive: true, force: true }));

  console.log(`bench transfer: ${bigSize / MiB} MiB ×1 и ${smallCount} × ${smallSize / 1024} KiB (параллельность ${concurrency})`);
  const bigSha256 = await payloadSha256(bigSize);
  const small = smallFiles(smallCount, smallSize, 'bench-small');
  const warmup = smallFiles(WARMUP_FILES, smallSize, 'bench-warmup');

  console.log('… эталон (node:http → диск)');
  const baselineServer = await startBaseline(workDir);
  const baseline = await runSuite(baselineServer.target, baselineServer.pid, bigSha256, small, warmup);
  await cleanups.pop()!(); // эталон больше не нужен: не мешает замеру ArtStore

  console.log('… ArtStore (artstore start all, встроенный режим)');
  const artStore = await startArtStore();
  if (artStore.pid === undefined) console.warn('  pid сервера ArtStore не найден — RSS будет «н/д»');
  else console.log(`  pid ${artStore.pid}, RSS после старта ${mib(readStatusBytes(artStore.pid, 'VmRSS'))}`);
  const art = await runSuite(artStore.target, artStore.pid, bigSha256, small, warmup);

  const table = rows(baseline, art);
  console.log(`\n${textTable(HEADER, table)}\n`);
  const totalSeconds = (performance.now() - startedAt) / 1000;
  if (isDefaultRun && !args['no-results']) {
    await updateResults('transfer', resultsSection(table, totalSeconds));
    console.log('Раздел «transfer» в bench/RESULTS.md обновлён.');
  } else {
    console.log('bench/RESULTS.md не изменён: параметры не по умолчанию или --no-results.');
  }
}

try {
  await main();
  await cleanup();
} catch (error) {
  console.error('bench transfer: ошибка —', error);
  await cleanup();
  process.exit(1);
}
