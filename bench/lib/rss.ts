// Память серверного процесса: VmRSS из /proc/<pid>/status каждые 100 мс с пиком по фазам и
// VmHWM (пик за всю жизнь процесса) в конце. /proc есть только в Linux — на других ОС цифры «н/д».
import { readdirSync, readFileSync } from 'node:fs';

const SAMPLE_MS = 100;

/** Значение поля /proc/<pid>/status в байтах (поля там в kB) или undefined. */
export function readStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * pid процесса, в командной строке которого есть `needle` (например, путь к его уникальному
 * конфигу во временном каталоге). Харнесс e2e не отдаёт pid наружу, а путь к конфигу уникален.
 */
export function findPidByArgument(needle: string): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(needle)) return Number(entry);
    } catch {
      // процесс успел завершиться
    }
  }
  return undefined;
}

export class RssSampler {
  private readonly peaks = new Map<string, number>();
  private phase = 'start';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pid: number | undefined) {}

  start(): void {
    if (this.pid === undefined) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
  }

  /** Начать новую фазу: её пик считается с текущего значения RSS. */
  enter(phase: string): void {
    this.phase = phase;
    this.sample();
  }

  peak(phase: string): number | undefined {
    return this.peaks.get(phase);
  }

  /** Останавливает опрос и возвращает VmHWM — вызывать до остановки сервера. */
  stop(): number | undefined {
    this.sample();
    clearInterval(this.timer);
    return this.pid === undefined ? undefined : readStatusBytes(this.pid, 'VmHWM');
  }

  private sample(): void {
    if (this.pid === undefined) return;
    const rss = readStatusBytes(this.pid, 'VmRSS');
    if (rss !== undefined) this.peaks.set(this.phase, Math.max(rss, this.peaks.get(this.phase) ?? 0));
  }
}

/** USER_HZ: единица utime/stime в /proc/<pid>/stat; на Linux x86-64 и arm64 — 100. */
const CLOCK_TICKS = 100;

/** Процессорное время процесса (все потоки: цикл событий, пул libuv, ядро) в секундах или undefined. */
export function readCpuSeconds(pid: number): { user: number; system: number } | undefined {
  try {
    // Имя команды (поле 2) может содержать пробелы и скобки — считаем поля после последней «)».
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}
