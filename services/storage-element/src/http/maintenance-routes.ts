// Обслуживание SE (SPEC SE-6, BY-2, BY-3): перестройка/сверка кеша по attr-файлам с показом разницы,
// отчёт последней периодической сверки и прохода scrub.
import { requirePermission, type BlobStore } from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import { planRebuild, summarizePlan } from '../domain/rebuild.js';
import type { FileCache } from '../store/file-cache.js';
import type { PublicSigningKey } from '../domain/attr-signing.js';
import type { Reconciler } from '../domain/reconciler.js';
import type { Scrubber } from '../domain/scrubber.js';

export interface MaintenanceRoutesDeps {
  elementId: string;
  blobs: BlobStore;
  cache: FileCache;
  signingKeys: () => readonly PublicSigningKey[];
  /** Итог каждой сверки (метрики). */
  onPlan?: (summary: ReturnType<typeof summarizePlan>) => void;
  reconciler: Pick<Reconciler, 'report' | 'repair'>;
  scrubber: Pick<Scrubber, 'report'>;
}

export function registerMaintenanceRoutes(app: FastifyInstance, deps: MaintenanceRoutesDeps): void {
  const here = { se: deps.elementId };
  app.post<{ Querystring: { dry_run?: boolean } }>(
    '/api/maintenance/rebuild',
    {
      schema: {
        summary: 'Сверка кеша с attr-файлами; ?dry_run=false применяет, по умолчанию — только показать разницу',
        tags: ['maintenance'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { dry_run: { type: 'boolean', default: true } },
        },
      },
    },
    async (request) => {
      requirePermission(request.principal, 'storage:manage', here);
      const dryRun = request.query.dry_run ?? true;
      const plan = await planRebuild({ blobs: deps.blobs, cache: deps.cache, signingKeys: deps.signingKeys() });
      // Онлайн-починка — тем же путём, что периодическая сверка: под блокировкой каждой записи.
      const repaired = dryRun ? undefined : await deps.reconciler.repair(plan, { freshGraceMs: 0 });
      const summary = summarizePlan(plan);
      deps.onPlan?.(summary);
      request.log.info({ ...summary, diff: undefined, dry_run: dryRun, repaired }, 'cache_rebuild');
      return { dry_run: dryRun, ...summary, ...(repaired ? { repaired } : {}) };
    },
  );

  app.get(
    '/api/maintenance/report',
    { schema: { summary: 'Итоги последней периодической сверки кеша и прохода scrub: счётчики, повреждения, время', tags: ['maintenance'] } },
    async (request) => {
      requirePermission(request.principal, 'storage:manage', here);
      return { reconcile: await deps.reconciler.report(), scrub: await deps.scrubber.report(), generated_at: new Date().toISOString() };
    },
  );
}
