// Журнал аудита (SPEC AD-9, BY-8): каждая запись несёт sha256 от хеша предыдущей и канонического
// JSON своих полей, поэтому правка любой записи в середине ломает цепочку с её номера, а UPDATE и
// DELETE отвергает сама БД (триггер). Проверка пересчитывает цепочку целиком.
import { createHash } from 'node:crypto';
import { canonicalJson, type Logger } from '@artstore/core';
import { GENESIS_HASH, type AuditLogStore, type AuditRow } from '../store/audit-log.js';

export interface AuditEvent {
  /** Кто: id пользователя, `svc:<client_id>` или имя при неудачном входе. */
  actor: string;
  /** Что: `auth.login.succeeded`, `user.created` … */
  action: string;
  target?: string;
  details?: Record<string, unknown>;
}

export interface AuditVerdict {
  ok: boolean;
  records: number;
  /** Номер первой записи, на которой цепочка не сходится. */
  broken_at?: number;
  reason?: 'hash_mismatch' | 'chain_broken' | 'sequence_gap';
  last_hash: string;
}

function seal(row: Omit<AuditRow, 'hash'>): string {
  const { prev_hash, ...fields } = row;
  return createHash('sha256').update(prev_hash).update(canonicalJson(fields)).digest('hex');
}

export function createAudit(store: AuditLogStore, logger: Logger) {
  return {
    /**
     * Записывает событие. Сбой записи аудита не должен молча терять событие: он журналируется как
     * ошибка и пробрасывается — операция, которую нельзя засвидетельствовать, не подтверждается.
     */
    async record(event: AuditEvent): Promise<AuditRow> {
      try {
        return await store.append(
          {
            at: new Date().toISOString(),
            actor: event.actor,
            action: event.action,
            target: event.target ?? null,
            details: event.details ?? {},
          },
          seal,
        );
      } catch (error) {
        logger.error({ err: error, action: event.action }, 'audit_append_failed');
        throw error;
      }
    },

    page: (after: number, limit: number) => store.page(after, limit),

    async verify(): Promise<AuditVerdict> {
      let previous = GENESIS_HASH;
      let expectedSeq = 1;
      let records = 0;
      for (let after = 0; ;) {
        const rows = await store.page(after, 1000);
        if (rows.length === 0) break;
        for (const row of rows) {
          const broken = (reason: AuditVerdict['reason']): AuditVerdict => ({
            ok: false,
            records,
            broken_at: row.seq,
            reason,
            last_hash: previous,
          });
          if (row.seq !== expectedSeq) return broken('sequence_gap');
          if (row.prev_hash !== previous) return broken('chain_broken');
          const { hash, ...unsealed } = row;
          if (seal(unsealed) !== hash) return broken('hash_mismatch');
          previous = hash;
          expectedSeq++;
          records++;
        }
        after = rows.at(-1)!.seq;
      }
      return { ok: true, records, last_hash: previous };
    },
  };
}
export type Audit = ReturnType<typeof createAudit>;
