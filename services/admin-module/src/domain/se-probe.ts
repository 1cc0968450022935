// Опрос одного SE (SPEC AD-7): /health/ready, режим (GET /api/mode) и место (GET /api/capacity).
// up — готов и ответил всем; degraded — отвечает, но не готов, не дал режим или место, или по адресу
// оказался другой SE; down — не ответил вовсе (нет соединения, таймаут).
import { json } from 'node:stream/consumers';
import type { CapacityStatus } from '@artstore/contracts';
import type { DiscoveryCapacity, SeMode, ServiceClient } from '@artstore/core';
import type { Observation } from '../store/storage-elements.js';
import { SE_CALL_TIMEOUT_MS } from './se-clients.js';

export interface ProbeResult extends Observation {
  /** element_id из GET /api/capacity; null — SE его не сообщил. */
  element_id: string | null;
}

interface ModeInfo {
  mode: SeMode;
  configured_mode: SeMode;
  /** Срок хранения новых файлов SE (permanent, 7y …); нет у SE прежних версий. */
  retention?: string;
}

interface ReadyBody {
  checks?: Record<string, { status: string; error?: string }>;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Почему SE не готов: непрошедшие проверки его /health/ready. */
function notReadyReason(body: unknown): string {
  const checks = (body as ReadyBody | undefined)?.checks ?? {};
  const failed = Object.entries(checks)
    .filter(([, check]) => check.status !== 'ok')
    .map(([name, check]) => `${name}: ${check.error ?? check.status}`);
  return `SE не готов (${failed.length > 0 ? failed.join('; ') : 'без подробностей'})`;
}

function capacityOf(status: CapacityStatus): DiscoveryCapacity {
  return {
    max_bytes: status.max_bytes,
    used_bytes: status.used_bytes,
    available_bytes: status.available_bytes,
    usage_percent: status.usage_percent,
    alarm_level: status.alarm_level,
  };
}

export async function probeStorageElement(
  client: ServiceClient,
  expectedId: string,
  now: Date,
): Promise<ProbeResult> {
  const base = { mode: null, configured_mode: null, retention: null, capacity: null, element_id: null, polled_at: now };
  let notReady: string | undefined;
  try {
    const ready = await client.request('GET', '/health/ready', { timeoutMs: SE_CALL_TIMEOUT_MS });
    const body = await json(ready.body).catch(() => undefined);
    if (ready.status !== 200) notReady = notReadyReason(body);
  } catch (error) {
    return { ...base, health: 'down', health_error: message(error) };
  }
  const [mode, capacity] = await Promise.allSettled([
    client.json<ModeInfo>('GET', '/api/mode', { timeoutMs: SE_CALL_TIMEOUT_MS, idempotent: true }),
    client.json<CapacityStatus>('GET', '/api/capacity', { timeoutMs: SE_CALL_TIMEOUT_MS, idempotent: true }),
  ]);
  const result: ProbeResult = {
    ...base,
    health: 'up',
    health_error: null,
    mode: mode.status === 'fulfilled' ? mode.value.mode : null,
    configured_mode: mode.status === 'fulfilled' ? mode.value.configured_mode : null,
    retention: mode.status === 'fulfilled' ? (mode.value.retention ?? null) : null,
    capacity: capacity.status === 'fulfilled' ? capacityOf(capacity.value) : null,
    element_id: capacity.status === 'fulfilled' ? capacity.value.element_id : null,
  };
  if (result.element_id !== null && result.element_id !== expectedId) {
    // Режим и место чужого SE в документ не попадают: по ним выбирали бы не тот элемент.
    return {
      ...base,
      element_id: result.element_id,
      health: 'degraded',
      health_error: `по адресу отвечает ${result.element_id}, а не ${expectedId}`,
    };
  }
  const problems = [
    notReady,
    mode.status === 'rejected' ? `режим: ${message(mode.reason)}` : undefined,
    capacity.status === 'rejected' ? `место: ${message(capacity.reason)}` : undefined,
  ].filter((problem): problem is string => problem !== undefined);
  return problems.length === 0
    ? result
    : { ...result, health: 'degraded', health_error: problems.join('; ') };
}
