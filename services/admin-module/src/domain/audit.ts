// Журнал аудита (SPEC AD-9, BY-8): каждая запись несёт sha256 от хеша предыдущей и канонического
// JSON своих полей, поэтому правка любой записи в середине ломает цепочку с её номера, а UPDATE и
// DELETE отвергает сама БД (триггер). Пишут сюда события admin-module (record) и события других
// сервисов из очереди `audit` (append, идемпотентно по id события).
import { createHash } from 'node:crypto';
import { canonicalJson, uuidv7, type AuditEnvelope, type Logger } from '@artstore/core';
import type { AuditEntry, AuditLogStore, AuditRow } from '../store/audit-log.js';

export const ADMIN_AUDIT_SERVICE = 'admin-module';

export interface AuditEvent {
  /** Кто: id пользователя, `svc:<client_id>` или имя при неудачном входе. */
  actor: string;
  /** Что: `auth.login.succeeded`, `user.created` … */
  action: string;
  target?: string;
  details?: Record<string, unknown>;
}

/**
 * Хеш записи. Поля, добавленные миграцией 0008, входят в хеш, только когда они не null: так записи,
 * сделанные до неё, сходятся с прежними хешами, а у новых подмена любого поля, в том числе обнуление, видна.
 */
export function sealAuditRow(row: Omit<AuditRow, 'hash'>): string {
  const { prev_hash, event_id, service, actor_name, outcome, ip, request_id, ...base } = row;
  const extended = { event_id, service, actor_name, outcome, ip, request_id };
  const present = Object.fromEntries(Object.entries(extended).filter(([, value]) => value !== null));
  return createHash('sha256')
    .update(prev_hash)
    .update(canonicalJson({ ...base, ...present }))
    .digest('hex');
}

export function createAudit(store: AuditLogStore, logger: Logger, options: { onAppend?: (row: AuditRow) => void } = {}) {
  async function append(entry: AuditEntry): Promise<{ row: AuditRow; duplicate: boolean }> {
    const result = await store.append(entry, sealAuditRow);
    if (!result.duplicate) options.onAppend?.(result.row);
    return result;
  }

  return {
    /**
     * Записывает событие admin-module. Сбой записи аудита не должен молча терять событие: он журналируется
     * как ошибка и пробрасывается — операция, которую нельзя засвидетельствовать, не подтверждается.
     */
    async record(event: AuditEvent): Promise<AuditRow> {
      const at = new Date();
      try {
        const { row } = await append({
          at: at.toISOString(),
          actor: event.actor,
          action: event.action,
          target: event.target ?? null,
          details: event.details ?? {},
          event_id: uuidv7(at.getTime()),
          service: ADMIN_AUDIT_SERVICE,
          actor_name: null,
          outcome: null,
          ip: null,
          request_id: null,
        });
        return row;
      } catch (error) {
        logger.error({ err: error, action: event.action }, 'audit_append_failed');
        throw error;
      }
    },

    /** Событие другого сервиса из очереди; уже дописанное (повторная доставка) — duplicate. */
    append: (event: AuditEnvelope) =>
      append({
        // Время операции, а не дописывания: событие могло ждать в очереди, пока admin был недоступен.
        at: new Date(event.occurred_at).toISOString(),
        actor: event.actor.subject,
        action: event.action,
        target: event.target,
        details: event.details,
        event_id: event.id,
        service: event.service,
        actor_name: event.actor.username,
        outcome: event.outcome,
        ip: event.ip,
        request_id: event.request_id,
      }),

    page: (after: number, limit: number) => store.page(after, limit),
  };
}
export type Audit = ReturnType<typeof createAudit>;
