// Внедрение сбоев для тестов устойчивости (kill -9 между шагами записи SE, саги и переноса ingester).
// Спецификация — `точка:kill@n[,…]` в ARTSTORE_TEST_FAULTS: на n-м проходе точки процесс убивает себя
// SIGKILL — ровно то, что делает оператор или OOM-killer. Одна переменная на все сервисы процесса
// (`artstore start all`): каждый сервис берёт точки со своим префиксом и не трогает чужие.
import { ArtError } from './errors.js';

export interface FaultInjector<P extends string> {
  hit(point: P): void;
  /** Точка запланирована: только тогда стоит встраивать в путь данных то, что её отслеживает. */
  armed(point: P): boolean;
}

export function createFaultInjector<P extends string>(
  points: readonly P[],
  spec: string | undefined,
  profile: 'embedded' | 'production',
): FaultInjector<P> {
  if (spec === undefined || spec.trim() === '') return { hit() {}, armed: () => false };
  if (profile === 'production')
    throw new ArtError('CONFIG_INVALID', 'ARTSTORE_TEST_FAULTS недопустим в профиле production');
  const known = new Set<string>(points);
  const prefixes = new Set(points.map((point) => point.slice(0, point.indexOf('.') + 1)));
  const plan = new Map<string, number>();
  for (const item of spec.split(',')) {
    const match = /^([a-z.-]+):kill@(\d+)$/.exec(item.trim());
    const point = match?.[1];
    if (point !== undefined && !known.has(point) && ![...prefixes].some((prefix) => point.startsWith(prefix)))
      continue;
    if (!match || !known.has(point!)) {
      throw new ArtError(
        'CONFIG_INVALID',
        `ARTSTORE_TEST_FAULTS: «${item}» — ожидается <точка>:kill@<n>, точки: ${points.join(', ')}`,
      );
    }
    plan.set(point!, Number(match[2]));
  }
  const hits = new Map<string, number>();
  return {
    armed: (point) => plan.has(point),
    hit(point) {
      const target = plan.get(point);
      if (target === undefined) return;
      const count = (hits.get(point) ?? 0) + 1;
      hits.set(point, count);
      if (count === target) process.kill(process.pid, 'SIGKILL');
    },
  };
}
