// Режимы SE и правила (SPEC SE-7). Матрица «режим × операция» — единственное место, где решается,
// что можно; отказ всегда называет режим и операцию.
import { ArtError, type SeMode } from '@artstore/core';

// Правило переходов — общее с admin-module и UI (SPEC AD-7): оно в @artstore/contracts.
export { assertApiTransition } from '@artstore/contracts';
export type Mode = SeMode;
export type Operation = 'create' | 'read' | 'read_content' | 'update_metadata' | 'delete';

const MATRIX: Record<Mode, ReadonlySet<Operation>> = {
  edit: new Set(['create', 'read', 'read_content', 'update_metadata', 'delete']),
  rw: new Set(['create', 'read', 'read_content', 'update_metadata']),
  ro: new Set(['read', 'read_content']),
  // В архиве байты могут быть перенесены в холодное хранение: выдача — если они ещё здесь (FILE_ARCHIVED иначе).
  ar: new Set(['read', 'read_content']),
};

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
