// Приём событий аудита других сервисов (SPEC AD-9): обработчик очереди `audit` дописывает событие в
// цепочку. Доставка «как минимум один раз»: если admin упал между записью и подтверждением задачи,
// повтор найдёт event_id в журнале и ничего не добавит. Очередь выдаёт задачи по порядку поступления,
// обработчик сразу передаёт событие в append, а тот дописывает в порядке вызовов, собирая
// одновременные события в одну транзакцию (group commit): параллельность обработки ускоряет приём,
// не меняя порядка. Порядок меняет только повтор после сбоя — повторённое событие встанет позже.
import { AUDIT_QUEUE, auditEnvelopeProblem, type AuditEnvelope, type JobQueue, type Logger, type Worker } from '@artstore/core';
import type { Audit } from './audit.js';

/** Одновременно обрабатываемых событий — размер пачки одной транзакции при наплыве. */
const INTAKE_CONCURRENCY = 32;

export function startAuditIntake(options: { jobs: JobQueue; audit: Pick<Audit, 'append'>; logger: Logger }): Worker {
  const { audit, logger } = options;
  return options.jobs.process<unknown>(AUDIT_QUEUE, async (job) => {
    const problem = auditEnvelopeProblem(job.payload);
    if (problem !== null) {
      // Повтор не исправит форму: задача закрывается, событие целиком остаётся в журнале сервиса.
      logger.error({ job_id: job.id, problem, payload: job.payload }, 'audit_event_rejected');
      return;
    }
    const { row, duplicate } = await audit.append(job.payload as AuditEnvelope);
    if (duplicate) logger.info({ event_id: row.event_id, seq: row.seq }, 'audit_event_duplicate_skipped');
  }, { concurrency: INTAKE_CONCURRENCY });
}
