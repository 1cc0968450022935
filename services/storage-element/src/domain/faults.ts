// Точки внедрения сбоев записи SE (issue «Storage element»: kill -9 между rename данных и записью attr);
// механизм — общий createFaultInjector из core.
import { createFaultInjector as createInjector, type FaultInjector as Injector } from '@artstore/core';

const SE_FAULT_POINTS = [
  'se.after-wal-intent',
  'se.after-data-rename',
  'se.after-attr-write',
  'se.after-cache-upsert',
] as const;

export type FaultPoint = (typeof SE_FAULT_POINTS)[number];
export type FaultInjector = Injector<FaultPoint>;

export function createFaultInjector(
  spec: string | undefined,
  profile: 'embedded' | 'production',
): FaultInjector {
  return createInjector(SE_FAULT_POINTS, spec, profile);
}
