// artstore audit verify | export — проверка цепочки журнала аудита и выгрузка (SPEC AD-9) прямо по
// БД admin-module: работает и когда сервис остановлен (встроенный PGlite открывает один процесс).
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createLogger, loadConfig } from '@artstore/core';
import { exportAudit, openAuditLog, type AuditExportFormat } from '@artstore/admin-module';
import { createDatabase } from '../backends.js';
import { applyEmbeddedDefaults } from '../embedded-secrets.js';

export interface AuditCommandOptions {
  config?: string;
  dataDir?: string;
  /** Какой командой запускался admin-module: от этого зависит каталог встроенной БД. */
  startedAs: 'all' | 'admin-module';
}

async function withAudit<T>(options: AuditCommandOptions, run: (audit: Awaited<ReturnType<typeof openAuditLog>>) => Promise<T>): Promise<T> {
  const config = applyEmbeddedDefaults(
    loadConfig({ file: options.config, overrides: options.dataDir === undefined ? {} : { data_dir: options.dataDir } }),
  );
  const logger = createLogger({ level: 'warn' });
  const db = await createDatabase(config, options.startedAs === 'all' ? 'embedded' : 'admin-module', logger);
  try {
    return await run(await openAuditLog(db, logger));
  } finally {
    await db.close();
  }
}

/** Итог проверки — JSON в stdout; цепочка не сходится — код выхода 2. */
export async function runAuditVerify(options: AuditCommandOptions): Promise<void> {
  const verdict = await withAudit(options, (audit) => audit.verify());
  process.stdout.write(`${JSON.stringify(verdict, null, 2)}\n`);
  if (!verdict.ok) {
    process.stderr.write(`Журнал аудита подделан или повреждён: запись ${verdict.broken_at} (${verdict.reason})\n`);
    process.exitCode = 2;
  }
}

export async function runAuditExport(options: AuditCommandOptions & { format: AuditExportFormat; out?: string }): Promise<void> {
  await withAudit(options, async (audit) => {
    const target = options.out === undefined ? process.stdout : createWriteStream(options.out, { flags: 'wx' });
    await pipeline(Readable.from(exportAudit(audit, options.format)), target, { end: options.out !== undefined });
  });
}
