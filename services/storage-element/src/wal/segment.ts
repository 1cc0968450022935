// Сегменты WAL на диске: имена, порядок и файловые операции за узким интерфейсом, чтобы тесты
// могли подменить fsync и проверить поведение при его отказе (SPEC SE-3).
import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirectory } from '@artstore/core';

/** Каталог WAL внутри base_path элемента хранения (SPEC SE-1: служебное состояние в .artstore). */
export function walDirectory(basePath: string): string {
  return path.join(basePath, '.artstore', 'wal');
}

/**
 * Каталог WAL узла при выборах мастера (SPEC SE-12): у каждого узла свой журнал над общим хранилищем,
 * новый мастер воспроизводит журналы всех узлов.
 */
export function nodeWalDirectory(basePath: string, nodeId: string): string {
  return path.join(basePath, '.artstore', 'wal-nodes', nodeId);
}

/** Все журналы корня: одиночного режима и каждого узла — те, что воспроизводит новый мастер. */
export async function allWalDirectories(basePath: string): Promise<string[]> {
  const nodesDir = path.join(basePath, '.artstore', 'wal-nodes');
  const nodes = await readdir(nodesDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const legacy = await readdir(walDirectory(basePath)).then(
    () => [walDirectory(basePath)],
    () => [],
  );
  return [...legacy, ...nodes.filter((entry) => entry.isDirectory()).map((entry) => path.join(nodesDir, entry.name)).sort()];
}

const SEGMENT_NAME = /^wal-(\d{16})\.log$/;

export function segmentName(number: number): string {
  if (!Number.isSafeInteger(number) || number < 1)
    throw new RangeError(`Недопустимый номер сегмента WAL: ${number}`);
  return `wal-${String(number).padStart(16, '0')}.log`;
}

/** Номер сегмента по имени; null — файл не сегмент (карантин, чужой файл). */
export function segmentNumber(name: string): number | null {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return null;
  const number = Number(match[1]);
  return Number.isSafeInteger(number) && number > 0 ? number : null;
}

/** Файловые операции WAL. По умолчанию — node:fs/promises. */
export interface WalIo {
  /** mkdir -p; возвращает первый созданный каталог (undefined — всё уже было). */
  mkdir(dir: string): Promise<string | undefined>;
  /** 'wx' — новый сегмент (существующий не перезаписывается), 'r+' — починка хвоста. */
  open(file: string, flags: 'wx' | 'r+'): Promise<FileHandle>;
  /** Пишет с позиции; возвращает число записанных байтов (может быть меньше запрошенного). */
  write(handle: FileHandle, data: Uint8Array, position: number): Promise<number>;
  truncate(handle: FileHandle, length: number): Promise<void>;
  fsync(handle: FileHandle): Promise<void>;
  close(handle: FileHandle): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  readFile(file: string): Promise<Uint8Array>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  /** fsync каталога: закрепляет создание, переименование и удаление сегментов. */
  fsyncDir(dir: string): Promise<void>;
}

export const nodeWalIo: WalIo = {
  mkdir: (dir) => mkdir(dir, { recursive: true }),
  open: (file, flags) => open(file, flags),
  write: async (handle, data, position) =>
    (await handle.write(data, 0, data.byteLength, position)).bytesWritten,
  truncate: (handle, length) => handle.truncate(length),
  fsync: (handle) => handle.sync(),
  close: (handle) => handle.close(),
  readdir: (dir) => readdir(dir),
  readFile: (file) => readFile(file),
  rename: (from, to) => rename(from, to),
  unlink: (file) => unlink(file),
  fsyncDir: (dir) => fsyncDirectory(dir),
};

/** Пишет все байты: запись в файл может вернуть меньше запрошенного (например, у края диска). */
export async function writeFully(
  io: WalIo,
  handle: FileHandle,
  data: Uint8Array,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const written = await io.write(handle, data.subarray(done), position + done);
    if (written <= 0) throw new Error(`Запись в WAL не продвинулась (записано ${written} байт)`);
    done += written;
  }
}
