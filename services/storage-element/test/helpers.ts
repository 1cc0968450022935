// Обвязка интеграционных тестов storage-element: сервис в процессе на свободном порту, встроенные
// реализации портов (PGlite в памяти, координация и очередь в процессе, локальная ФС во временном
// каталоге) и издатель тестовых токенов с собственным JWKS — проверка RS256 настоящая.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import {
  createInProcessCoordination,
  createInProcessJobQueue,
  createLocalFsBlobStore,
  createPgliteDatabase,
} from '@artstore/adapters';
import {
  createLogger,
  loadConfig,
  type Coordination,
  type Database,
  type JobQueue,
  type RunningService,
} from '@artstore/core';
import { createTestTokenIssuer, type TestTokenIssuer } from '@artstore/core/testing';
import type { FileRecord } from '@artstore/contracts';
import { startStorageElement } from '../src/index.js';

export const ELEMENT_ID = 'se-test';

/** Свободный порт: слушаем 0, запоминаем выданный системой номер и закрываем. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningSe {
  url: string;
  /** Временный корень: внутри него и data_dir, и base_path — всё, что тест создаёт на диске. */
  root: string;
  basePath: string;
  tmpDir: string;
  db: Database;
  issuer: TestTokenIssuer;
  token(roles: string[], extra?: { name?: string; pwd_change?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

export interface StartSeOptions {
  maxSize?: number;
  /**
   * Общая БД нескольких SE (SPEC SE-4: несколько SE делят одну БД, таблицы различаются префиксом).
   * Переданную БД закрывает владелец, а не stop().
   */
  shared?: { db: Database; tablePrefix: string };
}

export async function startSe(options: StartSeOptions = {}): Promise<RunningSe> {
  const root = await mkdtemp(join(tmpdir(), 'artstore-se-it-'));
  // base_path нарочно вложен глубже корня: «снаружи base_path» тоже лежит во временном каталоге и проверяем.
  const basePath = join(root, 'store', 'root');
  await mkdir(basePath, { recursive: true });
  const cleanups: (() => Promise<unknown>)[] = [() => rm(root, { recursive: true, force: true })];
  const stopAll = async () => {
    // Обратный порядок: сначала сервис, затем порты, затем каталог; повторный вызов ничего не делает.
    for (let cleanup = cleanups.pop(); cleanup; cleanup = cleanups.pop())
      await cleanup().catch(() => undefined);
  };
  try {
    const issuer = await createTestTokenIssuer();
    cleanups.push(() => issuer.close());
    let db: Database;
    if (options.shared) db = options.shared.db;
    else {
      const own = await createPgliteDatabase();
      cleanups.push(() => own.close());
      db = own;
    }
    const coordination: Coordination = createInProcessCoordination();
    cleanups.push(() => coordination.close());
    const jobs: JobQueue = createInProcessJobQueue();
    cleanups.push(() => jobs.close());
    const port = await freePort();
    const config = loadConfig({
      env: {},
      overrides: {
        data_dir: join(root, 'data'),
        log: { level: 'silent' },
        // Секция database нужна здесь только ради table_prefix: сервис получает готовый порт db, а выбор
        // PostgreSQL/PGlite по этой секции делает точка входа CLI, которой в тесте нет.
        ...(options.shared
          ? {
              database: {
                host: '127.0.0.1',
                username: 'unused',
                database: 'unused',
                table_prefix: options.shared.tablePrefix,
              },
            }
          : {}),
        services: { storage_element: { host: '127.0.0.1', port } },
        auth: { jwt: { jwks_url: issuer.jwksUrl, issuer: issuer.issuer, audience: issuer.audience } },
        storage: {
          element_id: ELEMENT_ID,
          local: { base_path: basePath },
          ...(options.maxSize === undefined ? {} : { max_size: options.maxSize }),
        },
      },
    });
    const service: RunningService = await startStorageElement({
      config,
      logger: createLogger({ level: 'silent' }),
      db,
      coordination,
      jobs,
      blobs: createLocalFsBlobStore({ root: basePath }),
    });
    cleanups.push(() => service.stop());
    return {
      url: service.url,
      root,
      basePath,
      tmpDir: join(basePath, '.artstore', 'tmp'),
      db,
      issuer,
      token: (roles, extra = {}) =>
        issuer.mint({ roles, name: extra.name ?? `user-${roles.join('-')}`, pwd_change: extra.pwd_change }),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Все файлы под dir (относительные пути через «/»); отсутствующий каталог — пустой список. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/** Данные и attr-файлы SE без служебного каталога .artstore. */
export async function listStored(basePath: string): Promise<string[]> {
  return (await listFiles(basePath)).filter((f) => !f.startsWith('.artstore/'));
}

export function encodeMetadata(metadata: unknown): string {
  return Buffer.from(JSON.stringify(metadata), 'utf8').toString('base64url');
}

export interface UploadOptions {
  token?: string;
  name?: string;
  /** Готовое значение заголовка artstore-name (для проверки кривого кодирования). */
  rawName?: string;
  metadata?: unknown;
  rawMetadata?: string;
  contentType?: string;
}

/** Сырая загрузка на SE: POST /api/files, имя — percent-encoded, метаданные — base64url(JSON). */
export function upload(se: RunningSe, body: Buffer, options: UploadOptions): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/octet-stream',
  };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.rawName !== undefined) headers['artstore-name'] = options.rawName;
  else if (options.name !== undefined) headers['artstore-name'] = encodeURIComponent(options.name);
  if (options.rawMetadata !== undefined) headers['artstore-metadata'] = options.rawMetadata;
  else if (options.metadata !== undefined) headers['artstore-metadata'] = encodeMetadata(options.metadata);
  return fetch(`${se.url}/api/files`, { method: 'POST', headers, body });
}

export type StoredRecord = FileRecord & { seq: number };

export async function uploadOk(se: RunningSe, body: Buffer, options: UploadOptions): Promise<StoredRecord> {
  const response = await upload(se, body, options);
  const text = await response.text();
  assert.equal(response.status, 201, `загрузка ${JSON.stringify(options.name)}: ${response.status} ${text}`);
  return JSON.parse(text) as StoredRecord;
}

export async function expectProblem(
  response: Response,
  status: number,
  code: string,
): Promise<Record<string, unknown>> {
  const text = await response.text();
  assert.equal(response.status, status, `ожидался ${status} ${code}, получено ${response.status}: ${text}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const problem = JSON.parse(text) as Record<string, unknown>;
  assert.equal(problem.code, code);
  assert.equal(problem.status, status);
  assert.equal(problem.type, `urn:artstore:error:${code}`);
  assert.equal(typeof problem.detail, 'string');
  assert.ok(!text.includes('    at '), 'в ответе не должно быть стека');
  return problem;
}

export interface ChangesPage {
  element_id: string;
  changes: { seq: number; record: FileRecord }[];
  last_seq: number;
}

export async function changes(se: RunningSe, token: string, query: string): Promise<ChangesPage> {
  const response = await fetch(`${se.url}/api/changes?${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text) as ChangesPage;
}

/** Ждёт условия, опрашивая раз в 10 мс; по истечении времени — падение с описанием. */
export async function waitFor(
  what: string,
  condition: () => Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`не дождались: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
