// Внедрение сбоев для тестов устойчивости (issue «Storage element»: kill -9 между rename данных и
// записью attr). Спецификация — `точка:действие@n[,…]`: на n-м проходе точки процесс делает действие.
// Единственное действие — kill (SIGKILL себе): ровно то, что делает оператор или OOM-killer.
import { ArtError } from '@artstore/core';

export type FaultPoint = 'se.after-wal-intent' | 'se.after-data-rename' | 'se.after-attr-write' | 'se.after-cache-upsert';

const POINTS = new Set<string>(['se.after-wal-intent', 'se.after-data-rename', 'se.after-attr-write', 'se.after-cache-upsert']);

export interface FaultInjector {
  hit(point: FaultPoint): void;
}

export function createFaultInjector(spec: string | undefined, profile: 'embedded' | 'production'): FaultInjector {
  if (spec === undefined || spec.trim() === '') return { hit() {} };
  if (profile === 'production') throw new ArtError('CONFIG_INVALID', 'ARTSTORE_TEST_FAULTS недопустим в профиле production');
  const plan = new Map<string, number>();
  for (const item of spec.split(',')) {
    const match = /^([a-z.-]+):kill@(\d+)$/.exec(item.trim());
    if (!match || !POINTS.has(match[1]!)) {
      throw new ArtError('CONFIG_INVALID', `ARTSTORE_TEST_FAULTS: «${item}» — ожидается <точка>:kill@<n>, точки: ${[...POINTS].join(', ')}`);
    }
    plan.set(match[1]!, Number(match[2]));
  }
  const hits = new Map<string, number>();
  return {
    hit(point) {
      const target = plan.get(point);
      if (target === undefined) return;
      const count = (hits.get(point) ?? 0) + 1;
      hits.set(point, count);
      if (count === target) process.kill(process.pid, 'SIGKILL');
    },
  };
}
