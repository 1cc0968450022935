// Место на файловой системе SE (SPEC SE-8, BY-5) без statfs на каждую загрузку: снимок statfs живёт
// не дольше SNAPSHOT_TTL_MS, а байты, сохранённые после снимка, вычитаются из него в памяти — старый
// снимок не «обещает» уже занятое. Резервы идущих загрузок учитывает capacity.ts. Ошибка возможна
// только в осторожную сторону: байты, попавшие и в снимок, и в учёт, считаются дважды.
import { statfs as nodeStatfs } from 'node:fs/promises';

export const SNAPSHOT_TTL_MS = 1000;

export type StatfsFn = (
  path: string,
) => Promise<{ bsize: number; blocks: number; bfree: number; bavail: number }>;

export interface DiskReading {
  /** Доступно процессу (bavail) за вычетом сохранённого после снимка. */
  availableBytes: number;
  /** Заполнение в %, как у df: занято / (занято + доступно). */
  usedPercent: number;
}

export function createDiskSpace(options: { path: string; statfs?: StatfsFn; now?: () => number }) {
  const statfs = options.statfs ?? nodeStatfs;
  const now = options.now ?? Date.now;
  let snapshot: { at: number; used: number; available: number } | null = null;
  /** Сохранено после снимка (commit загрузок). */
  let consumed = 0;
  let pending: Promise<void> | null = null;

  function take(): Promise<void> {
    // Параллельные загрузки с устаревшим снимком ждут один statfs, а не делают каждая свой.
    pending ??= (async () => {
      const before = consumed;
      try {
        const fs = await statfs(options.path);
        snapshot = { at: now(), used: (fs.blocks - fs.bfree) * fs.bsize, available: fs.bavail * fs.bsize };
        // Сохранённое во время statfs могло в снимок не попасть — остаётся в учёте.
        consumed -= before;
      } finally {
        pending = null;
      }
    })();
    return pending;
  }

  function reading(): DiskReading | null {
    if (snapshot === null) return null;
    const available = Math.max(0, snapshot.available - consumed);
    const used = snapshot.used + consumed;
    return {
      availableBytes: available,
      usedPercent: used + available === 0 ? 100 : (used / (used + available)) * 100,
    };
  }

  return {
    /** Снимок не старше SNAPSHOT_TTL_MS; fresh — statfs обязательно (перед отказом загрузке). */
    async read(fresh = false): Promise<DiskReading> {
      if (fresh || snapshot === null || now() - snapshot.at > SNAPSHOT_TTL_MS) await take();
      return reading()!;
    },
    /** Последний снимок без statfs (метрики, тревога); null — снимка ещё не было. */
    get last(): DiskReading | null {
      return reading();
    },
    /** Загрузка сохранена: её байты заняли диск после снимка. */
    consume(bytes: number): void {
      consumed += bytes;
    },
    /** Картина диска неизвестна (загрузка сорвалась, возможно ENOSPC, временный файл удалён): следующий read — statfs. */
    invalidate(): void {
      if (snapshot !== null) snapshot = { ...snapshot, at: -Infinity };
    },
  };
}
export type DiskSpace = ReturnType<typeof createDiskSpace>;
