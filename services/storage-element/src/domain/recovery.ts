// Восстановление после сбоя процесса (SPEC SE-3): для каждой транзакции WAL без commit/abort —
// если данные и attr на месте и согласованы (подпись верна, размер данных равен attr.size), запись
// доводится до конца (кеш, commit); иначе откатывается (attr, данные удаляются, abort). Так
// подтверждённая загрузка не теряется, а неподтверждённая не становится видимой.
// Временные файлы при старте — всегда сироты: их никто уже не допишет.
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { isArtError, type BlobStore, type Logger } from '@artstore/core';
import type { FileCache } from '../store/file-cache.js';
import type { WalRecord, WalRecovery, WriteAheadLog } from '../wal/index.js';
import { attrDigest, serializeAttr, type AttrRecord } from './attr.js';
import { verifyAttrSignature, type PublicSigningKey } from './attr-signing.js';
import type { PutIntent } from './file-writer.js';
import type { UpdateIntent } from './attr-replacer.js';

export interface RecoveryReport {
  finished: number;
  rolledBack: number;
  /** Целый attr при отсутствующих или неполных данных — повреждение носителя, оставлено для сверки. */
  corrupted: number;
  /** Повреждение WAL, кроме оборванного хвоста (обычное следствие сбоя). */
  corruption: WalRecovery['corruption'];
}

export interface RecoveryDeps {
  blobs: BlobStore;
  cache: FileCache;
  wal: WriteAheadLog;
  signingKeys: readonly PublicSigningKey[];
  logger: Logger;
  /** Эпоха восстанавливающего мастера: завершённые записи фиксируются в кеш под ней (SPEC SE-12). */
  epoch: number;
  /**
   * complete — одиночный SE: целая запись (данные и attr согласованы) доводится до конца (SPEC SE-3).
   * committed — узел из нескольких (SE-12): автор транзакции мог быть не убит, а отстранён и ещё
   * дописывать; решает кеш — зафиксированное остаётся, остальное откатывается (автор, получив отказ
   * по эпохе, откатывает своё же), и ни одна строка кеша не указывает на удалённые файлы.
   */
  adopt?: 'complete' | 'committed';
  /** Каталог временных файлов локального хранилища (для S3 — нет). */
  tempDir?: string;
}

async function readAttr(blobs: BlobStore, key: string): Promise<AttrRecord | null> {
  try {
    return JSON.parse(await text(await blobs.get(key))) as AttrRecord;
  } catch (error) {
    // Нет файла или он оборван/не JSON — attr не состоялся.
    if (isArtError(error, 'BLOB_NOT_FOUND') || error instanceof SyntaxError) return null;
    throw error;
  }
}

function isUpdateIntent(record: WalRecord): record is WalRecord & UpdateIntent {
  return record.op === 'update' && typeof record.id === 'string' && typeof record.attr_path === 'string';
}

function isPutIntent(record: WalRecord): record is WalRecord & PutIntent {
  return record.op === 'put' && typeof record.id === 'string' && typeof record.path === 'string' && typeof record.attr_path === 'string';
}

/**
 * Транзакция узла, который мог быть лишь отстранён (SPEC SE-12): строка кеша — граница фиксации.
 * put без строки — данные и attr удаляются; update — attr возвращается к версии из кеша.
 */
async function settleByCache(intent: WalRecord & (PutIntent | UpdateIntent), deps: RecoveryDeps): Promise<'finished' | 'rolled_back'> {
  const { blobs, cache, wal, logger } = deps;
  const row = await cache.get(intent.id);
  let outcome: 'finished' | 'rolled_back' = 'finished';
  if (intent.op === 'put' && row === undefined) {
    await blobs.delete(intent.attr_path);
    await blobs.delete(intent.path);
    outcome = 'rolled_back';
  } else if (row !== undefined) {
    // attr с диска читается, только когда есть с чем сверять: строка кеша — зафиксированная версия.
    const disk = await readAttr(blobs, intent.attr_path);
    if (disk === null || attrDigest(disk) !== attrDigest(row)) {
      await blobs.put(intent.attr_path, Readable.from([serializeAttr(row)]));
      outcome = 'rolled_back';
    }
  }
  await wal.append({ type: outcome === 'finished' ? 'commit' : 'abort', tx: intent.tx, epoch: intent.epoch }, { durable: false });
  logger.info({ tx: intent.tx, file_id: intent.id, op: intent.op, outcome }, 'wal_transaction_settled_by_cache');
  return outcome;
}

// commit/abort при восстановлении пишутся без собственного fsync: восстановление идемпотентно
// (откат удаляет уже удалённое, завершение повторяет upsert), и если процесс упадёт снова, следующий
// старт просто повторит его. Иначе 100 открытых транзакций — это 100 fsync подряд на старте.
export async function recover(recovered: WalRecovery, deps: RecoveryDeps): Promise<RecoveryReport> {
  const { blobs, cache, wal, logger } = deps;
  if (recovered.corruption && recovered.corruption.reason !== 'torn') {
    logger.error({ corruption: recovered.corruption }, 'wal_corruption_detected');
  }
  let finished = 0;
  let rolledBack = 0;
  let corrupted = 0;
  for (const intent of recovered.open) {
    if (deps.adopt === 'committed' && (isUpdateIntent(intent) || isPutIntent(intent))) {
      const outcome = await settleByCache(intent, deps);
      if (outcome === 'finished') finished++;
      else rolledBack++;
      continue;
    }
    if (isUpdateIntent(intent)) {
      // attr заменяется атомарно: на диске целиком старая или новая версия — кеш сводится с ней.
      const attr = await readAttr(blobs, intent.attr_path);
      if (attr && verifyAttrSignature(attr, deps.signingKeys) === 'valid') {
        await cache.upsert(attr, deps.epoch);
        await wal.append({ type: 'commit', tx: intent.tx, epoch: intent.epoch }, { durable: false });
        finished++;
      } else {
        await wal.append({ type: 'abort', tx: intent.tx, epoch: intent.epoch }, { durable: false });
        corrupted++;
        logger.error({ tx: intent.tx, file_id: intent.id }, 'file_corruption_detected');
      }
      continue;
    }
    if (!isPutIntent(intent)) {
      logger.error({ tx: intent.tx, op: intent.op }, 'wal_unknown_intent');
      await wal.append({ type: 'abort', tx: intent.tx, epoch: intent.epoch }, { durable: false });
      rolledBack++;
      continue;
    }
    const attr = await readAttr(blobs, intent.attr_path);
    const attrValid = attr !== null && attr.id === intent.id && attr.path === intent.path && verifyAttrSignature(attr, deps.signingKeys) === 'valid';
    if (!attrValid) {
      // attr не дописан: загрузку не подтверждали (подтверждение — только после attr). Данные, если
      // rename успел, удаляем; в кеш запись попасть не могла — он пишется после attr.
      await blobs.delete(intent.attr_path);
      await blobs.delete(intent.path);
      await wal.append({ type: 'abort', tx: intent.tx, epoch: intent.epoch }, { durable: false });
      rolledBack++;
      logger.warn({ tx: intent.tx, file_id: intent.id, attr_present: attr !== null }, 'wal_transaction_rolled_back');
      continue;
    }
    const data = await blobs.stat(intent.path);
    if (data === null || data.size !== attr.stored.size) {
      // Данные переносятся на место только после fsync, поэтому при целом attr они не могут быть короче:
      // это повреждение носителя, а не сбой записи. Ничего не удаляем — оставляем улики сверке (SE-6).
      await wal.append({ type: 'abort', tx: intent.tx, epoch: intent.epoch }, { durable: false });
      corrupted++;
      logger.error({ tx: intent.tx, file_id: intent.id, expected_size: attr.stored.size, actual_size: data?.size ?? null }, 'file_corruption_detected');
      continue;
    }
    await cache.upsert(attr, deps.epoch);
    await wal.append({ type: 'commit', tx: intent.tx, epoch: intent.epoch }, { durable: false });
    finished++;
    logger.info({ tx: intent.tx, file_id: intent.id }, 'wal_transaction_finished');
  }
  if (deps.tempDir) await rm(deps.tempDir, { recursive: true, force: true });
  await wal.checkpoint();
  logger.info({ finished, rolled_back: rolledBack, corrupted, replayed: recovered.records.length }, 'wal_recovery_completed');
  return { finished, rolledBack, corrupted, corruption: recovered.corruption && recovered.corruption.reason !== 'torn' ? recovered.corruption : null };
}
