// Стенд интеграционных тестов ingester-module в одном процессе: настоящий storage-element (PGlite в
// памяти, координация и очередь в процессе, локальная ФС во временном каталоге) и ingester перед ним.
// Токены — тестовый издатель с локальным JWKS (настоящая проверка RS256), admin-module не нужен:
// ingester пересылает SE токен пользователя, сервисный токен ему не требуется.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileRecord } from '@artstore/contracts';
import { loadConfig, type Backends, type JobQueue, type Logger, type RunningService } from '@artstore/core';
import { buildWithCleanup, createMemoryLogger, createTestTokenIssuer, expectProblemWith, listFiles, type TestTokenIssuer } from '@artstore/core/testing';
import { lastSeq, startTestStorageElement } from '@artstore/storage-element/testing';
import { startIngesterModule } from '../src/index.js';

export const ELEMENT_ID = 'se-test';

export interface IngesterStack {
  issuer: TestTokenIssuer;
  /** Токен с ролью admin: files:write, files:read и changes:read. */
  adminToken: string;
  seUrl: string;
  ingesterUrl: string;
  /** Корень хранилища SE (байты и attr-файлы). */
  seRoot: string;
  /** Очередь задач, общая SE и ingester (как в `artstore start all`): в ней события аудита (SPEC AD-9). */
  jobs: JobQueue;
  /** Останавливает только SE (проверка отказа зависимого сервиса). */
  stopStorageElement(): Promise<void>;
  /** Перезапуск SE: тот же корень, data_dir, БД и порт — как рестарт процесса SE. */
  restartStorageElement(): Promise<void>;
  /** Журнал сервисов (уровень warn и выше) — для диагностики упавшего теста. */
  logs(): string;
  close(): Promise<void>;
}

export interface IngesterStackOptions {
  /** Ключи секции storage SE (например, uploads.expiration). */
  storage?: Record<string, unknown>;
}

export async function startIngesterStack(options: IngesterStackOptions = {}): Promise<IngesterStack> {
  const workDir = await mkdtemp(join(tmpdir(), 'artstore-ingester-it-'));
  return buildWithCleanup(async (cleanup) => {
    cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
    const issuer = await createTestTokenIssuer();
    cleanup.defer(() => issuer.close());
    // Журнал сервисов — в память: stdout процесса теста занят отчётом node:test.
    const { logger, text } = createMemoryLogger('warn');
    const seOptions = { elementId: ELEMENT_ID, issuer, dataDir: workDir, basePath: join(workDir, 'se'), logger, storage: options.storage };
    const se = await startTestStorageElement(seOptions);
    cleanup.defer(() => se.close());
    let current = se;
    const restartStorageElement = async () => {
      await current.stop();
      // Порты первого SE живут до конца стенда: перезапущенный берёт его БД и координацию.
      const { db, coordination } = se.backends;
      current = await startTestStorageElement({
        ...seOptions,
        port: Number(new URL(se.url).port),
        shared: { db, coordination, tablePrefix: 'se_' },
      });
      cleanup.defer(current.close);
    };

    // БД, координация и очередь — общие с SE, как в `artstore start all`.
    const ingester = await startTestIngester({
      workDir,
      issuer,
      logger,
      backends: se.backends,
      overrides: { storage_elements: [{ id: ELEMENT_ID, url: se.url }] },
    });
    cleanup.defer(() => ingester.stop());

    return {
      issuer,
      adminToken: await issuer.mint({ name: 'tester', roles: ['admin'] }),
      seUrl: se.url,
      ingesterUrl: ingester.url,
      seRoot: se.basePath,
      jobs: se.backends.jobs,
      stopStorageElement: () => current.stop(),
      restartStorageElement,
      logs: text,
      close: () => cleanup.run(),
    };
  });
}

export interface TestIngesterOptions {
  /** data_dir: в нём файл последнего документа обнаружения. */
  workDir: string;
  issuer: Pick<TestTokenIssuer, 'jwtConfig'>;
  logger: Logger;
  backends: Backends;
  /** Ключи конфигурации поверх базовых (storage_elements, ingester …). */
  overrides?: Record<string, unknown>;
  /** Токен сервиса для восстановления саг (без admin-module его не выпросить по client_credentials). */
  serviceToken?: () => Promise<string>;
}

/** ingester-module в процессе теста; порт 0 — адрес выдаёт система при listen, без гонки за свободный порт. */
export function startTestIngester(options: TestIngesterOptions): Promise<RunningService> {
  const config = loadConfig({
    env: {},
    overrides: {
      data_dir: options.workDir,
      log: { level: options.logger.level },
      auth: { jwt: options.issuer.jwtConfig },
      services: { ingester: { host: '127.0.0.1', port: 0 } },
      ...options.overrides,
    },
  });
  return startIngesterModule({ config, logger: options.logger, ...options.backends }, { serviceToken: options.serviceToken });
}

/** Ошибки ingester — problem+json с type по коду; detail не обязателен. */
export const expectProblem = expectProblemWith({ type: true });

/** Номер последнего изменения в ленте SE. */
export function seLastSeq(stack: IngesterStack): Promise<number> {
  return lastSeq({ url: stack.seUrl }, stack.adminToken);
}

/** Все файлы под корнем SE (включая временные) — относительные пути. */
export function seFiles(stack: IngesterStack): Promise<string[]> {
  return listFiles(stack.seRoot);
}

/** Выполняет действие и проверяет, что на SE не появилось ни записи в ленте, ни файла на диске. */
export async function expectNothingStored(stack: IngesterStack, action: () => Promise<void>): Promise<void> {
  const seqBefore = await seLastSeq(stack);
  const filesBefore = await seFiles(stack);
  await action();
  assert.equal(await seLastSeq(stack), seqBefore, 'в ленте SE появилось изменение');
  assert.deepEqual(await seFiles(stack), filesBefore, 'на диске SE появились файлы');
}

/** Запись о файле и байты — прямо с SE, минуя ingester. */
export async function fetchFromSe(stack: IngesterStack, id: string): Promise<{ record: FileRecord; bytes: Buffer }> {
  const headers = { authorization: `Bearer ${stack.adminToken}` };
  const recordResponse = await fetch(`${stack.seUrl}/api/files/${id}`, { headers });
  assert.equal(recordResponse.status, 200, await recordResponse.clone().text());
  const content = await fetch(`${stack.seUrl}/api/files/${id}/content`, { headers });
  assert.equal(content.status, 200, await content.clone().text());
  return { record: (await recordResponse.json()) as FileRecord, bytes: Buffer.from(await content.arrayBuffer()) };
}
