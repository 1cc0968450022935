// Стенд интеграционных тестов ingester-module в одном процессе: настоящий storage-element (PGlite в
// памяти, координация и очередь в процессе, локальная ФС во временном каталоге) и ingester перед ним.
// Токены — тестовый издатель с локальным JWKS (настоящая проверка RS256), admin-module не нужен:
// ingester пересылает SE токен пользователя, сервисный токен ему не требуется.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import {
  createInProcessCoordination,
  createInProcessJobQueue,
  createLocalFsBlobStore,
  createPgliteDatabase,
} from '@artstore/adapters';
import type { ChangesResponse, FileRecord } from '@artstore/contracts';
import { createLogger, loadConfig, type Logger, type RunningService } from '@artstore/core';
import { createTestTokenIssuer, type TestTokenIssuer } from '@artstore/core/testing';
import { startStorageElement } from '@artstore/storage-element';
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
  /** Останавливает только SE (проверка отказа зависимого сервиса). */
  stopStorageElement(): Promise<void>;
  /** Журнал сервисов (уровень warn и выше) — для диагностики упавшего теста. */
  logs(): string;
  close(): Promise<void>;
}

/** Журнал сервисов пишем в память: stdout процесса теста занят отчётом node:test. */
function memoryLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: createLogger({ level: 'warn', destination }), text: () => lines.join('') };
}

export async function startIngesterStack(): Promise<IngesterStack> {
  const workDir = await mkdtemp(join(tmpdir(), 'artstore-ingester-it-'));
  const seRoot = join(workDir, 'se');
  // Каталог хранилища создаёт точка входа (как `artstore start`), SE ждёт его готовым.
  await mkdir(seRoot, { recursive: true });
  const cleanups: (() => Promise<unknown>)[] = [() => rm(workDir, { recursive: true, force: true })];
  const run = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const issuer = await createTestTokenIssuer();
    cleanups.push(() => issuer.close());
    const { logger, text } = memoryLogger();
    // Порт 0: адрес выдаёт система при listen — без гонки «проверили, что свободен, а занял другой».
    const base = {
      data_dir: workDir,
      log: { level: 'warn' },
      auth: { jwt: { jwks_url: issuer.jwksUrl, issuer: issuer.issuer, audience: issuer.audience } },
    };

    const db = await createPgliteDatabase();
    cleanups.push(() => db.close());
    const coordination = createInProcessCoordination();
    cleanups.push(() => coordination.close());
    const jobs = createInProcessJobQueue();
    cleanups.push(() => jobs.close());

    const seConfig = loadConfig({
      env: {},
      overrides: {
        ...base,
        services: { storage_element: { host: '127.0.0.1', port: 0 } },
        storage: { element_id: ELEMENT_ID, local: { base_path: seRoot } },
      },
    });
    let se: RunningService | undefined = await startStorageElement({
      config: seConfig,
      logger,
      db,
      coordination,
      jobs,
      blobs: createLocalFsBlobStore({ root: seRoot }),
    });
    const seUrl = se.url;
    const stopSe = async () => {
      const running = se;
      se = undefined;
      await running?.stop();
    };
    cleanups.push(stopSe);

    const ingesterConfig = loadConfig({
      env: {},
      overrides: {
        ...base,
        services: { ingester: { host: '127.0.0.1', port: 0 } },
        storage_elements: [{ id: ELEMENT_ID, url: seUrl }],
      },
    });
    const ingester = await startIngesterModule({ config: ingesterConfig, logger, db, coordination, jobs });
    cleanups.push(() => ingester.stop());

    return {
      issuer,
      adminToken: await issuer.mint({ name: 'tester', roles: ['admin'] }),
      seUrl,
      ingesterUrl: ingester.url,
      seRoot,
      stopStorageElement: stopSe,
      logs: text,
      close: run,
    };
  } catch (error) {
    await run();
    throw error;
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  [key: string]: unknown;
}

/** Ответ — problem+json с этим статусом и кодом, без стека. */
export async function expectProblem(response: Response, status: number, code: string): Promise<Problem> {
  const text = await response.text();
  assert.equal(response.status, status, `ожидался ${status} ${code}, получено ${response.status}: ${text}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const problem = JSON.parse(text) as Problem;
  assert.equal(problem.code, code, text);
  assert.equal(problem.status, status);
  assert.equal(problem.type, `urn:artstore:error:${code}`);
  assert.ok(!text.includes('    at '), 'в ответе не должно быть стека');
  return problem;
}

/** Номер последнего изменения в ленте SE. */
export async function seLastSeq(stack: IngesterStack): Promise<number> {
  let after = 0;
  for (;;) {
    const response = await fetch(`${stack.seUrl}/api/changes?after=${after}&limit=1000`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    assert.equal(response.status, 200, await response.clone().text());
    const page = (await response.json()) as ChangesResponse;
    if (page.changes.length === 0) return after;
    after = page.last_seq;
  }
}

/** Все файлы под корнем SE (включая временные) — относительные пути. */
export async function seFiles(stack: IngesterStack): Promise<string[]> {
  try {
    const entries = await readdir(stack.seRoot, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => relative(stack.seRoot, join(e.parentPath, e.name)))
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
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
