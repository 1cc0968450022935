// fsync каталога закрепляет создание, rename и удаление файлов в нём (SPEC SE-3). На Windows каталог
// нельзя открыть для fsync (EPERM/EISDIR), а NTFS журналирует метаданные сам — там шаг пропускается.
import { open, type FileHandle } from 'node:fs/promises';

function isWindowsDirSyncRefusal(error: unknown): boolean {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  return process.platform === 'win32' && (code === 'EPERM' || code === 'EISDIR');
}

export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(dir, 'r');
  } catch (error) {
    if (isWindowsDirSyncRefusal(error)) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!isWindowsDirSyncRefusal(error)) throw error;
  } finally {
    await handle.close();
  }
}
