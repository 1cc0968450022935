// Режимы SE и правила (SPEC SE-7). Матрица «режим × операция» — единственное место, где решается,
// что можно; отказ всегда называет режим и операцию.
import { ArtError } from '@artstore/core';

export type Mode = 'edit' | 'rw' | 'ro' | 'ar';
export type Operation = 'create' | 'read' | 'read_content' | 'update_metadata' | 'delete';

const MATRIX: Record<Mode, ReadonlySet<Operation>> = {
  edit: new Set(['create', 'read', 'read_content', 'update_metadata', 'delete']),
  rw: new Set(['create', 'read', 'read_content', 'update_metadata']),
  ro: new Set(['read', 'read_content']),
  // В архиве байты могут быть перенесены в холодное хранение: выдача — если они ещё здесь (FILE_ARCHIVED иначе).
  ar: new Set(['read', 'read_content']),
};

/** Переходы через API (их ведёт admin-module, SPEC AD-7); edit и ar меняются только конфигурацией. */
const API_TRANSITIONS: ReadonlySet<string> = new Set(['rw->ro', 'ro->ar']);

export function allowedOperations(mode: Mode): Operation[] {
  return [...MATRIX[mode]];
}

export function assertOperationAllowed(elementId: string, mode: Mode, operation: Operation): void {
  if (!MATRIX[mode].has(operation)) {
    throw new ArtError('MODE_FORBIDS_OPERATION', `Элемент хранения ${elementId} в режиме ${mode}: операция ${operation} запрещена`, {
      extra: { element_id: elementId, mode, operation },
    });
  }
}

export function assertApiTransition(from: Mode, to: Mode): void {
  if (!API_TRANSITIONS.has(`${from}->${to}`)) {
    const reason =
      from === 'edit' || from === 'ar'
        ? `режим ${from} меняется только конфигурацией (storage.mode) и перезапуском`
        : `через API допустимы только rw→ro и ro→ar`;
    throw new ArtError('MODE_TRANSITION_FORBIDDEN', `Переход ${from}→${to} запрещён: ${reason}`, { extra: { from, to } });
  }
}
