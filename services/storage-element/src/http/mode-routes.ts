// Режим SE (SPEC SE-7): чтение и переход через API (rw→ro, ro→ar) — им управляет admin-module (AD-7).
import { requestAuditContext, requirePermission, type AuditClient } from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import type { ModeController } from '../domain/mode-controller.js';
import { allowedOperations, type Mode } from '../domain/modes.js';

const MODES = ['edit', 'rw', 'ro', 'ar'] as const;

/** Смена режима попадает в журнал аудита (SPEC AD-9) от имени того, кто её запросил. */
export function registerModeRoutes(
  app: FastifyInstance,
  modes: ModeController,
  deps: { elementId: string; audit: AuditClient; /** storage.retention: срок хранения новых файлов (SPEC SE-9). */ retention: string },
): void {
  // Срок хранения — рядом с режимом: admin-module показывает оба в реестре SE (SPEC AD-7).
  const describe = () => ({
    mode: modes.mode,
    configured_mode: modes.configured,
    allowed_operations: allowedOperations(modes.mode),
    retention: deps.retention,
  });

  app.get('/api/mode', { schema: { summary: 'Текущий режим SE и разрешённые операции', tags: ['mode'] } }, (request, reply) => {
    requirePermission(request.principal, 'files:read', { se: deps.elementId });
    return reply.send(describe());
  });

  app.post<{ Body: { mode: Mode } }>(
    '/api/mode',
    {
      schema: {
        summary: 'Сменить режим SE: только rw→ro и ro→ar',
        tags: ['mode'],
        body: {
          type: 'object',
          required: ['mode'],
          additionalProperties: false,
          properties: { mode: { type: 'string', enum: [...MODES] } },
        },
      },
    },
    async (request) => {
      const principal = requirePermission(request.principal, 'storage:manage', { se: deps.elementId });
      const { from, to } = await modes.change(request.body.mode, principal.username);
      await deps.audit.record({ ...requestAuditContext(request, principal), action: 'se.mode.change', target: deps.elementId, details: { from, to } });
      return { ...describe(), from, to };
    },
  );
}
