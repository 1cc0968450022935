// Режимы SE и правила (SPEC SE-7): SE исполняет общую матрицу «режим × операция» из
// @artstore/contracts; отказ всегда называет режим и операцию.
import { modeAllows, type SeOperation } from '@artstore/contracts';
import { ArtError, type SeMode } from '@artstore/core';

// Матрица и правило переходов — общие с ingester, admin-module и UI (SPEC IN-2, AD-7): они в @artstore/contracts.
export { allowedOperations, assertApiTransition } from '@artstore/contracts';
export type Mode = SeMode;
export type Operation = SeOperation;

export function assertOperationAllowed(elementId: string, mode: Mode, operation: Operation): void {
  if (!modeAllows(mode, operation)) {
    throw new ArtError('MODE_FORBIDS_OPERATION', `Элемент хранения ${elementId} в режиме ${mode}: операция ${operation} запрещена`, {
      extra: { element_id: elementId, mode, operation },
    });
  }
}
