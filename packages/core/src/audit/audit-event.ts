// Событие журнала аудита от любого сервиса (SPEC AD-9): сервис ставит его в очередь задач `audit`,
// admin-module дописывает в цепочку хешей. Форма — контракт между сервисами: поля только добавляются.
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { UUID_PATTERN } from '../ids.js';

/** Очередь задач, из которой admin-module дописывает события в журнал. */
export const AUDIT_QUEUE = 'audit';
export const AUDIT_JOB = 'audit.event';

export interface AuditActor {
  /** id пользователя, `svc:<client_id>` или `system:<задача>` — это попадает в колонку actor. */
  subject: string;
  username: string;
  kind: 'user' | 'service' | 'system';
}

export type AuditOutcome = 'success' | 'failure';

/** То, что передаёт сервис; остальное (id, время, сервис) добавляет клиент аудита. */
export interface AuditEventInput {
  actor: AuditActor;
  /** `file.upload`, `file.download`, `file.delete`, `file.purge`, `file.metadata.update`, `se.mode.change` … */
  action: string;
  target?: string;
  outcome?: AuditOutcome;
  ip?: string;
  request_id?: string;
  details?: Record<string, unknown>;
}

/** Событие в очереди: id (UUIDv7) — и jobId для дедупликации в очереди, и ключ идемпотентности в журнале. */
export interface AuditEnvelope {
  id: string;
  occurred_at: string;
  service: string;
  actor: AuditActor;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  ip: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

export const actorOf = (principal: Principal): AuditActor => ({
  subject: principal.subject,
  username: principal.username,
  kind: principal.kind,
});

/** Фоновая работа сервиса без пользователя (очистка байтов и т. п.). */
export const systemActor = (task: string): AuditActor => ({ subject: `system:${task}`, username: `system:${task}`, kind: 'system' });

/** Кто, откуда и в каком запросе — общие поля события, совершённого по HTTP-запросу. */
export const requestAuditContext = (request: FastifyRequest, principal: Principal) => ({
  actor: actorOf(principal),
  ip: request.ip,
  request_id: request.id,
});

const ACTION = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;
const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;
const isOptionalText = (value: unknown, max: number) => value === null || isText(value, max);

/**
 * Проверка события, пришедшего из очереди: очередь — общий Redis, и в журнал попадает только то, что
 * имеет форму события. Возвращает причину отказа или null.
 */
export function auditEnvelopeProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'не объект';
  const e = value as Record<string, unknown>;
  const actor = e.actor as Record<string, unknown> | null | undefined;
  if (typeof e.id !== 'string' || !UUID_PATTERN.test(e.id)) return 'id — не UUID';
  if (typeof e.occurred_at !== 'string' || Number.isNaN(Date.parse(e.occurred_at))) return 'occurred_at — не время';
  if (!isText(e.service, 64)) return 'service';
  if (typeof actor !== 'object' || actor === null || !isText(actor.subject, 256) || !isText(actor.username, 256)) return 'actor';
  if (!['user', 'service', 'system'].includes(actor.kind as string)) return 'actor.kind';
  if (!isText(e.action, 128) || !ACTION.test(e.action)) return 'action';
  if (!isOptionalText(e.target, 256) || !isOptionalText(e.ip, 64) || !isOptionalText(e.request_id, 128)) return 'target, ip или request_id';
  if (e.outcome !== 'success' && e.outcome !== 'failure') return 'outcome';
  if (typeof e.details !== 'object' || e.details === null || Array.isArray(e.details)) return 'details — не объект';
  return null;
}
