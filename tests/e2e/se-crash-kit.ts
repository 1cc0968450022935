// Инструменты теста устойчивости элемента хранения к kill -9 (issue «Storage element», «Bad input and
// faults»): SE отдельным процессом `artstore start storage-element`, пачка параллельных сырых загрузок,
// обход корня хранилища и журнала WAL после сбоя. Сами сценарии — в se-crash.test.ts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChangesResponse, FileRecord } from '@artstore/contracts';
import { CleanupStack, freePort, type TestTokenIssuer } from '@artstore/core/testing';
import { stringify } from 'yaml';
import {
  verifyAttrSignature,
  type AttrIntegrity,
  type PublicSigningKey,
} from '../../services/storage-element/src/domain/attr-signing.js';
import { openWal, walDirectory, type WalRecord } from '../../services/storage-element/src/wal/index.js';
import { spawnService, stopChild, waitServiceReady, type ServiceProcess } from './harness.js';

export const ELEMENT_ID = 'se-crash';
const ATTR_SUFFIX = '.attr.json';
/** Служебные файлы корня SE (layout.ts): не данные и не attr. */
const LAYOUT_FILES = new Set(['0=artstore_se_1.0', 'artstore_layout.json', 'README.md']);

// ── Процесс SE ────────────────────────────────────────────────────────────────────────────────────

export interface SeNode {
  workDir: string;
  dataDir: string;
  /** Корень хранилища: <data_dir>/storage/<element_id> (base_path не задан). */
  basePath: string;
  url: string;
  configFile: string;
  cleanup: CleanupStack;
}

/**
 * Каталог, свободный порт и YAML-конфигурация SE; всё созданное удаляет cleanup.run(). template —
 * data_dir уже однажды запущенного и штатно остановленного SE: копия избавляет каждый прогон от
 * initdb PGlite (секунды на старт), а прогоны остаются независимыми.
 */
export async function prepareSeNode(
  issuer: TestTokenIssuer,
  label: string,
  template?: string,
  /** Ключи конфигурации поверх стандартных (секция storage сливается, а не заменяется). */
  overrides: { storage?: Record<string, unknown> } & Record<string, unknown> = {},
): Promise<SeNode> {
  const cleanup = new CleanupStack();
  const workDir = await mkdtemp(join(tmpdir(), `artstore-se-crash-${label}-`));
  cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
  const dataDir = join(workDir, 'data');
  if (template !== undefined) await cp(template, dataDir, { recursive: true });
  const port = await freePort();
  const configFile = join(workDir, 'se.yaml');
  await writeFile(
    configFile,
    stringify({
      data_dir: dataDir,
      log: { level: 'warn' },
      services: { storage_element: { host: '127.0.0.1', port } },
      auth: { jwt: issuer.jwtConfig },
      ...overrides,
      storage: { element_id: ELEMENT_ID, ...overrides.storage },
    }),
  );
  const local = overrides.storage?.local as { base_path?: string } | undefined;
  const elementId = (overrides.storage?.element_id as string | undefined) ?? ELEMENT_ID;
  return {
    workDir,
    dataDir,
    basePath: local?.base_path ?? join(dataDir, 'storage', elementId),
    url: `http://127.0.0.1:${port}`,
    configFile,
    cleanup,
  };
}

/** Шаблон data_dir: SE запускается один раз (разметка корня, ключ подписи, схема кеша) и останавливается. */
export async function prepareTemplate(
  issuer: TestTokenIssuer,
): Promise<{ dataDir: string; cleanup: CleanupStack }> {
  const node = await prepareSeNode(issuer, 'template');
  try {
    const se = spawnSe(node);
    await waitReady(node, se);
    await stopGracefully(se);
  } catch (error) {
    await node.cleanup.run();
    throw error;
  }
  return { dataDir: node.dataDir, cleanup: node.cleanup };
}

export type SeProcess = ServiceProcess;

/**
 * Запускает `artstore start storage-element`. faults — значение ARTSTORE_TEST_FAULTS (без него
 * переменная из окружения теста не наследуется); logLevel переопределяет log.level через окружение.
 * Остановка зарегистрирована в cleanup узла: процесс не переживёт тест даже при падении проверки.
 */
export function spawnSe(node: SeNode, options: { faults?: string; logLevel?: string } = {}): SeProcess {
  return spawnService('storage-element', node.configFile, {
    cwd: node.workDir,
    cleanup: node.cleanup,
    ...(options.faults === undefined ? {} : { env: { ARTSTORE_TEST_FAULTS: options.faults } }),
    ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
  });
}

/** Ждёт /health/ready SE; вышедший процесс — сразу ошибка с его выводом. */
export function waitReady(node: SeNode, se: SeProcess, timeoutMs = 60_000): Promise<void> {
  return waitServiceReady(node.url, se, timeoutMs);
}

/** SIGKILL и ожидание выхода; вернувшийся сигнал обязан быть SIGKILL (процесс не успел выйти сам). */
export async function killHard(se: SeProcess): Promise<void> {
  se.child.kill('SIGKILL');
  const { signal } = await se.exited;
  assert.equal(signal, 'SIGKILL', `SE вышел не от SIGKILL\n${se.output()}`);
}

/** Штатная остановка (SIGTERM): SE закрывает WAL и БД и выходит с кодом 0. */
export async function stopGracefully(se: SeProcess): Promise<void> {
  const code = await stopChild(se.child, 15_000);
  assert.equal(code, 0, `SE при остановке вышел с кодом ${code}\n${se.output()}`);
}

export interface RecoveryFigures {
  finished: number;
  rolled_back: number;
  corrupted: number;
  replayed: number;
  /** startup_seconds из строки artstore_started: старт внутри процесса, без загрузки модулей. */
  startup_seconds: number | null;
}

/** Итог восстановления из строки журнала `wal_recovery_completed` (уровень info). */
export function recoveryFigures(output: string): RecoveryFigures {
  const line = output.split('\n').find((l) => l.includes('"wal_recovery_completed"'));
  assert.ok(line, `в выводе SE нет wal_recovery_completed:\n${output}`);
  const figures = JSON.parse(line) as Omit<RecoveryFigures, 'startup_seconds'>;
  const started = output.split('\n').find((l) => l.includes('"artstore_started"'));
  return {
    ...figures,
    startup_seconds: started ? (JSON.parse(started) as { startup_seconds: number }).startup_seconds : null,
  };
}

// ── Загрузки ──────────────────────────────────────────────────────────────────────────────────────

export interface PlannedUpload {
  index: number;
  name: string;
  body: Buffer;
  sha256: string;
}

export type UploadOutcome =
  | { kind: 'acknowledged'; record: FileRecord }
  /** Любой другой исход: обрыв соединения, ответ не 201, ответ без полного тела. */
  | { kind: 'failed'; reason: string };

/**
 * Размеры 0 B … 2 MiB: крайние значения есть всегда, остальные смещены к малым (куб равномерного),
 * чтобы 200 загрузок укладывались в бюджет времени, но крупные файлы тоже попадали под kill.
 */
export function planUploads(count: number, label: string): PlannedUpload[] {
  const max = 2 * 1024 * 1024;
  return Array.from({ length: count }, (_, index) => {
    const size = index === 0 ? 0 : index === 1 ? max : Math.floor(max * Math.random() ** 3);
    const body = randomBytes(size);
    // Кириллица и пробелы в имени — заодно проверка безопасного имени (SPEC SE-1) под нагрузкой.
    const name = `${label}-${index} Отчёт.bin`;
    return { index, name, body, sha256: createHash('sha256').update(body).digest('hex') };
  });
}

/** Сырая загрузка на SE (внутренний протокол ingester → SE). */
export async function uploadOne(url: string, token: string, upload: PlannedUpload): Promise<UploadOutcome> {
  try {
    const response = await fetch(`${url}/api/files`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'artstore-name': encodeURIComponent(upload.name),
        // content-length fetch ставит сам по длине Buffer (явный заголовок undici отвергает).
        'content-type': 'application/octet-stream',
      },
      body: upload.body,
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    if (response.status !== 201)
      return { kind: 'failed', reason: `${response.status} ${text.slice(0, 200)}` };
    return { kind: 'acknowledged', record: JSON.parse(text) as FileRecord };
  } catch (error) {
    const cause = (error as Error).cause;
    return {
      kind: 'failed',
      reason: `${(error as Error).message}${cause instanceof Error ? `: ${cause.message}` : ''}`,
    };
  }
}

/** Параллельно для всех элементов, но не больше limit одновременно. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  action: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await action(items[next++]!);
  });
  await Promise.all(workers);
}

// ── Проверки после восстановления ─────────────────────────────────────────────────────────────────

/** Вся лента изменений SE: id → последняя запись. */
export async function readChangeFeed(url: string, token: string): Promise<Map<string, FileRecord>> {
  const records = new Map<string, FileRecord>();
  let after = 0;
  for (;;) {
    const response = await fetch(`${url}/api/changes?after=${after}&limit=1000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const text = await response.text();
    assert.equal(response.status, 200, `лента изменений: ${text}`);
    const page = JSON.parse(text) as ChangesResponse;
    if (page.changes.length === 0) return records;
    for (const change of page.changes) records.set(change.record.id, change.record);
    assert.ok(page.last_seq > after, 'лента изменений не продвигается');
    after = page.last_seq;
  }
}

/** sha256 байтов, которые SE отдаёт по GET /api/files/{id}/content; null — не 200. */
export async function downloadSha256(
  url: string,
  token: string,
  id: string,
): Promise<{ status: number; sha256: string | null }> {
  const response = await fetch(`${url}/api/files/${id}/content`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    return { status: response.status, sha256: null };
  }
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: 200, sha256: createHash('sha256').update(bytes).digest('hex') };
}

interface AttrOnDisk {
  id: string;
  path: string;
  size: number;
  sha256: string;
  original_name: string;
  stored: { size: number; sha256: string };
  integrity?: AttrIntegrity;
}

export interface StorageWalk {
  /** Ключи данных (относительно корня), у которых есть attr. */
  paired: Map<string, AttrOnDisk>;
  /** Данные без attr рядом. */
  dataWithoutAttr: string[];
  /** attr без данных. */
  attrWithoutData: string[];
  /** attr, которые не читаются как JSON. */
  unreadableAttrs: string[];
  /** Все attr, которые удалось прочитать (в том числе без данных). */
  attrs: AttrOnDisk[];
  /** Файлы в .artstore/tmp. */
  tempFiles: string[];
}

/** Обходит корень SE как оператор с копией данных: только файлы, без БД и без ArtStore. */
export async function walkStorage(basePath: string): Promise<StorageWalk> {
  const entries = await readdir(basePath, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) =>
      join(e.parentPath, e.name)
        .slice(basePath.length + 1)
        .split('\\')
        .join('/'),
    )
    .filter((key) => !key.startsWith('.artstore/') && !LAYOUT_FILES.has(key));
  const fileSet = new Set(files);
  const walk: StorageWalk = {
    paired: new Map(),
    dataWithoutAttr: [],
    attrWithoutData: [],
    unreadableAttrs: [],
    attrs: [],
    tempFiles: [],
  };
  for (const key of files) {
    if (key.endsWith(ATTR_SUFFIX)) {
      const dataKey = key.slice(0, -ATTR_SUFFIX.length);
      let attr: AttrOnDisk;
      try {
        attr = JSON.parse(await readFile(join(basePath, key), 'utf8')) as AttrOnDisk;
      } catch {
        walk.unreadableAttrs.push(key);
        continue;
      }
      walk.attrs.push(attr);
      if (fileSet.has(dataKey)) walk.paired.set(dataKey, attr);
      else walk.attrWithoutData.push(key);
    } else if (!fileSet.has(`${key}${ATTR_SUFFIX}`)) {
      walk.dataWithoutAttr.push(key);
    }
  }
  try {
    walk.tempFiles = await readdir(join(basePath, '.artstore', 'tmp'));
  } catch (error) {
    // Каталога нет — временных файлов тоже нет (восстановление удаляет его целиком).
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return walk;
}

/**
 * Инварианты корня после восстановления: у каждого файла данных — целый attr с верной подписью,
 * размером и sha256 самих байтов на диске; нет attr без данных; временный каталог пуст.
 */
export async function assertStorageConsistent(basePath: string): Promise<StorageWalk> {
  const walk = await walkStorage(basePath);
  assert.deepEqual(walk.dataWithoutAttr, [], 'файлы данных без attr после восстановления');
  assert.deepEqual(walk.attrWithoutData, [], 'attr без файла данных после восстановления');
  assert.deepEqual(walk.unreadableAttrs, [], 'нечитаемые attr после восстановления');
  assert.deepEqual(walk.tempFiles, [], '.artstore/tmp не пуст после восстановления');
  const layout = JSON.parse(await readFile(join(basePath, 'artstore_layout.json'), 'utf8')) as {
    signing_keys: PublicSigningKey[];
  };
  assert.ok(layout.signing_keys.length > 0, 'в artstore_layout.json нет открытых ключей');
  for (const [dataKey, attr] of walk.paired) {
    assert.equal(attr.path, dataKey, `attr ${dataKey}: поле path не совпадает с местом файла`);
    assert.equal(
      verifyAttrSignature(attr, layout.signing_keys),
      'valid',
      `attr ${dataKey}: подпись не сходится`,
    );
    // Потоком: файлы бывают больше предела readFile (2 ГиБ).
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(join(basePath, dataKey))) {
      size += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    assert.equal(size, attr.size, `attr ${dataKey}: size ${attr.size}, файл ${size} байт`);
    assert.equal(attr.stored.size, attr.size, `attr ${dataKey}: stored.size`);
    assert.equal(hash.digest('hex'), attr.sha256, `attr ${dataKey}: sha256 не совпадает с байтами`);
  }
  return walk;
}

/**
 * Журнал, каким его увидит следующий старт: открывается копия каталога WAL (openWal заводит новый
 * сегмент — оригинал остаётся нетронутым уликой). SE в это время должен быть остановлен.
 */
export async function inspectWal(
  basePath: string,
): Promise<{ open: WalRecord[]; records: WalRecord[]; corruption: unknown }> {
  const copy = await mkdtemp(join(tmpdir(), 'artstore-se-crash-wal-'));
  try {
    await cp(walDirectory(basePath), copy, { recursive: true });
    const { wal, recovered } = await openWal({ dir: copy });
    await wal.close();
    return { open: recovered.open, records: recovered.records, corruption: recovered.corruption };
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
