// BlobStore на локальной файловой системе (SPEC SE-10). Запись атомарна и надёжна по SE-3:
// temp → fsync файла → rename → fsync каталога; ни одна операция не держит файл в памяти целиком.
import { randomUUID } from 'node:crypto';
import { createWriteStream, type Dirent } from 'node:fs';
import { mkdir, open, opendir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtError, fsyncDirectory, type BlobStat, type BlobStore, type ByteRange, type PutResult } from '@artstore/core';

export interface LocalFsBlobStoreOptions {
  /** Корень хранилища (base_path элемента хранения). */
  root: string;
  /**
   * Каталог временных файлов. Обязан быть на той же файловой системе, что и root: rename между
   * файловыми системами не атомарен (и даёт EXDEV). По умолчанию `<root>/.artstore/tmp` (SPEC SE-1).
   */
  tempDir?: string;
}

/** Служебный каталог элемента хранения (SPEC SE-1): не ключ, в list не попадает. */
const INTERNAL_DIR = '.artstore';

const DRIVE_LETTER = /^[A-Za-z]:/;

function invalidKey(key: string, why: string): ArtError {
  return new ArtError('BLOB_KEY_INVALID', `Недопустимый ключ ${JSON.stringify(key)}: ${why}`);
}

/**
 * Ключ — относительный путь через '/'. Всё, что на какой-либо ОС может увести путь из корня или
 * сделать один ключ синонимом другого, отвергается заранее, а не «чинится».
 */
function keySegments(key: string, { allowPartialTail }: { allowPartialTail: boolean }): string[] {
  if (typeof key !== 'string') throw invalidKey(String(key), 'ключ должен быть строкой');
  if (key === '' && !allowPartialTail) throw invalidKey(key, 'пустой ключ');
  if (key.includes('\0')) throw invalidKey(key, 'символ NUL');
  if (key.includes('\\')) throw invalidKey(key, 'обратная косая черта');
  if (key.startsWith('/')) throw invalidKey(key, 'абсолютный путь');
  if (DRIVE_LETTER.test(key)) throw invalidKey(key, 'буква диска');
  const segments = key.split('/');
  // У префикса list последний сегмент — начало имени (может быть пустым после '/'), не путь.
  const checked = allowPartialTail ? segments.slice(0, -1) : segments;
  for (const segment of checked) {
    if (segment === '') throw invalidKey(key, 'пустой сегмент пути');
    if (segment === '.' || segment === '..') throw invalidKey(key, `сегмент "${segment}"`);
  }
  if (segments[0] === INTERNAL_DIR && (segments.length > 1 || !allowPartialTail)) {
    throw invalidKey(key, `каталог ${INTERNAL_DIR} служебный`);
  }
  return segments;
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

export function createLocalFsBlobStore(options: LocalFsBlobStoreOptions): BlobStore {
  if (typeof options?.root !== 'string' || options.root.trim() === '') {
    throw new ArtError('CONFIG_INVALID', 'createLocalFsBlobStore: root должен быть непустым путём');
  }
  if (
    options.tempDir !== undefined &&
    (typeof options.tempDir !== 'string' || options.tempDir.trim() === '')
  ) {
    throw new ArtError('CONFIG_INVALID', 'createLocalFsBlobStore: tempDir должен быть непустым путём');
  }
  const root = path.resolve(options.root);
  const tempDir = path.resolve(options.tempDir ?? path.join(root, INTERNAL_DIR, 'tmp'));

  // Защита в глубину: даже если проверка сегментов что-то пропустила, путь вне корня не пройдёт.
  function insideRoot(key: string, segments: string[]): string {
    const resolved = path.resolve(root, ...segments);
    const relative = path.relative(root, resolved);
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
      throw invalidKey(key, 'путь выходит за пределы корня');
    }
    return resolved;
  }

  function resolveKey(key: string): string {
    return insideRoot(key, keySegments(key, { allowPartialTail: false }));
  }

  async function put(key: string, data: Readable, putOptions?: { signal?: AbortSignal }): Promise<PutResult> {
    let tempPath: string | undefined;
    try {
      const target = resolveKey(key);
      putOptions?.signal?.throwIfAborted();
      await mkdir(tempDir, { recursive: true });
      tempPath = path.join(tempDir, `${randomUUID()}.tmp`);
      // flush: fsync перед закрытием (SE-3); pipeline ждёт 'close', то есть и fsync тоже.
      const out = createWriteStream(tempPath, { flags: 'wx', flush: true });
      // pipeline держит backpressure и при ошибке/abort разрушает оба потока.
      await pipeline(data, out, { signal: putOptions?.signal });
      const size = out.bytesWritten;
      const dir = path.dirname(target);
      let firstCreated: string | undefined;
      try {
        firstCreated = await mkdir(dir, { recursive: true });
        await rename(tempPath, target);
      } catch (error) {
        throw translatePlacementError(key, error);
      }
      tempPath = undefined;
      // Новая запись каталога переживает сбой питания только после fsync каталога; если mkdir
      // создал цепочку каталогов, их записи в родителях тоже нужно закрепить.
      const stopAt = firstCreated === undefined ? dir : path.dirname(firstCreated);
      for (let current = dir; ; current = path.dirname(current)) {
        await fsyncDirectory(current);
        if (current === stopAt || current === path.dirname(current)) break;
      }
      return { size };
    } catch (error) {
      // put владеет потоком: после отказа его никто не дочитает.
      data.destroy();
      const code = errorCode(error);
      // SE-8: переполнение диска — понятная клиенту 507, а не 500.
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new ArtError('INSUFFICIENT_STORAGE', 'На файловой системе хранилища нет места', {
          cause: error,
        });
      }
      throw error;
    } finally {
      if (tempPath !== undefined) await rm(tempPath, { force: true });
    }
  }

  async function get(key: string, range?: ByteRange): Promise<Readable> {
    const file = resolveKey(key);
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      throw notFoundOr(key, error);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new ArtError('BLOB_NOT_FOUND', `Объект ${JSON.stringify(key)} не найден`);
      if (range === undefined) return handle.createReadStream();
      if (
        !Number.isSafeInteger(range.start) ||
        !Number.isSafeInteger(range.end) ||
        range.start < 0 ||
        range.end < range.start ||
        range.start >= info.size
      ) {
        throw new ArtError(
          'RANGE_NOT_SATISFIABLE',
          `Диапазон ${range.start}-${range.end} недостижим для объекта размером ${info.size}`,
          { headers: { 'content-range': `bytes */${info.size}` } },
        );
      }
      // Конец за пределами файла усечён, как в HTTP Range (RFC 9110 §14.1.2) и в S3.
      return handle.createReadStream({ start: range.start, end: Math.min(range.end, info.size - 1) });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async function statKey(key: string): Promise<BlobStat | null> {
    const file = resolveKey(key);
    try {
      const info = await stat(file);
      return info.isFile() ? { size: info.size, modifiedAt: info.mtime } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async function deleteKey(key: string): Promise<void> {
    const file = resolveKey(key);
    try {
      // Пустые каталоги не удаляем: параллельный put мог только что создать в них файл.
      await unlink(file);
    } catch (error) {
      // EISDIR: под ключом каталог (префикс других ключей), объекта с таким ключом нет.
      if (isMissing(error) || errorCode(error) === 'EISDIR') return;
      throw error;
    }
  }

  async function* list(prefix: string): AsyncIterable<string> {
    const segments = keySegments(prefix, { allowPartialTail: true });
    const dirSegments = segments.slice(0, -1);
    const startDir = dirSegments.length === 0 ? root : insideRoot(prefix, dirSegments);
    yield* walk(startDir, dirSegments.join('/'), prefix);
  }

  async function* walk(dir: string, keyPrefix: string, filter: string): AsyncGenerator<string> {
    let entries: Dirent[];
    try {
      const handle = await opendir(dir);
      entries = [];
      for await (const entry of handle) entries.push(entry);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (keyPrefix === '' && entry.name === INTERNAL_DIR) continue;
      const key = keyPrefix === '' ? entry.name : `${keyPrefix}/${entry.name}`;
      // Символьные ссылки не идём и не отдаём: они могут вести за пределы корня.
      if (entry.isDirectory()) {
        if (key.startsWith(filter)) yield* walk(path.join(dir, entry.name), key, filter);
      } else if (entry.isFile() && key.startsWith(filter)) {
        yield key;
      }
    }
  }

  return {
    kind: 'local',
    capabilities: { atomicPut: true, list: true },
    put,
    get,
    stat: statKey,
    delete: deleteKey,
    list,
  };
}

function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function notFoundOr(key: string, error: unknown): unknown {
  return isMissing(error)
    ? new ArtError('BLOB_NOT_FOUND', `Объект ${JSON.stringify(key)} не найден`, { cause: error })
    : error;
}

/** Коды, означающие, что ключ конфликтует с каталогом: 'a' уже файл, а пишут 'a/b', или наоборот. */
const KEY_CONFLICT_CODES = new Set(['ENOTDIR', 'EEXIST', 'EISDIR', 'ENOTEMPTY']);

function translatePlacementError(key: string, error: unknown): unknown {
  const code = errorCode(error) ?? '';
  if (KEY_CONFLICT_CODES.has(code)) return invalidKey(key, 'конфликтует с существующим ключом или каталогом');
  if (code === 'EXDEV') {
    return new ArtError('CONFIG_INVALID', 'tempDir и root хранилища на разных файловых системах', {
      cause: error,
    });
  }
  return error;
}
