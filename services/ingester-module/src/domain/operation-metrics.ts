// Бизнес-метрики ingester (SPEC X-3): исходы саг загрузки (IN-4), действия восстановления и операции над
// файлами через ingester (удаление IN-5, правка метаданных IN-8).
import { Counter, type Registry } from 'prom-client';

/** Конечный исход саги: completed — файл на SE и в аудите; compensated — файла нет; failed — решить нельзя. */
export type SagaOutcome = 'completed' | 'compensated' | 'failed';
/** Кто довёл сагу: сам экземпляр в запросе или восстановление после чужой смерти. */
export type SagaPath = 'inline' | 'recovery';

export interface OperationMetrics {
  sagaFinished(outcome: SagaOutcome, path: SagaPath): void;
  /** Операция над файлом: outcome — success или код ошибки каталога. */
  operation(operation: 'delete' | 'metadata_update', outcome: string): void;
}

export function createOperationMetrics(registry: Registry): OperationMetrics {
  const registers = [registry];
  const sagas = new Counter({
    name: 'artstore_ingester_upload_sagas_total',
    help: 'Завершённые саги загрузки по исходу и по тому, кто их довёл (SPEC IN-4)',
    labelNames: ['outcome', 'path'] as const,
    registers,
  });
  const operations = new Counter({
    name: 'artstore_ingester_operations_total',
    help: 'Операции над файлами через ingester (delete, metadata_update) по исходу: success или код ошибки',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  });
  return {
    sagaFinished: (outcome, path) => sagas.inc({ outcome, path }),
    operation: (operation, outcome) => operations.inc({ operation, outcome }),
  };
}
