// Стенд интеграционных тестов query-module в одном процессе: настоящий storage-element и query-module
// на одной встроенной БД PGlite в памяти (как в `artstore start all`: у SE таблицы с префиксом se_, у
// query — свои), координация — общая (события SE будят query) или раздельная (событий нет, остаётся опрос).
//
// Сервисный токен для лент SE query-module получает по client_credentials у admin-module. Вместо
// настоящего admin-module здесь — маленький конечный пункт POST /api/auth/token, который проверяет
// client_id/client_secret и выдаёт токен тестового издателя с ролью indexer. Честно: query-module
// проходит весь свой путь (запрос токена, кеш, Bearer к SE), а SE проверяет подпись RS256 по JWKS и
// право changes:read. Настоящий admin-module стоил бы ещё одной PGlite и bcrypt на каждый вход, а
// проверял бы admin-module, а не query-module.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInProcessCoordination } from '@artstore/adapters';
import { SERVICE_BACKENDS, type ServiceBackend } from '@artstore/adapters/testing';
import { formatConsistencyToken, type FileMetadata, type UploadedFile } from '@artstore/contracts';
import { loadConfig, type Coordination, type Database, type JobQueue } from '@artstore/core';
import {
  buildWithCleanup,
  createMemoryLogger,
  createTestTokenIssuer,
  expectProblemWith,
  type TestTokenIssuer,
  startTokenEndpoint,
} from '@artstore/core/testing';
import { lastSeq, startTestStorageElement, uploadOk } from '@artstore/storage-element/testing';
import { startQueryModule } from '../src/index.js';

export const ELEMENT_ID = 'se-q';
const CLIENT_ID = 'query-module';
const CLIENT_SECRET = 'секрет-клиента-для-теста';

export interface QueryStackOptions {
  /** true — SE и query делят координацию (события доходят); false — у каждого своя. */
  sharedCoordination: boolean;
  pollIntervalMs: number;
  consistencyWaitMs: number;
  /** Набор портов; по умолчанию встроенный (PGlite, координация в процессе). */
  backend?: ServiceBackend;
  /** storage.mode SE (SPEC SE-7); по умолчанию edit. rw — чтобы перевести SE через API в ro и ar. */
  seMode?: 'edit' | 'rw';
}

export interface QueryStack {
  issuer: TestTokenIssuer;
  /** Токен с ролью admin (загрузка на SE напрямую, чтение ленты). */
  adminToken: string;
  seUrl: string;
  /** Корень хранилища SE на диске: байты и attr-файл лежат по record.path от него (порча в тестах QR-7). */
  seBasePath: string;
  queryUrl: string;
  /** Ещё один экземпляр query на той же БД и координации (кеш и перестроение на нескольких экземплярах). */
  startQueryInstance(): Promise<string>;
  /** Координация query: тесты публикуют в неё события SE (голова ленты, SPEC QR-1). */
  coordination: Coordination;
  /** Сколько раз query-module запрашивал сервисный токен. */
  readonly tokenRequests: number;
  /** Очередь задач, общая SE и query: в ней события аудита (SPEC AD-9). */
  jobs: JobQueue;
  /** БД query-module (общая с SE): тесты поиска кладут в индекс строки других SE (SPEC QR-8). */
  db: Database;
  stopStorageElement(): Promise<void>;
  logs(): string;
  close(): Promise<void>;
}

export async function startQueryStack(options: QueryStackOptions): Promise<QueryStack> {
  const workDir = await mkdtemp(join(tmpdir(), 'artstore-query-it-'));
  return buildWithCleanup(async (cleanup) => {
    cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
    const issuer = await createTestTokenIssuer();
    cleanup.defer(() => issuer.close());
    let tokenRequests = 0;
    const tokens = await startTokenEndpoint(issuer, {
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      roles: ['indexer'],
      onRequest: () => tokenRequests++,
    });
    cleanup.defer(() => tokens.close());
    const { logger, text } = createMemoryLogger('warn');

    // Одна БД на SE и query, как в `start all`: PGlite поднимается секунды, вторая удвоила бы время.
    // На PostgreSQL таблицы SE — с префиксом se_ в той же одноразовой базе, что и индекс query.
    const backend = await (options.backend ?? SERVICE_BACKENDS[0]!).open(cleanup, 'query_stack');
    const se = await startTestStorageElement({
      elementId: ELEMENT_ID,
      issuer,
      dataDir: workDir,
      basePath: join(workDir, 'se'),
      mode: options.seMode,
      logger,
      shared: backend.sharedDb
        ? { db: backend.sharedDb, tablePrefix: 'se_', coordination: backend.coordination }
        : undefined,
    });
    cleanup.defer(() => se.close());
    const queryCoordination = options.sharedCoordination
      ? se.backends.coordination
      : createInProcessCoordination();
    if (!options.sharedCoordination) cleanup.defer(() => queryCoordination.close());

    // Порт 0: адрес выдаёт система при listen — без гонки «проверили, что свободен, а занял другой».
    const queryConfig = loadConfig({
      env: {},
      overrides: {
        data_dir: workDir,
        log: { level: 'warn' },
        auth: { jwt: issuer.jwtConfig, client: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET } },
        services: { query: { host: '127.0.0.1', port: 0 }, admin: { url: tokens.url } },
        storage_elements: [{ id: ELEMENT_ID, url: se.url }],
        query: { poll_interval_ms: options.pollIntervalMs, consistency_wait_ms: options.consistencyWaitMs },
      },
    });
    const startQuery = async () => {
      const instance = await startQueryModule({ config: queryConfig, logger, ...se.backends, coordination: queryCoordination });
      cleanup.defer(() => instance.stop());
      return instance.url;
    };
    const queryUrl = await startQuery();

    return {
      issuer,
      adminToken: await issuer.mint({ name: 'tester', roles: ['admin'] }),
      seUrl: se.url,
      seBasePath: join(workDir, 'se'),
      queryUrl,
      startQueryInstance: startQuery,
      coordination: queryCoordination,
      get tokenRequests() {
        return tokenRequests;
      },
      jobs: se.backends.jobs,
      db: se.backends.db,
      stopStorageElement: se.stop,
      logs: text,
      close: () => cleanup.run(),
    };
  });
}

/** Загрузка прямо на SE по внутреннему протоколу ingester → SE; токен согласованности — как у ingester. */
export async function uploadToSe(
  stack: QueryStack,
  name: string,
  bytes: Buffer | string,
  options: { contentType?: string; metadata?: Partial<FileMetadata> } = {},
): Promise<UploadedFile> {
  const metadata: FileMetadata = { description: '', tags: [], custom: {}, ...options.metadata };
  const { seq, ...record } = await uploadOk({ url: stack.seUrl }, bytes, {
    token: stack.adminToken,
    name,
    metadata,
    contentType: options.contentType,
  });
  return { ...record, consistency_token: formatConsistencyToken(ELEMENT_ID, seq) };
}

/** Номер последнего изменения в ленте SE. */
export function seLastSeq(stack: QueryStack): Promise<number> {
  return lastSeq({ url: stack.seUrl }, stack.adminToken);
}

/** Позиция индекса query по SE из /health/ready (SPEC QR-1: отставание видно в готовности). */
export async function indexedSeq(stack: QueryStack): Promise<number> {
  const response = await fetch(`${stack.queryUrl}/health/ready`);
  const body = (await response.json()) as {
    checks: { index?: { status: string; detail?: Record<string, { last_seq: number }> } };
  };
  assert.equal(response.status, 200, JSON.stringify(body));
  const seq = body.checks.index?.detail?.[ELEMENT_ID]?.last_seq;
  assert.equal(typeof seq, 'number', JSON.stringify(body));
  return seq!;
}

/** Ждёт, пока индекс дойдёт до seq; возвращает затраченное время, мс. */
export async function waitIndexed(stack: QueryStack, seq: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const current = await indexedSeq(stack);
    const elapsed = performance.now() - started;
    if (current >= seq) return elapsed;
    if (elapsed > timeoutMs)
      assert.fail(`индекс не дошёл до seq ${seq} за ${timeoutMs} мс (сейчас ${current})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Ошибки query — problem+json с type по коду (или одному из кодов); detail не обязателен. */
export const expectProblem = expectProblemWith({ type: true });
