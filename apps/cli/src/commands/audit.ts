// artstore audit verify | export | public-key — проверка журнала аудита, выгрузка и открытые ключи
// подписи контрольных точек (SPEC AD-9, BY-8) прямо по БД admin-module: работает и когда сервис
// остановлен (встроенный PGlite открывает один процесс). Мастер-ключ не нужен — только открытые ключи.
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtError, createLogger, loadConfig } from '@artstore/core';
import {
  exportAudit,
  openAuditLog,
  parseExpectedHead,
  type AuditExportFormat,
  type AuditPublicKey,
  type AuditReader,
  type ExpectedHead,
} from '@artstore/admin-module';
import { createDatabase } from '../backends.js';
import { applyEmbeddedDefaults } from '../embedded-secrets.js';

export interface AuditCommandOptions {
  config?: string;
  dataDir?: string;
  /** Какой командой запускался admin-module: от этого зависит каталог встроенной БД. */
  startedAs: 'all' | 'admin-module';
}

export interface AuditVerifyCommandOptions extends AuditCommandOptions {
  /** Контрольная точка, хранимая вне БД: JSON или путь к файлу с ним. */
  checkpoint?: string;
  /** Голова «номер:хеш», хранимая вне БД. */
  expectHead?: string;
  /** Файл с открытыми ключами (ответ GET /api/audit/public-key или `artstore audit public-key`). */
  publicKey?: string;
}

async function withAudit<T>(options: AuditCommandOptions, run: (audit: AuditReader) => Promise<T>): Promise<T> {
  const config = applyEmbeddedDefaults(
    loadConfig({ file: options.config, overrides: options.dataDir === undefined ? {} : { data_dir: options.dataDir } }),
  );
  const logger = createLogger({ level: 'warn' });
  const db = await createDatabase(config, options.startedAs === 'all' ? 'embedded' : 'admin-module', logger);
  try {
    return await run(await openAuditLog(db));
  } finally {
    await db.close();
  }
}

/** JSON прямо в аргументе или путь к файлу с ним. */
function readJsonArgument(value: string, what: string): unknown {
  const text = value.trimStart().startsWith('{') ? value : existsSync(value) ? readFileSync(value, 'utf8') : undefined;
  if (text === undefined) throw new ArtError('VALIDATION_FAILED', `${what}: не JSON и не путь к файлу`);
  try {
    return JSON.parse(text);
  } catch {
    throw new ArtError('VALIDATION_FAILED', `${what}: некорректный JSON`);
  }
}

function expectedHead(options: AuditVerifyCommandOptions): ExpectedHead | undefined {
  if (options.checkpoint !== undefined && options.expectHead !== undefined) {
    throw new ArtError('VALIDATION_FAILED', '--checkpoint и --expect-head — что-то одно');
  }
  if (options.expectHead !== undefined) {
    const head = parseExpectedHead(options.expectHead);
    if (head === null) throw new ArtError('VALIDATION_FAILED', '--expect-head: ожидается «<номер>:<sha256 hex>»');
    return head;
  }
  if (options.checkpoint === undefined) return undefined;
  // Принимается и сама точка, и ответ GET /api/audit/checkpoints/latest ({checkpoint: …}).
  const parsed = readJsonArgument(options.checkpoint, '--checkpoint') as { checkpoint?: unknown };
  const cp = (parsed.checkpoint ?? parsed) as Record<string, unknown>;
  const fields = { seq: 'number', hash: 'string', count: 'number', created_at: 'string', kid: 'string', signature: 'string' };
  if (Object.entries(fields).some(([key, type]) => typeof cp[key] !== type)) {
    throw new ArtError('VALIDATION_FAILED', `--checkpoint: нужны поля ${Object.keys(fields).join(', ')}`);
  }
  return cp as unknown as ExpectedHead;
}

function publicKeys(file: string | undefined): AuditPublicKey[] | undefined {
  if (file === undefined) return undefined;
  const { keys } = readJsonArgument(file, '--public-key') as { keys?: AuditPublicKey[] };
  if (!Array.isArray(keys) || keys.some((k) => typeof k.kid !== 'string' || typeof k.public_key_pem !== 'string')) {
    throw new ArtError('VALIDATION_FAILED', '--public-key: ожидается {"keys": [{"kid", "public_key_pem"}, …]}');
  }
  return keys;
}

/** Итог проверки — JSON в stdout; подделка, обрезка или несовпадение с точкой — код выхода 2. */
export async function runAuditVerify(options: AuditVerifyCommandOptions): Promise<void> {
  const verifyOptions = { expected: expectedHead(options), publicKeys: publicKeys(options.publicKey) };
  const verdict = await withAudit(options, (audit) => audit.verify(verifyOptions));
  process.stdout.write(`${JSON.stringify(verdict, null, 2)}\n`);
  if (!verdict.ok) {
    process.stderr.write(`Журнал аудита подделан или повреждён: запись ${verdict.broken_at} (${verdict.reason}). ${verdict.detail}\n`);
    process.exitCode = 2;
  }
}

/** Открытые ключи подписи контрольных точек — их копию хранят вне системы и передают в --public-key. */
export async function runAuditPublicKey(options: AuditCommandOptions): Promise<void> {
  const keys = await withAudit(options, (audit) => audit.publicKeys());
  process.stdout.write(`${JSON.stringify({ keys }, null, 2)}\n`);
}

export async function runAuditExport(options: AuditCommandOptions & { format: AuditExportFormat; out?: string }): Promise<void> {
  await withAudit(options, async (audit) => {
    const target = options.out === undefined ? process.stdout : createWriteStream(options.out, { flags: 'wx' });
    await pipeline(Readable.from(exportAudit(audit, options.format)), target, { end: options.out !== undefined });
  });
}
