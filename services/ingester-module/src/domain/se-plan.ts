// План записи нового файла (SPEC IN-2): по какому списку SE идти и почему остальные исключены. Общий для
// POST /api/files (uploader.ts) и создания загрузки tus (tus-uploads.ts): выбор SE обязан быть одинаковым.
import {
  allowedElements,
  requirePermission,
  type DiscoveryElement,
  type Principal,
  type ServiceClient,
} from '@artstore/core';
import {
  explicitRefusalError,
  findElement,
  rankCandidates,
  stateRefusal,
  type Refusal,
} from './se-selection.js';
import type { SelectionMetrics } from './selection-metrics.js';

export type SeTarget = DiscoveryElement & { client: ServiceClient };

export interface SePlan<T extends SeTarget = SeTarget> {
  candidates: T[];
  /** Исключённые SE с причинами — для ошибки, если не примет никто. */
  refusals: Map<string, Refusal>;
  explicit: boolean;
}

export interface SePlanRequest {
  principal: Principal;
  /** SE, названный вызывающим (поле storage_element). */
  storageElement?: string;
}

export function planTargets<T extends SeTarget>(
  known: readonly T[],
  request: SePlanRequest,
  requiredBytes: number,
  metrics: SelectionMetrics,
): SePlan<T> {
  if (request.storageElement !== undefined) {
    // Явный выбор — только если вызывающему можно писать на этот SE и он примет файл (SPEC IN-2, AD-5);
    // иначе ясная ошибка с причиной, а не другой SE. Автомат защиты проверит клиент: CIRCUIT_OPEN с Retry-After.
    const target = findElement(known, request.storageElement);
    requirePermission(request.principal, 'files:write', { se: target.id });
    const refusal = stateRefusal(target, requiredBytes);
    if (refusal !== undefined) {
      metrics.refused(target.id, refusal.reason);
      throw explicitRefusalError(target.id, refusal);
    }
    return { candidates: [target], refusals: new Map(), explicit: true };
  }
  const allowed = allowedElements(request.principal, 'files:write');
  const ranking = rankCandidates(known, {
    requiredBytes,
    mayWrite: (id) => allowed === 'all' || allowed.has(id),
    circuitOpen: (target) => target.client.circuitState === 'open',
  });
  for (const [id, refusal] of ranking.refusals) metrics.refused(id, refusal.reason);
  return { ...ranking, explicit: false };
}
