// Обвязка интеграционных тестов storage-element: сервис в процессе (startTestStorageElement — PGlite в
// памяти, координация и очередь в процессе, локальная ФС во временном каталоге) и издатель тестовых
// токенов с собственным JWKS — проверка RS256 настоящая.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '@artstore/core';
import { buildWithCleanup, createTestTokenIssuer, expectProblemWith, listFiles, type TestTokenIssuer } from '@artstore/core/testing';
import { startTestStorageElement } from './stack.js';
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
}

export async function startSe(options: StartSeOptions = {}): Promise<RunningSe> {
  const root = await mkdtemp(join(tmpdir(), 'artstore-se-it-'));
  // base_path нарочно вложен глубже корня: «снаружи base_path» тоже лежит во временном каталоге и проверяем.
  const basePath = join(root, 'store', 'root');
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
