// Документ обнаружения элементов хранения (SPEC AD-7, AD-8): его публикует лидер admin-module, читают
// ingester и query. Тип живёт в core, потому что клиент обнаружения — в core, а core не импортирует
// другие пакеты; @artstore/contracts переэкспортирует его для UI, CLI и SDK.

/** Режимы SE (SPEC SE-7). */
export const SE_MODES = ['edit', 'rw', 'ro', 'ar'] as const;
export type SeMode = (typeof SE_MODES)[number];

/** Здоровье SE по последнему опросу; unknown — ещё не опрошен (или список из статической конфигурации). */
export const SE_HEALTH = ['unknown', 'up', 'degraded', 'down'] as const;
export type SeHealth = (typeof SE_HEALTH)[number];

/** Место SE по последнему опросу (подмножество GET /api/capacity, SPEC SE-8). */
export interface DiscoveryCapacity {
  max_bytes: number;
  used_bytes: number;
  available_bytes: number;
  usage_percent: number;
  alarm_level: number;
}

export interface DiscoveryElement {
  id: string;
  name: string;
  url: string;
  /** Меньше — предпочтительнее (SPEC IN-2). */
  priority: number;
  mode: SeMode | null;
  health: SeHealth;
  capacity: DiscoveryCapacity | null;
}

export interface DiscoveryDocument {
  /** Строго растёт с каждым значимым изменением реестра (счётчик в БД admin-module). 0 — статическая конфигурация. */
  version: number;
  published_at: string;
  storage_elements: DiscoveryElement[];
}

/** Ключ координации с документом и канал уведомлений о новой версии (SPEC AD-8). */
export const DISCOVERY_KEY = 'discovery:storage-elements';
export const DISCOVERY_CHANNEL = 'discovery:storage-elements';

/** Статически известный SE (секция storage_elements конфигурации). */
export interface StaticElementRef {
  id: string;
  url: string;
  priority: number;
}

/** Документ из статической конфигурации: версия 0 — любой опубликованный документ новее. */
export function staticDocument(refs: readonly StaticElementRef[]): DiscoveryDocument {
  return {
    version: 0,
    published_at: new Date(0).toISOString(),
    storage_elements: refs.map((ref) => ({
      id: ref.id,
      name: ref.id,
      url: ref.url,
      priority: ref.priority,
      mode: null,
      health: 'unknown',
      capacity: null,
    })),
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function isElement(value: unknown): value is DiscoveryElement {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    typeof value.name === 'string' &&
    typeof value.url === 'string' &&
    Number.isInteger(value.priority) &&
    (value.mode === null || (SE_MODES as readonly unknown[]).includes(value.mode)) &&
    (SE_HEALTH as readonly unknown[]).includes(value.health) &&
    (value.capacity === null || isRecord(value.capacity))
  );
}

/**
 * Разбор документа из координации или файла. Чужой или повреждённый текст — undefined: клиент
 * не должен заменить рабочий список мусором.
 */
export function parseDiscoveryDocument(text: string): DiscoveryDocument | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (
    !isRecord(value) ||
    !Number.isSafeInteger(value.version) ||
    (value.version as number) < 1 ||
    typeof value.published_at !== 'string' ||
    !Array.isArray(value.storage_elements) ||
    !value.storage_elements.every(isElement)
  ) {
    return undefined;
  }
  return value as unknown as DiscoveryDocument;
}
