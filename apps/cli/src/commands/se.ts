// artstore se rebuild — офлайн-перестройка кеша SE из attr-файлов (SPEC SE-6, BY-2). SE не должен
// работать: встроенный PGlite открывает один процесс. --dry-run печатает разницу и ничего не меняет.
import { createLogger, loadConfig } from '@artstore/core';
import { rebuildStorageElementCache, storageBasePath } from '@artstore/storage-element';
import { createBlobStore, createDatabase } from '../backends.js';
import { applyEmbeddedDefaults } from '../embedded-secrets.js';

export interface SeRebuildOptions {
  config?: string;
  dataDir?: string;
  dryRun?: boolean;
  /** Какой командой запускался SE: от этого зависит каталог встроенной БД. */
  startedAs: 'all' | 'storage-element';
}

export async function runSeRebuild(options: SeRebuildOptions): Promise<void> {
  const config = applyEmbeddedDefaults(
    loadConfig({ file: options.config, overrides: options.dataDir === undefined ? {} : { data_dir: options.dataDir } }),
  );
  const logger = createLogger({ level: 'warn' });
  const db = await createDatabase(config, options.startedAs === 'all' ? 'embedded' : 'storage-element', logger);
  try {
    const summary = await rebuildStorageElementCache({ config, db, blobs: createBlobStore(config, storageBasePath({ config })) }, options.dryRun === true);
    process.stdout.write(`${JSON.stringify({ dry_run: options.dryRun === true, ...summary }, null, 2)}\n`);
    if (summary.problems.length > 0) {
      process.stderr.write(`Найдены повреждения: ${summary.problems.length} (см. problems) — кеш их не отражает, разберитесь с файлами\n`);
      process.exitCode = 2;
    }
  } finally {
    await db.close();
  }
}
