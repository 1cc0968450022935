// BlobStore на локальной файловой системе (SPEC SE-10). Запись атомарна и надёжна по SE-3:
// temp → fsync файла → rename → fsync каталога; ни одна операция не держит файл в памяти целиком.
import { randomUUID } from 'node:crypto';
import { close, createReadStream, createWriteStream, fstat, open as openCallback, type Dirent } from 'node:fs';
import { link, mkdir, open, opendir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { ArtError, fsyncDirectory, type BlobStat, type BlobStore, type ByteRange, type PutOptions, type PutResult } from '@artstore/core';
import { blobNotFound, INTERNAL_DIR, invalidKey, keySegments } from '../blob-key.js';
import { clampRange } from '../blob-range.js';

const openFd = promisify(openCallback);
const fstatFd = promisify(fstat);
const closeFd = promisify(close);
/** Кусок чтения при выдаче: 256 KiB — меньше переходов между потоками на гигабайт, память — та же граница. */
const READ_CHUNK_BYTES = 256 * 1024;

export interface LocalFsBlobStoreOptions {
  /** Корень хранилища (base_path элемента хранения). */
  root: string;
  /**
   * Каталог временных файлов. Обязан быть на той же файловой системе, что и root: rename между
   * файловыми системами не атомарен (и даёт EXDEV). По умолчанию `<root>/.artstore/tmp` (SPEC SE-1).
   */
  tempDir?: string;
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

  /**
   * Каталоги, про которые известно, что они есть: mkdir на каждую запись стоил 2 системных вызова на
   * объект. Если каталог удалили снаружи, rename даст ENOENT — тогда запись из набора убирается и
   * каталог создаётся заново.
   */
  const knownDirs = new Set<string>();

  /** mkdir -p с закреплением созданной цепочки: записи новых каталогов в родителях — fsync родителей. */
  async function ensureDir(dir: string): Promise<void> {
    if (knownDirs.has(dir)) return;
    const firstCreated = await mkdir(dir, { recursive: true });
    if (firstCreated !== undefined) {
      for (let current = path.dirname(dir); ; current = path.dirname(current)) {
        await fsyncDirectory(current);
        if (current === path.dirname(firstCreated) || current === path.dirname(current)) break;
      }
    }
    knownDirs.add(dir);
  }

  /** Переносит (rename) или связывает (link, для adopt) готовый файл с местом ключа. */
  async function placeFile(
    key: string,
    source: string,
    target: string,
    place: (from: string, to: string) => Promise<void> = rename,
  ): Promise<void> {
    const dir = path.dirname(target);
    try {
      await ensureDir(dir);
      await place(source, target);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' || !knownDirs.delete(dir)) throw translatePlacementError(key, error);
      try {
        await ensureDir(dir);
        await place(source, target);
      } catch (retryError) {
        throw translatePlacementError(key, retryError);
      }
    }
  }

  /** Новый временный файл; каталог временных файлов могли очистить (восстановление при старте). */
  async function openTemp(tempPath: string): Promise<FileHandle> {
    await ensureDir(tempDir);
    try {
      return await open(tempPath, 'wx');
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      knownDirs.delete(tempDir);
      await ensureDir(tempDir);
      return open(tempPath, 'wx');
    }
  }

  async function put(key: string, data: Readable, putOptions?: PutOptions): Promise<PutResult> {
    let tempPath: string | undefined;
    try {
      const target = resolveKey(key);
      putOptions?.signal?.throwIfAborted();
      tempPath = path.join(tempDir, `${randomUUID()}.tmp`);
      const handle = await openTemp(tempPath);
      // flush: fsync перед закрытием (SE-3); pipeline ждёт 'close', то есть и fsync тоже.
      const out = createWriteStream('', { fd: handle, flush: true });
      // pipeline держит backpressure и при ошибке/abort разрушает оба потока.
      await pipeline(data, out, { signal: putOptions?.signal });
      const size = out.bytesWritten;
      await placeFile(key, tempPath, target);
      tempPath = undefined;
      // Новая запись каталога переживает сбой питания только после fsync каталога (новые каталоги
      // закрепил ensureDir); отложенный fsync закрепит следующий put в тот же каталог.
      if (putOptions?.directorySync !== false) await fsyncDirectory(path.dirname(target));
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

  async function adopt(
    localPath: string,
    key: string,
    adoptOptions?: Pick<PutOptions, 'directorySync'>,
  ): Promise<PutResult> {
    const target = resolveKey(key);
    const source = path.resolve(localPath);
    // SE-3: байты на диске до появления записи каталога — fsync файла (дёшев, если вызывающий уже
    // закрепил байты сам, как сессии загрузки после каждого куска).
    const handle = await open(source, 'r');
    let size: number;
    try {
      await handle.sync();
      size = (await handle.stat()).size;
    } finally {
      await handle.close();
    }
    try {
      // link, а не rename: атомарно, без копирования, и исходный файл переживает откат записи.
      await placeFile(key, source, target, link);
    } catch (error) {
      if (errorCode(error) === 'EXDEV' || errorCode((error as Error).cause) === 'EXDEV') {
        throw new ArtError(
          'CONFIG_INVALID',
          `adopt: ${source} и root хранилища на разных файловых системах`,
          { cause: error },
        );
      }
      throw error;
    }
    if (adoptOptions?.directorySync !== false) await fsyncDirectory(path.dirname(target));
    return { size };
  }

  async function get(key: string, range?: ByteRange): Promise<Readable> {
    const file = resolveKey(key);
    // Числовой дескриптор, а не FileHandle: поток на FileHandle читает каждый кусок через промис и тратит на
    // выдачу в 3–4 раза больше процессора (bench query, SPEC QR-6). Открыт один раз — stat и чтение относятся
    // к одному и тому же файлу, даже если его заменят rename-ом.
    let fd: number;
    try {
      fd = await openFd(file, 'r');
    } catch (error) {
      throw notFoundOr(key, error);
    }
    try {
      const info = await fstatFd(fd);
      if (!info.isFile()) throw blobNotFound(key);
      const bounds = range === undefined ? {} : clampRange(range, info.size);
      return createReadStream('', { fd, ...bounds, highWaterMark: READ_CHUNK_BYTES });
    } catch (error) {
      await closeFd(fd);
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
    adopt,
  };
}

function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function notFoundOr(key: string, error: unknown): unknown {
  return isMissing(error) ? blobNotFound(key, error) : error;
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
