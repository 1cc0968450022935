// Учёт места SE (SPEC SE-8): занятое считается один раз при старте, дальше ведётся в памяти;
// заявленный размер резервируется в начале загрузки, чтобы параллельные загрузки не «поделили»
// одно и то же свободное место. Пишет только мастер SE (SE-12), поэтому счётчик в процессе верен.
import { statfs } from 'node:fs/promises';
import { ArtError, formatSize } from '@artstore/core';

export interface Reservation {
  /**
   * Загрузка без заявленной длины (chunked — так ingester шлёт файлы из multipart): резерв растёт по
   * мере прихода байтов, total — сколько получено всего. Не влезает — INSUFFICIENT_STORAGE, и запись
   * обрывается, а не переполняет max_size (SPEC SE-8).
   */
  ensure(total: number): Promise<void>;
  /** Загрузка завершилась: actual байт стали занятыми, резерв снят. */
  commit(actual: number): void;
  /** Загрузка не удалась: резерв снят. */
  release(): void;
}

/** Шаг роста резерва для загрузок без длины: не statfs на каждый кусок тела. */
const GROW_STEP = 1024 * 1024;

export async function createCapacity(options: { elementId: string; maxBytes: number; basePath: string; usedBytes: () => Promise<number> }) {
  let used = await options.usedBytes();
  let reserved = 0;

  /** Сколько всего может занять загрузка, уже держащая held байт резерва; меньше total — 507. */
  async function available(total: number, held: number): Promise<number> {
    const fs = await statfs(options.basePath);
    // Всё ниже — синхронно после await: проверка и увеличение резерва не перемежаются с другими загрузками.
    const others = reserved - held;
    const diskFree = fs.bavail * fs.bsize - others;
    const limit = Math.max(0, Math.min(options.maxBytes - used - others, diskFree));
    if (total > limit) {
      throw new ArtError(
        'INSUFFICIENT_STORAGE',
        `На ${options.elementId} нет места: нужно ${formatSize(total)}, доступно ${formatSize(limit)} ` +
          `(занято ${formatSize(used)} из ${formatSize(options.maxBytes)}, в резерве ${formatSize(others)}, свободно на диске ${formatSize(Math.max(0, diskFree))})`,
        {
          extra: {
            element_id: options.elementId,
            required_bytes: total,
            available_bytes: limit,
            used_bytes: used,
            reserved_bytes: others,
            max_bytes: options.maxBytes,
            disk_free_bytes: Math.max(0, diskFree),
          },
        },
      );
    }
    return limit;
  }

  return {
    get used() {
      return used;
    },
    get reserved() {
      return reserved;
    },
    /** Байты удалённого файла стёрты (purge): место снова свободно. */
    free(bytes: number): void {
      used = Math.max(0, used - bytes);
    },
    async reserve(bytes: number): Promise<Reservation> {
      await available(bytes, 0);
      reserved += bytes;
      let held = bytes;
      let open = true;
      const close = () => {
        if (!open) return false;
        open = false;
        reserved -= held;
        return true;
      };
      return {
        async ensure(total) {
          if (!open || total <= held) return;
          const limit = await available(total, held);
          if (!open) return;
          const target = Math.min(limit, Math.max(total, held + GROW_STEP));
          reserved += target - held;
          held = target;
        },
        commit(actual) {
          if (close()) used += actual;
        },
        release() {
          close();
        },
      };
    },
  };
}
export type Capacity = Awaited<ReturnType<typeof createCapacity>>;
