// Учёт места SE (SPEC SE-8): занятое считается один раз при старте, дальше ведётся в памяти;
// заявленный размер резервируется в начале загрузки, чтобы параллельные загрузки не «поделили»
// одно и то же свободное место. Пишет только мастер SE (SE-12), поэтому счётчик в процессе верен.
// Защита от переполнения диска (BY-5): запас headroom на ФС загрузкам недоступен — его тратят WAL и
// attr-файлы правок и удалений, так что заполненный SE не портит метаданные. Заполнение выше порогов —
// тревога (capacity-alarm.ts).
import { ArtError, formatSize, type Logger } from '@artstore/core';
import type { CapacityStatus } from '@artstore/contracts';
import { createCapacityAlarm, type Usage } from './capacity-alarm.js';
import { createDiskSpace, type DiskReading, type StatfsFn } from './disk-space.js';

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

export interface CapacityOptions {
  elementId: string;
  maxBytes: number;
  /** Где мерить место ФС (statfs); null — у хранилища нет осмысленного statfs (S3): действует только max_size. */
  diskPath: string | null;
  /** Запас ФС для WAL и attr (BY-5), недоступный загрузкам; без diskPath не действует. По умолчанию 0. */
  headroomBytes?: number;
  /** Тревоги заполнения (SPEC SE-9): пороги в % по возрастанию и журнал для событий capacity_alarm. */
  alarms?: { thresholds: readonly number[]; logger: Logger };
  usedBytes: () => Promise<number>;
  /** Подмена statfs и часов — для модульных тестов. */
  statfs?: StatfsFn;
  now?: () => number;
}

/** Шаг роста резерва для загрузок без длины: не пересчёт на каждый кусок тела. */
const GROW_STEP = 1024 * 1024;

export async function createCapacity(options: CapacityOptions) {
  let used = await options.usedBytes();
  let reserved = 0;
  const disk =
    options.diskPath === null
      ? null
      : createDiskSpace({ path: options.diskPath, statfs: options.statfs, now: options.now });
  const headroom = disk === null ? 0 : (options.headroomBytes ?? 0);
  const thresholds = options.alarms?.thresholds ?? [];
  const alarm = options.alarms && createCapacityAlarm({ elementId: options.elementId, ...options.alarms });

  function usage(): Usage {
    const bySize = options.maxBytes > 0 ? (used / options.maxBytes) * 100 : 100;
    const byDisk = disk?.last?.usedPercent ?? 0;
    return byDisk > bySize ? { percent: byDisk, source: 'disk' } : { percent: bySize, source: 'max_size' };
  }

  /** После каждого изменения занятого или нового снимка диска: тревога сама решает, было ли пересечение. */
  function observe(): void {
    alarm?.update(usage(), {
      used_bytes: used,
      max_bytes: options.maxBytes,
      disk_free_bytes: disk?.last?.availableBytes ?? null,
    });
  }

  /** Пределы для загрузки, держащей held байт резерва. */
  function limits(reading: DiskReading | null, held: number) {
    const others = reserved - held;
    const bySize = options.maxBytes - used - others;
    const diskFree = reading === null ? null : reading.availableBytes - others;
    const byDisk = diskFree === null ? Infinity : diskFree - headroom;
    return {
      others,
      diskFree,
      limit: Math.max(0, Math.min(bySize, byDisk)),
      headroomBinds: headroom > 0 && byDisk < bySize,
    };
  }

  function insufficient(total: number, figures: ReturnType<typeof limits>): ArtError {
    const { others, diskFree, limit } = figures;
    const need = `нужно ${formatSize(total)}, доступно ${formatSize(limit)}`;
    const account = `занято ${formatSize(used)} из ${formatSize(options.maxBytes)}, в резерве ${formatSize(others)}`;
    const free = formatSize(Math.max(0, diskFree ?? 0));
    const message = figures.headroomBinds
      ? `На ${options.elementId} нет места для загрузки: на диске свободно ${free}, из них ${formatSize(headroom)} — ` +
        `запас для WAL и attr (storage.capacity.headroom), загрузкам недоступный; правки и удаления продолжают ` +
        `работать; ${need} (${account})`
      : `На ${options.elementId} нет места: ${need} (${account}${diskFree === null ? '' : `, свободно на диске ${free}`})`;
    return new ArtError('INSUFFICIENT_STORAGE', message, {
      extra: {
        element_id: options.elementId,
        required_bytes: total,
        available_bytes: limit,
        used_bytes: used,
        reserved_bytes: others,
        max_bytes: options.maxBytes,
        disk_free_bytes: diskFree === null ? null : Math.max(0, diskFree),
        headroom_bytes: headroom,
      },
    });
  }

  /** Сколько всего может занять загрузка, уже держащая held байт резерва; меньше total — 507. */
  async function available(total: number, held: number): Promise<number> {
    let reading = disk && (await disk.read());
    // Отказ — только по свежему statfs: место могли освободить после снимка.
    if (disk && total > limits(reading, held).limit) reading = await disk.read(true);
    // Всё ниже — синхронно после await: проверка и увеличение резерва не перемежаются с другими загрузками.
    observe();
    const figures = limits(reading, held);
    if (total > figures.limit) throw insufficient(total, figures);
    return figures.limit;
  }

  if (disk) await disk.read();
  observe();

  return {
    get used() {
      return used;
    },
    get reserved() {
      return reserved;
    },
    get alarmLevel() {
      return alarm?.level ?? 0;
    },
    /** Свободно на ФС по последнему снимку; null — statfs нет (S3). */
    get diskFreeBytes(): number | null {
      return disk?.last?.availableBytes ?? null;
    },
    /** Пересчёт занятого по кешу: узел стал мастером, а писал до него другой (SPEC SE-12). */
    async recount(): Promise<void> {
      used = await options.usedBytes();
      observe();
    },
    /** Байты удалённого файла стёрты (purge): место снова свободно. */
    free(bytes: number): void {
      used = Math.max(0, used - bytes);
      observe();
    },
    /** Цифры места и уровень тревоги (GET /api/capacity, периодическая проверка). */
    async status(): Promise<CapacityStatus> {
      const reading = disk && (await disk.read());
      observe();
      return {
        element_id: options.elementId,
        used_bytes: used,
        reserved_bytes: reserved,
        max_bytes: options.maxBytes,
        disk_free_bytes: reading?.availableBytes ?? null,
        disk_used_percent: reading?.usedPercent ?? null,
        headroom_bytes: headroom,
        available_bytes: limits(reading, 0).limit,
        usage_percent: Math.round(usage().percent * 100) / 100,
        alarm_level: alarm?.level ?? 0,
        alarm_thresholds: [...thresholds],
      };
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
          if (!close()) return;
          used += actual;
          disk?.consume(actual);
          observe();
        },
        release() {
          if (close()) disk?.invalidate();
        },
      };
    },
  };
}
export type Capacity = Awaited<ReturnType<typeof createCapacity>>;
