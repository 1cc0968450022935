// Точки внедрения сбоев ingester (ARTSTORE_TEST_FAULTS, механизм — createFaultInjector из core):
// kill -9 между шагами саги загрузки (SPEC IN-4) и двухфазного переноса (SPEC IN-6) в тестах устойчивости.
import { createFaultInjector as createInjector, type FaultInjector as Injector } from '@artstore/core';

const INGESTER_FAULT_POINTS = [
  'ingester.saga.after-reserve',
  'ingester.saga.mid-transfer',
  'ingester.saga.after-store',
  'ingester.transfer.after-prepare-logged',
  'ingester.transfer.after-prepare',
  'ingester.transfer.after-commit-decision',
  'ingester.transfer.after-target-commit',
] as const;

export type IngesterFaultPoint = (typeof INGESTER_FAULT_POINTS)[number];
export type IngesterFaults = Injector<IngesterFaultPoint>;

export function createIngesterFaults(
  spec: string | undefined,
  profile: 'embedded' | 'production',
): IngesterFaults {
  return createInjector(INGESTER_FAULT_POINTS, spec, profile);
}
