// Стенд выбора SE (SPEC IN-2, IN-7): несколько настоящих SE в процессе теста и ingester, который берёт
// их из документа обнаружения (AD-8). Документ публикует сам тест — так он задаёт режим, здоровье и
// место, которые «видит» ingester, независимо от настоящего состояния SE: документ — подсказка, SE —
// истина, и расхождение между ними — отдельный случай проверки.
//
// Два набора портов (CONVENTIONS «Real dependencies in tests»): встроенные — у каждого SE своя PGlite,
// координация ingester в процессе; настоящие — одна одноразовая БД PostgreSQL на все SE с разными
// префиксами таблиц (SPEC SE-4) и координация ingester в Redis со своим префиксом ключей.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInProcessJobQueue } from '@artstore/adapters';
import type { ServiceBackend } from '@artstore/adapters/testing';
import {
  publishDiscoveryDocument,
  type Database,
  type DiscoveryElement,
  type JobQueue,
  type RunningService,
  type SeHealth,
  type SeMode,
} from '@artstore/core';
import {
  buildWithCleanup,
  createMemoryLogger,
  createTestTokenIssuer,
  listFiles,
  waitFor,
  type TestTokenIssuer,
} from '@artstore/core/testing';
import { lastSeq, startTestStorageElement, type TestStorageElement } from '@artstore/storage-element/testing';
import { startTestIngester } from './harness.js';

export interface SeSpec {
  id: string;
  /** Настоящий storage.mode SE; по умолчанию edit. */
  mode?: SeMode;
  /** Настоящий storage.max_size SE. */
  maxSize?: number;
  /** Настоящий storage.retention SE (SPEC SE-9). */
  retention?: string;
}

/** Что о SE говорит документ обнаружения; не заданное — edit, up, место неизвестно, priority 100. */
export interface Advertised {
  id: string;
  priority?: number;
  mode?: SeMode | null;
  health?: SeHealth;
  available?: number;
}

export interface MultiSeStack {
  issuer: TestTokenIssuer;
  /** Токен с ролью admin: чтение лент SE. */
  adminToken: string;
  ingesterUrl: string;
  /** БД ingester (журналы саги и переноса): второй координатор в тесте восстановления берёт её же. */
  db: Database;
  se(id: string): TestStorageElement;
  /** Публикует документ обнаружения со следующей версией и ждёт, пока ingester его примет. */
  advertise(elements: readonly Advertised[]): Promise<void>;
  /** Номер последнего изменения в ленте SE и файлы под его корнем (включая временные). */
  state(id: string): Promise<{ seq: number; files: string[] }>;
  /** Текст /metrics ingester. */
  metrics(): Promise<string>;
  /** Очередь задач ingester (события аудита). */
  jobs: JobQueue;
  /** Ещё один экземпляр ingester на тех же БД, координации и очереди (восстановление саг, SPEC IN-4). */
  startIngester(ingester: Record<string, unknown>): Promise<RunningService>;
  logs(): string;
  close(): Promise<void>;
}

export async function startMultiSeStack(
  backend: ServiceBackend,
  specs: readonly SeSpec[],
  ingester: Record<string, unknown>,
): Promise<MultiSeStack> {
  const workDir = await mkdtemp(join(tmpdir(), 'artstore-ingester-se-'));
  return buildWithCleanup(async (cleanup) => {
    cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
    const { coordination, sharedDb } = await backend.open(cleanup, 'ingester_se_selection');
    const issuer = await createTestTokenIssuer();
    cleanup.defer(() => issuer.close());
    const { logger, text } = createMemoryLogger('warn');
    const elements = new Map<string, TestStorageElement>();
    for (const spec of specs) {
      const se = await startTestStorageElement({
        elementId: spec.id,
        issuer,
        dataDir: join(workDir, spec.id),
        basePath: join(workDir, spec.id, 'store'),
        logger,
        mode: spec.mode,
        maxSize: spec.maxSize,
        retention: spec.retention,
        ...(sharedDb ? { shared: { db: sharedDb, tablePrefix: `${spec.id.replaceAll('-', '_')}_` } } : {}),
      });
      cleanup.defer(() => se.close());
      elements.set(spec.id, se);
    }
    const se = (id: string): TestStorageElement => {
      const found = elements.get(id);
      if (found === undefined) throw new Error(`стенд: SE ${id} не запущен`);
      return found;
    };

    let version = 0;
    const publish = (advertised: readonly Advertised[]) =>
      publishDiscoveryDocument(coordination, {
        version: ++version,
        published_at: new Date().toISOString(),
        storage_elements: advertised.map((a): DiscoveryElement => ({
          id: a.id,
          name: a.id,
          url: se(a.id).url,
          priority: a.priority ?? 100,
          mode: a.mode === undefined ? 'edit' : a.mode,
          health: a.health ?? 'up',
          capacity:
            a.available === undefined
              ? null
              : {
                  max_bytes: 2 ** 40,
                  used_bytes: 2 ** 40 - a.available,
                  available_bytes: a.available,
                  usage_percent: 0,
                  alarm_level: 0,
                },
        })),
      });
    // Документ — до старта ingester: он берёт его при старте, а не статический список.
    await publish(specs.map(({ id }) => ({ id })));

    const jobs = createInProcessJobQueue();
    cleanup.defer(() => jobs.close());
    const ingesterDb = sharedDb ?? se(specs[0]!.id).backends.db;
    // Восстановление саг спрашивает SE токеном сервиса (ADR 0011): роль indexer, как у query-module.
    const serviceToken = () => issuer.mint({ name: 'svc-ingester', kind: 'service', roles: ['indexer'] });
    const startIngester = async (settings: Record<string, unknown>) => {
      const instance = await startTestIngester({
        workDir,
        issuer,
        logger,
        // БД ингестера — общая или БД первого SE (своя PGlite у каждого SE во встроенном наборе).
        backends: { db: ingesterDb, coordination, jobs },
        overrides: { ingester: settings },
        serviceToken,
      });
      cleanup.defer(() => instance.stop());
      return instance;
    };
    const running = await startIngester(ingester);
    const adminToken = await issuer.mint({ name: 'tester', roles: ['admin'] });

    const adoptedVersion = async () => {
      const ready = (await (await fetch(`${running.url}/health/ready`)).json()) as {
        checks: { discovery?: { detail?: { version?: number } } };
      };
      return ready.checks.discovery?.detail?.version ?? 0;
    };

    return {
      issuer,
      adminToken,
      ingesterUrl: running.url,
      db: ingesterDb,
      se,
      async advertise(advertised) {
        await publish(advertised);
        await waitFor('ingester принял документ обнаружения', adoptedVersion, (v) => v === version, {
          intervalMs: 10,
        });
      },
      async state(id) {
        const element = se(id);
        return { seq: await lastSeq(element, adminToken), files: await listFiles(element.basePath) };
      },
      async metrics() {
        return (await fetch(`${running.url}/metrics`)).text();
      },
      jobs,
      startIngester,
      logs: text,
      close: () => cleanup.run(),
    };
  });
}

/** Значение счётчика Prometheus с такими метками (остальные метки не важны); нет строки — 0. */
export function counterValue(metrics: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && wanted.every((label) => l.includes(label)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}
