// События аудита, которые сервис поставил в очередь (SPEC AD-9): обработчик очереди `audit` вместо
// admin-module — тесты сервисов проверяют, что и с какими полями они записали.
import assert from 'node:assert/strict';
import { AUDIT_QUEUE, type AuditEnvelope } from '../audit/audit-event.js';
import type { JobQueue } from '../ports/job-queue.js';

export interface CapturedAuditEvents {
  /** События в порядке обработки. */
  events: AuditEnvelope[];
  /** Ждёт, пока среди событий не окажется удовлетворяющее условию, и возвращает его. */
  waitFor(what: string, match: (event: AuditEnvelope) => boolean, timeoutMs?: number): Promise<AuditEnvelope>;
  close(): Promise<void>;
}

export function captureAuditEvents(jobs: JobQueue): CapturedAuditEvents {
  const events: AuditEnvelope[] = [];
  const worker = jobs.process<AuditEnvelope>(AUDIT_QUEUE, (job) => {
    events.push(job.payload);
    return Promise.resolve();
  });
  return {
    events,
    async waitFor(what, match, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(match);
        if (found !== undefined) return found;
        if (Date.now() > deadline) assert.fail(`нет события аудита: ${what}; есть ${JSON.stringify(events.map((e) => e.action))}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close: () => worker.close(),
  };
}
