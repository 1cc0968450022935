// Клиент журнала аудита для сервисов (SPEC AD-9): событие уходит задачей в очередь `audit`, а не
// HTTP-вызовом admin-module. В production очередь — BullMQ в Redis: событие лежит там, пока admin
// недоступен, и дописывается, когда он вернётся. jobId = id события: повторная постановка не плодит
// задач, а повторная доставка не плодит записей — admin пропускает уже дописанный id.
import type { Logger } from '../logger.js';
import type { JobQueue } from '../ports/job-queue.js';
import { uuidv7 } from '../ids.js';
import { AUDIT_JOB, AUDIT_QUEUE, type AuditEnvelope, type AuditEventInput } from './audit-event.js';

/**
 * Попытки дописать событие, когда admin его уже взял, а БД отказала: откат 1 с · 2^n, последний —
 * ≈ 2,3 ч, всего попытки покрывают ≈ 4,5 ч сбоя БД. Пока admin не запущен, попытки не тратятся:
 * задача просто ждёт в очереди.
 */
export const AUDIT_RETRY = { attempts: 15, backoffMs: 1000 } as const;

export interface AuditClient {
  /**
   * Ставит событие в очередь. Не бросает: операция уже совершилась, и ответ клиенту ошибкой только
   * спровоцировал бы повтор (вторую загрузку, второе удаление). Если очередь отказала, событие целиком
   * уходит в журнал сервиса (`audit_event_not_queued`, уровень error) — его можно дописать вручную.
   */
  record(event: AuditEventInput): Promise<void>;
}

export function createAuditClient(options: { jobs: JobQueue; service: string; logger: Logger; now?: () => Date }): AuditClient {
  const now = options.now ?? (() => new Date());
  return {
    async record(event) {
      const at = now();
      const envelope: AuditEnvelope = {
        id: uuidv7(at.getTime()),
        occurred_at: at.toISOString(),
        service: options.service,
        actor: event.actor,
        action: event.action,
        target: event.target ?? null,
        outcome: event.outcome ?? 'success',
        ip: event.ip ?? null,
        request_id: event.request_id ?? null,
        details: event.details ?? {},
      };
      try {
        await options.jobs.enqueue(AUDIT_QUEUE, AUDIT_JOB, envelope, { jobId: envelope.id, ...AUDIT_RETRY });
      } catch (error) {
        options.logger.error({ err: error, audit_event: envelope }, 'audit_event_not_queued');
      }
    },
  };
}
