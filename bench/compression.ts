// Бенчмарк выбора уровня сжатия на лету (SPEC IN-3): потоковое сжатие 64 MiB текста (строки журнала
// в JSON — типичный сжимаемый файл) brotli и gzip на разных уровнях; скорость в MiB/s, доля от
// эталона (поток того же текста через sha256 — то, что SE делает с каждым файлом и так) и степень
// сжатия. По нему выбраны умолчания ingester.compression (DEFAULT_ENCODING_LEVELS): br 1 — быстрее линии
// 1 GbE на одно ядро, а br 3–4 вдвое-втрое медленнее при выигрыше в сжатии ≤ 10 %; gzip 4 — если выбран gzip.
// Запуск: npm run bench -- compression [--mib N] [--no-results]
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { constants, createBrotliCompress, createGzip } from 'node:zlib';
import { invocation, machine, markdownTable, publishResults, textTable, type Row } from './lib/report.js';

const DEFAULT_MIB = '64';
const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: DEFAULT_MIB },
    'no-results': { type: 'boolean', default: false },
  },
});
const size = Number(values.mib) * 2 ** 20;

/** Детерминированный текст: один и тот же вход в каждом прогоне. */
function corpus(bytes: number): Buffer {
  const words =
    'архив документ storage element ingester file record sha256 отчёт проверка партия склад'.split(' ');
  // mulberry32: у простого LCG младшие биты с коротким периодом — текст зацикливается, и brotli сжимает его в сотни раз.
  let seed = 42;
  const next = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
  const lines: string[] = [];
  let total = 0;
  while (total < bytes) {
    const msg = Array.from({ length: 8 }, () => words[next(words.length)]).join(' ');
    const line = `${JSON.stringify({ ts: 1.7e12 + next(1e9), level: ['info', 'warn', 'error'][next(3)], req: next(1e9).toString(16), msg, n: next(1e6) })}\n`;
    lines.push(line);
    total += Buffer.byteLength(line);
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

async function run(transform: () => NodeJS.ReadWriteStream | null): Promise<{ mibs: number; out: number }> {
  const input = corpus(size);
  let out = 0;
  const chunks = function* () {
    for (let offset = 0; offset < input.length; offset += 64 * 1024)
      yield input.subarray(offset, offset + 64 * 1024);
  };
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out += chunk.length;
      callback();
    },
  });
  const started = performance.now();
  const stage = transform();
  if (stage === null) {
    const hash = createHash('sha256');
    for (const chunk of chunks()) hash.update(chunk);
    hash.digest();
    out = input.length;
  } else {
    await pipeline(Readable.from(chunks()), stage, sink);
  }
  return { mibs: input.length / 2 ** 20 / ((performance.now() - started) / 1000), out };
}

const cases: Array<[string, () => NodeJS.ReadWriteStream | null]> = [
  ['sha256 (эталон)', () => null],
  ...[1, 3, 4, 5, 6].map((q): [string, () => NodeJS.ReadWriteStream] => [
    `br q${q}`,
    () =>
      createBrotliCompress({
        params: { [constants.BROTLI_PARAM_QUALITY]: q, [constants.BROTLI_PARAM_SIZE_HINT]: size },
      }),
  ]),
  ...[1, 4, 6].map((level): [string, () => NodeJS.ReadWriteStream] => [
    `gzip ${level}`,
    () => createGzip({ level }),
  ]),
];

let baseline = 0;
console.log(`вход: ${size / 2 ** 20} MiB текста (JSON-строки журнала)`);
const rows: Row[] = [];
for (const [name, make] of cases) {
  const { mibs, out } = await run(make);
  if (baseline === 0) baseline = mibs;
  rows.push([name, `${mibs.toFixed(1)} MiB/s`, `${(mibs / baseline).toFixed(3)}×`, (out / size).toFixed(3)]);
}
const HEADER: Row = ['Кодировка', 'Скорость (одно ядро)', 'Доля от sha256', 'Сжатый / исходный'];
console.log(`\n${textTable(HEADER, rows)}\n`);
const m = machine();
await publishResults(
  'compression',
  values.mib === DEFAULT_MIB && !values['no-results'],
  () => `## compression — скорость сжатия на лету (выбор умолчаний ingester.compression)

- Дата: ${m.date}; машина: ${m.cpus} CPU, ${m.cpuModel}; Node ${m.node}
- Команда: \`${invocation('node --import tsx bench/compression.ts')}\`
- Вход: ${size / 2 ** 20} MiB JSON-строк журнала, поток кусками по 64 KiB; эталон — sha256 того же потока
  (SE считает его для каждого файла и так)

${markdownTable(HEADER, rows)}

Умолчание — brotli 1: на одном ядре быстрее линии 1 GbE, а более высокие уровни дают ≤ 10 % выигрыша в
сжатии ценой двух-трёхкратного замедления записи.
`,
);
