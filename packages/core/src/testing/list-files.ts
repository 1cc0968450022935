// Снимок файлов на диске для проверок «что тест оставил после себя».
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** Все файлы под dir — относительные пути через «/», по алфавиту; отсутствующий каталог — пустой список. */
export async function listFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
