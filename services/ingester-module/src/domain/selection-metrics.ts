// Метрики выбора SE (SPEC IN-2, X-3): куда уходят новые файлы и почему SE их не получают.
import { Counter, type Registry } from 'prom-client';
import type { RefusalReason } from './se-selection.js';

export interface SelectionMetrics {
  /** SE выбран для попытки записи файла. */
  selected(storageElement: string): void;
  /** SE исключён из выбора или отказал на попытке. */
  refused(storageElement: string, reason: RefusalReason): void;
}

export function createSelectionMetrics(registry: Registry): SelectionMetrics {
  const registers = [registry];
  const selections = new Counter({
    name: 'artstore_ingester_se_selections_total',
    help: 'Попытки записи нового файла на SE (выбор SE, SPEC IN-2)',
    labelNames: ['storage_element'] as const,
    registers,
  });
  const refusals = new Counter({
    name: 'artstore_ingester_se_refusals_total',
    help: 'SE, исключённые из выбора или отказавшие в записи: permission, mode, circuit, room, unavailable',
    labelNames: ['storage_element', 'reason'] as const,
    registers,
  });
  return {
    selected: (storageElement) => selections.inc({ storage_element: storageElement }),
    refused: (storageElement, reason) => refusals.inc({ storage_element: storageElement, reason }),
  };
}
