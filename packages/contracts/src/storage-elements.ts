// Реестр элементов хранения (SPEC AD-7, §9 /api/storage-elements) и документ обнаружения (AD-8).
// Правила режима SE-7 — здесь, одни на всех: матрицу операций исполняет SE и учитывает ingester при выборе
// SE (IN-2); правило переходов исполняет SE, заранее проверяет admin-module, а UI показывает переходы.
import { ArtError, type DiscoveryCapacity, type SeHealth, type SeMode } from '@artstore/core';

export type {
  DiscoveryCapacity,
  DiscoveryDocument,
  DiscoveryElement,
  SeHealth,
  SeMode,
} from '@artstore/core';
export { SE_MODES, DISCOVERY_CHANNEL, DISCOVERY_KEY } from '@artstore/core';

/** Переходы через API (их ведёт admin-module): edit и выход из ar — только конфигурацией и перезапуском. */
const API_TRANSITIONS: Readonly<Record<SeMode, readonly SeMode[]>> = {
  edit: [],
  rw: ['ro'],
  ro: ['ar'],
  ar: [],
};

/** Операции с файлами на SE, которые разрешает или запрещает режим (SPEC SE-7). */
export type SeOperation = 'create' | 'read' | 'read_content' | 'update_metadata' | 'delete' | 'transfer_out';

/**
 * Матрица «режим × операция» (SPEC SE-7) — одна на всех: её исполняет SE, по ней ingester выбирает SE
 * для новых файлов (IN-2).
 */
const MODE_OPERATIONS: Readonly<Record<SeMode, ReadonlySet<SeOperation>>> = {
  // Перенос на другой SE (SPEC IN-6) файл не теряет — одна активная копия остаётся, поэтому rw его
  // разрешает, хотя удаление запрещает; приём переноса — та же операция create на целевом SE.
  edit: new Set(['create', 'read', 'read_content', 'update_metadata', 'delete', 'transfer_out']),
  rw: new Set(['create', 'read', 'read_content', 'update_metadata', 'transfer_out']),
  ro: new Set(['read', 'read_content']),
  // В архиве байты могут быть перенесены в холодное хранение: выдача — если они ещё здесь (FILE_ARCHIVED иначе).
  ar: new Set(['read', 'read_content']),
};

export function modeAllows(mode: SeMode, operation: SeOperation): boolean {
  return MODE_OPERATIONS[mode].has(operation);
}

export function allowedOperations(mode: SeMode): SeOperation[] {
  return [...MODE_OPERATIONS[mode]];
}

export function apiTransitionsFrom(mode: SeMode): readonly SeMode[] {
  return API_TRANSITIONS[mode];
}

export function assertApiTransition(from: SeMode, to: SeMode): void {
  if (!API_TRANSITIONS[from].includes(to)) {
    const reason =
      from === 'edit' || from === 'ar'
        ? `режим ${from} меняется только конфигурацией (storage.mode) и перезапуском`
        : `через API допустимы только rw→ro и ro→ar`;
    throw new ArtError('MODE_TRANSITION_FORBIDDEN', `Переход ${from}→${to} запрещён: ${reason}`, {
      extra: { from, to },
    });
  }
}

/** Элемент хранения в ответах GET/POST/PATCH /api/storage-elements. */
export interface StorageElementView {
  id: string;
  name: string;
  url: string;
  priority: number;
  /** api — заведён через API; config — объявлен в storage_elements конфигурации admin-module (BY-7). */
  managed_by: 'api' | 'config';
  /** Режим по последнему опросу; null — SE ещё не ответил. */
  mode: SeMode | null;
  /** storage.mode в конфигурации SE: к нему SE вернётся после смены конфигурации и перезапуска. */
  configured_mode: SeMode | null;
  /** Срок хранения новых файлов на SE (storage.retention: permanent, 7y, 90d); null — SE ещё не ответил. */
  retention: string | null;
  /** Переходы, которые можно заказать через POST /api/storage-elements/{id}/mode. */
  allowed_transitions: readonly SeMode[];
  health: SeHealth;
  /** Почему degraded или down. */
  health_error: string | null;
  capacity: DiscoveryCapacity | null;
  last_polled_at: string | null;
  /** Последний опрос, на который SE ответил готовностью. */
  last_seen_at: string | null;
  created_at: string;
  updated_at: string;
}
