// Обвязка интеграционных тестов storage-element: сервис в процессе (startTestStorageElement — PGlite в
// памяти, координация и очередь в процессе, локальная ФС во временном каталоге) и издатель тестовых
// токенов с собственным JWKS — проверка RS256 настоящая.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database, Logger } from '@artstore/core';
import { buildWithCleanup, createTestTokenIssuer, expectProblemWith, listFiles, type TestTokenIssuer } from '@artstore/core/testing';
import { startTestStorageElement, type TestStorageElementOptions } from './stack.js';
import { LAYOUT_FILES } from '../src/domain/layout.js';

export const ELEMENT_ID = 'se-test';

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
  mode?: 'edit' | 'rw' | 'ro' | 'ar';
  retention?: string;
  /**
   * Общая БД нескольких SE (SPEC SE-4: несколько SE делят одну БД, таблицы различаются префиксом).
   * Переданную БД закрывает владелец, а не stop().
   */
  shared?: { db: Database; tablePrefix: string };
  /** Корень SE вне временного каталога теста (например, на маленькой tmpfs); удаляет его вызывающий. */
  basePath?: string;
  /** Журнал SE (проверка событий); по умолчанию молчащий. */
  logger?: Logger;
  storage?: TestStorageElementOptions['storage'];
  wrapBlobs?: TestStorageElementOptions['wrapBlobs'];
  blobs?: TestStorageElementOptions['blobs'];
}

export async function startSe(options: StartSeOptions = {}): Promise<RunningSe> {
  const root = await mkdtemp(join(tmpdir(), 'artstore-se-it-'));
  // base_path нарочно вложен глубже корня: «снаружи base_path» тоже лежит во временном каталоге и проверяем.
  const basePath = options.basePath ?? join(root, 'store', 'root');
  return buildWithCleanup(async (cleanup) => {
    // Обратный порядок: сначала сервис, затем порты, затем каталог; повторный stop() ничего не делает.
    cleanup.defer(() => rm(root, { recursive: true, force: true }));
    const issuer = await createTestTokenIssuer();
    cleanup.defer(() => issuer.close());
    const se = await startTestStorageElement({
      elementId: ELEMENT_ID,
      issuer,
      dataDir: join(root, 'data'),
      basePath,
      maxSize: options.maxSize,
      mode: options.mode,
      retention: options.retention,
      shared: options.shared,
      logger: options.logger,
      storage: options.storage,
      wrapBlobs: options.wrapBlobs,
      blobs: options.blobs,
    });
    cleanup.defer(() => se.close());
    return {
      url: se.url,
      root,
      basePath,
      tmpDir: join(basePath, '.artstore', 'tmp'),
      db: se.backends.db,
      issuer,
      token: (roles, extra = {}) =>
        issuer.mint({ roles, name: extra.name ?? `user-${roles.join('-')}`, pwd_change: extra.pwd_change }),
      stop: () => cleanup.run(),
    };
  });
}


/** Файлы данных и attr в корне SE: без служебного .artstore/ и файлов разметки корня (BY-1). */
export async function listStored(basePath: string): Promise<string[]> {
  return (await listFiles(basePath)).filter((f) => !f.startsWith('.artstore/') && !LAYOUT_FILES.has(f));
}

/** Ошибки SE — полный problem+json: type по коду и строковый detail. */
export const expectProblem = expectProblemWith({ type: true, detail: true });

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

/** Ответ загрузки через node:http; status 'reset' — сервер оборвал соединение, не дав ответа. */
export interface StreamUploadResult {
  status: number | 'reset';
  body: string;
}

/**
 * Загрузка телом по частям: без Content-Length (Transfer-Encoding: chunked, так ingester шлёт файлы из
 * multipart) или с заявленной длиной contentLength. Части — любой, в том числе асинхронный, источник:
 * тест может приостановить тело посреди загрузки и что-то сделать с диском.
 */
export function streamUpload(
  se: RunningSe,
  token: string,
  name: string,
  parts: AsyncIterable<Buffer> | Iterable<Buffer>,
  contentLength?: number,
): Promise<StreamUploadResult> {
  return new Promise((resolvePromise) => {
    const req = httpRequest(`${se.url}/api/files`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        'artstore-name': encodeURIComponent(name),
        ...(contentLength === undefined ? {} : { 'content-length': String(contentLength) }),
      },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolvePromise({ status: 'reset', body: '' }));
    });
    req.on('error', () => resolvePromise({ status: 'reset', body: '' }));
    void (async () => {
      for await (const part of parts) req.write(part);
      req.end();
    })().catch((error: unknown) => req.destroy(error as Error));
  });
}

/** chunked-загрузка bytes, разрезанных на parts частей. */
export function chunkedUpload(se: RunningSe, token: string, name: string, bytes: Buffer, parts: number): Promise<StreamUploadResult> {
  const size = Math.ceil(bytes.length / parts);
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  return streamUpload(se, token, name, pieces);
}

/** GET с токеном: ответ JSON со статусом 200 или падение с телом ответа. */
export async function getJson<T>(se: RunningSe, path: string, token: string): Promise<T> {
  const response = await fetch(`${se.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  assert.equal(response.status, 200, `${path}: ${text}`);
  return JSON.parse(text) as T;
}
