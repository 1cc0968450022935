// Вывод бенчмарков: таблица в stdout и раздел в bench/RESULTS.md (заменяется при каждом прогоне;
// прежние цифры остаются в истории git).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export const RESULTS_FILE = fileURLToPath(new URL('../RESULTS.md', import.meta.url));

export interface Machine {
  date: string;
  cpus: number;
  cpuModel: string;
  memory: string;
  os: string;
  node: string;
}

export function machine(): Machine {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'неизвестно',
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

/** Команда, которой запущен прогон: лаунчер передаёт её в BENCH_INVOCATION. */
export function invocation(fallback: string): string {
  return process.env.BENCH_INVOCATION ?? fallback;
}

export type Row = string[];

/** Таблица для терминала: колонки выровнены, первая — по левому краю, прочие — по правому. */
export function textTable(header: Row, rows: Row[]): string {
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? '').length)));
  const line = (r: Row) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable(header: Row, rows: Row[]): string {
  // Ведущие пробелы (подстрока таблицы) Markdown съедает — там они становятся стрелкой.
  const line = (r: Row) => `| ${r.map((cell) => cell.replace(/^ +/, '↳ ')).join(' | ')} |`;
  return [line(header), `|${header.map((_, i) => (i === 0 ? ' :--- ' : ' ---: ')).join('|')}|`, ...rows.map(line)].join('\n');
}

const PREAMBLE = `# Результаты бенчмарков ArtStore

Запуск: \`npm run bench\` (все бенчмарки) или \`npm run bench -- <имя>\`. Каждый прогон заменяет
раздел своего бенчмарка ниже; прежние цифры — в истории git.
`;

/** Заменить раздел `name` (между маркерами) или дописать его в конец; шапку создать, если файла нет. */
export async function updateResults(name: string, body: string): Promise<void> {
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${begin}\n${body.trim()}\n${end}`;
  const current = existsSync(RESULTS_FILE) ? await readFile(RESULTS_FILE, 'utf8') : PREAMBLE;
  const from = current.indexOf(begin);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? `${current.slice(0, from)}${section}${current.slice(to + end.length)}`
      : `${current.trimEnd()}\n\n${section}\n`;
  await writeFile(RESULTS_FILE, next);
}

/**
 * Обновляет раздел RESULTS.md, только если прогон с параметрами по умолчанию: цифры пробных прогонов
 * (другие размеры, число раундов) не должны подменять опубликованные.
 */
export async function publishResults(name: string, publish: boolean, section: () => string): Promise<void> {
  if (publish) {
    await updateResults(name, section());
    console.log(`Раздел «${name}» в bench/RESULTS.md обновлён.`);
  } else {
    console.log('bench/RESULTS.md не изменён: параметры не по умолчанию или --no-results.');
  }
}

/** Запуск бенчмарка: очистка выполняется всегда, ошибка — код выхода 1. */
export async function runBenchmark(name: string, main: () => Promise<void>, cleanup: { run(): Promise<void> }): Promise<void> {
  try {
    await main();
    await cleanup.run();
  } catch (error) {
    console.error(`bench ${name}: ошибка —`, error);
    await cleanup.run();
    process.exit(1);
  }
}
