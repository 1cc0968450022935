// Обслуживание SE (SPEC SE-6, BY-2): перестройка/сверка кеша по attr-файлам с показом разницы.
import { requirePermission, type BlobStore } from '@artstore/core';
import type { FastifyInstance } from 'fastify';
import { applyRebuild, planRebuild, summarizePlan } from '../domain/rebuild.js';
import type { FileCache } from '../store/file-cache.js';
import type { PublicSigningKey } from '../domain/attr-signing.js';

export interface MaintenanceRoutesDeps {
  blobs: BlobStore;
  cache: FileCache;
  signingKeys: () => readonly PublicSigningKey[];
  /** Итог каждой сверки (метрики). */
  onPlan?: (summary: ReturnType<typeof summarizePlan>) => void;
}

export function registerMaintenanceRoutes(app: FastifyInstance, deps: MaintenanceRoutesDeps): void {
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
      requirePermission(request.principal, 'storage:manage');
      const dryRun = request.query.dry_run ?? true;
      const plan = await planRebuild({ blobs: deps.blobs, cache: deps.cache, signingKeys: deps.signingKeys() });
      if (!dryRun) await applyRebuild(plan, deps.cache);
      const summary = summarizePlan(plan);
      deps.onPlan?.(summary);
      request.log.info({ ...summary, diff: undefined, dry_run: dryRun }, 'cache_rebuild');
      return { dry_run: dryRun, ...summary };
    },
  );
}
