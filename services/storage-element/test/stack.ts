// Тестовый вход @artstore/storage-element/testing: настоящий storage-element в процессе теста и
// помощники его HTTP-протокола. Им пользуются тесты самого SE и стенды ingester-module и query-module.
//
// Почему файл лежит в test/, а не в src/: стенду нужны встроенные адаптеры (PGlite, координация и
// очередь в процессе, локальная ФС), а правило ESLint запрещает @artstore/adapters в services/*/src/**
// кроме main.ts — адаптеры выбирает только точка входа. Из test/ адаптеры брать можно (они в
// devDependencies), поэтому правило остаётся без исключений, а тестовый код не попадает в src/.
// Принимать адаптеры параметрами было бы хуже: каждый вызывающий повторял бы одну и ту же подстановку.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import {
  createInProcessCoordination,
  createInProcessJobQueue,
  createLocalFsBlobStore,
  createPgliteDatabase,
} from '@artstore/adapters';
import type { ChangesResponse, FileRecord } from '@artstore/contracts';
import { createLogger, loadConfig, type Backends, type BlobStore, type Coordination, type Database, type Logger } from '@artstore/core';
import { buildWithCleanup, type TestTokenIssuer } from '@artstore/core/testing';
import { startStorageElement } from '../src/index.js';

export interface TestStorageElementOptions {
  elementId: string;
  /** Издатель токенов: SE проверяет подпись по его JWKS. Закрывает издателя вызывающий. */
  issuer: Pick<TestTokenIssuer, 'jwtConfig'>;
  dataDir: string;
  /** Корень хранилища (storage.local.base_path); создаётся здесь, удаляет вызывающий вместе с dataDir. */
  basePath: string;
  /** По умолчанию — молчащий журнал; уровень в конфигурации берётся у журнала. */
  logger?: Logger;
  maxSize?: number;
  /** storage.mode (SPEC SE-7); по умолчанию edit. */
  mode?: 'edit' | 'rw' | 'ro' | 'ar';
  /** storage.retention (SPEC SE-9); по умолчанию permanent. */
  retention?: string;
  /** Прочие ключи секции storage (capacity, retention_warnings …) — поверх перечисленных выше. */
  storage?: Record<string, unknown>;
  /** Хранилище байтов вместо локальной ФС в basePath (S3 — SPEC SE-10); basePath тогда хранит только WAL. */
  blobs?: BlobStore;
  /** Порт HTTP; по умолчанию 0 (выдаёт система). Свой — для перезапуска SE по тому же адресу. */
  port?: number;
  /** Обёртка хранилища байтов — внедрение сбоев (ENOSPC посреди записи и т. п.). */
  wrapBlobs?: (blobs: BlobStore) => BlobStore;
  /**
   * Общая БД нескольких SE (SPEC SE-4: несколько SE делят одну БД, таблицы различаются префиксом).
   * Переданную БД закрывает владелец, а не close(). Без неё SE получает свою PGlite в памяти.
   */
  shared?: {
    db: Database;
    tablePrefix: string;
    /** Общая координация узлов одного SE (выборы мастера, SPEC SE-12); закрывает владелец. */
    coordination?: Coordination;
  };
}

export interface TestStorageElement {
  url: string;
  basePath: string;
  /** Порты SE: их можно отдать второму сервису того же процесса, как в `artstore start all`. */
  backends: Backends;
  /** Останавливает только HTTP-сервис SE (проверка отказа зависимого сервиса); порты остаются. */
  stop: () => Promise<void>;
  /** Останавливает сервис и закрывает созданные здесь порты; повторный вызов ничего не делает. */
  close: () => Promise<void>;
}

/**
 * Запускает SE на порту 0 (адрес выдаёт система при listen — без гонки «проверили, что свободен, а
 * занял другой»). Если старт отказал — созданное закрывается, а ошибка пробрасывается как есть.
 */
export async function startTestStorageElement(options: TestStorageElementOptions): Promise<TestStorageElement> {
  // Каталог хранилища создаёт точка входа (как `artstore start`), SE ждёт его готовым.
  await mkdir(options.basePath, { recursive: true });
  return buildWithCleanup(async (cleanup) => {
    let db: Database;
    if (options.shared) db = options.shared.db;
    else {
      const own = await createPgliteDatabase();
      cleanup.defer(() => own.close());
      db = own;
    }
    let coordination: Coordination;
    if (options.shared?.coordination) coordination = options.shared.coordination;
    else {
      const own = createInProcessCoordination();
      cleanup.defer(() => own.close());
      coordination = own;
    }
    const jobs = createInProcessJobQueue();
    cleanup.defer(() => jobs.close());
    const logger = options.logger ?? createLogger({ level: 'silent' });
    const config = loadConfig({
      env: {},
      overrides: {
        data_dir: options.dataDir,
        log: { level: logger.level },
        // Секция database нужна здесь только ради table_prefix: сервис получает готовый порт db, а выбор
        // PostgreSQL/PGlite по этой секции делает точка входа CLI, которой в тесте нет.
        ...(options.shared
          ? { database: { host: '127.0.0.1', username: 'unused', database: 'unused', table_prefix: options.shared.tablePrefix } }
          : {}),
        services: { storage_element: { host: '127.0.0.1', port: options.port ?? 0 } },
        // Остановка в тестах не ждёт зависшие соединения по 10 с.
        http: { shutdown_grace_ms: 1000 },
        auth: { jwt: options.issuer.jwtConfig },
        storage: {
          element_id: options.elementId,
          local: { base_path: options.basePath },
          ...(options.maxSize === undefined ? {} : { max_size: options.maxSize }),
          ...(options.mode === undefined ? {} : { mode: options.mode }),
          ...(options.retention === undefined ? {} : { retention: options.retention }),
          ...options.storage,
        },
      },
    });
    const blobs = options.blobs ?? createLocalFsBlobStore({ root: options.basePath });
    const service = await startStorageElement({
      config,
      logger,
      db,
      coordination,
      jobs,
      blobs: options.wrapBlobs ? options.wrapBlobs(blobs) : blobs,
    });
    const url = service.url;
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await service.stop();
    };
    cleanup.defer(stop);
    return { url, basePath: options.basePath, backends: { db, coordination, jobs }, stop, close: () => cleanup.run() };
  });
}

// ── Протокол SE (SPEC §9, внутренний API ingester → SE и ленты для query) ──────────────────────────

/** Куда обращаться: запущенный SE или любой объект с его адресом. */
export interface SeAddress {
  url: string;
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
  /** Заранее назначенный идентификатор файла (заголовок artstore-file-id). */
  fileId?: string;
}

/** Сырая загрузка на SE: POST /api/files, имя — percent-encoded, метаданные — base64url(JSON). */
export function upload(se: SeAddress, body: Buffer | string, options: UploadOptions): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/octet-stream',
  };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.rawName !== undefined) headers['artstore-name'] = options.rawName;
  else if (options.name !== undefined) headers['artstore-name'] = encodeURIComponent(options.name);
  if (options.rawMetadata !== undefined) headers['artstore-metadata'] = options.rawMetadata;
  else if (options.metadata !== undefined) headers['artstore-metadata'] = encodeMetadata(options.metadata);
  if (options.fileId !== undefined) headers['artstore-file-id'] = options.fileId;
  return fetch(`${se.url}/api/files`, { method: 'POST', headers, body });
}

export type StoredRecord = FileRecord & { seq: number };

/** Загрузка, которая обязана пройти (201); возвращает запись SE вместе с её seq в ленте. */
export async function uploadOk(se: SeAddress, body: Buffer | string, options: UploadOptions): Promise<StoredRecord> {
  const response = await upload(se, body, options);
  const text = await response.text();
  assert.equal(response.status, 201, `загрузка ${JSON.stringify(options.name)}: ${response.status} ${text}`);
  return JSON.parse(text) as StoredRecord;
}

/** Страница ленты изменений SE; query — строка параметров (after, limit). */
export async function changes(se: SeAddress, token: string, query: string): Promise<ChangesResponse> {
  const response = await fetch(`${se.url}/api/changes?${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text) as ChangesResponse;
}

/** Номер последнего изменения в ленте SE (лента читается постранично до конца). */
export async function lastSeq(se: SeAddress, token: string): Promise<number> {
  let after = 0;
  for (;;) {
    const page = await changes(se, token, `after=${after}&limit=1000`);
    if (page.changes.length === 0) return after;
    after = page.last_seq;
  }
}

/** seq изменения SE из consistency_token «<element_id>:<seq>». */
export function seqOf(file: { consistency_token: string }): number {
  return Number(file.consistency_token.split(':')[1]);
}
