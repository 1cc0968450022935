// Учёт места SE (SPEC SE-8): занятое считается один раз при старте, дальше ведётся в памяти;
// заявленный размер резервируется в начале загрузки, чтобы параллельные загрузки не «поделили»
// одно и то же свободное место. Пишет только мастер SE (SE-12), поэтому счётчик в процессе верен.
import { statfs } from 'node:fs/promises';
import { ArtError, formatSize } from '@artstore/core';

export interface Reservation {
  /** Загрузка завершилась: actual байт стали занятыми, резерв снят. */
  commit(actual: number): void;
  /** Загрузка не удалась: резерв снят. */
  release(): void;
}

export async function createCapacity(options: { elementId: string; maxBytes: number; basePath: string; usedBytes: () => Promise<number> }) {
  let used = await options.usedBytes();
  let reserved = 0;

  return {
    get used() {
      return used;
    },
    async reserve(bytes: number): Promise<Reservation> {
      const fs = await statfs(options.basePath);
      const diskFree = fs.bavail * fs.bsize - reserved;
      const available = Math.max(0, Math.min(options.maxBytes - used - reserved, diskFree));
      if (bytes > available) {
        throw new ArtError(
          'INSUFFICIENT_STORAGE',
          `На ${options.elementId} нет места: нужно ${formatSize(bytes)}, доступно ${formatSize(available)} ` +
            `(занято ${formatSize(used)} из ${formatSize(options.maxBytes)}, в резерве ${formatSize(reserved)}, свободно на диске ${formatSize(Math.max(0, diskFree))})`,
          {
            extra: {
              element_id: options.elementId,
              required_bytes: bytes,
              available_bytes: available,
              used_bytes: used,
              reserved_bytes: reserved,
              max_bytes: options.maxBytes,
              disk_free_bytes: Math.max(0, diskFree),
            },
          },
        );
      }
      reserved += bytes;
      let open = true;
      const close = () => {
        if (!open) return false;
        open = false;
        reserved -= bytes;
        return true;
      };
      return {
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
