// Подписанные контрольные точки журнала аудита (SPEC AD-9, BY-8). Цепочка хешей без ключа: тот, кто
// пересчитает хеши от подделанной записи до конца или обрежет хвост, получит внутренне целую цепочку.
// Точка — подпись (номер, хеш, число записей) ключом, которого в БД нет в открытом виде: такую подделку
// выдаёт несовпадение с точкой, обрезку — точка дальше конца цепочки. Точки ставятся раз в интервал,
// через каждые N записей и при штатной остановке.
import { canonicalJson, type Logger } from '@artstore/core';
import type { AuditCheckpoint, AuditCheckpointStore } from '../store/audit-checkpoints.js';
import type { AuditLogStore } from '../store/audit-log.js';
import { verifyAuditSignature, type AuditKeyring, type AuditSigner } from './audit-key.js';

/** Подписываемый текст: канонический JSON с меткой формата — подпись не подходит ни к чему другому. */
export function checkpointPayload(checkpoint: Omit<AuditCheckpoint, 'signature'>): string {
  const { seq, hash, count, created_at, kid } = checkpoint;
  return canonicalJson({ format: 'artstore.audit-checkpoint/v1', seq, hash, count, created_at, kid });
}

export const checkpointSignatureValid = (keyring: AuditKeyring, checkpoint: AuditCheckpoint): boolean =>
  verifyAuditSignature(keyring, checkpoint.kid, checkpointPayload(checkpoint), checkpoint.signature);

export interface CheckpointerOptions {
  log: Pick<AuditLogStore, 'head'>;
  checkpoints: Pick<AuditCheckpointStore, 'insert' | 'latest'>;
  signer: AuditSigner;
  logger: Logger;
  intervalMs: number;
  everyRecords: number;
}

export function createCheckpointer(options: CheckpointerOptions) {
  const { log, checkpoints, signer, logger } = options;
  let lastSeq: number | undefined;
  let running: Promise<AuditCheckpoint | null> = Promise.resolve(null);
  /** Точка по числу записей уже заказана: наплыв записей не заказывает по точке на каждую. */
  let countTriggered = false;
  let timer: NodeJS.Timeout | undefined;

  async function make(): Promise<AuditCheckpoint | null> {
    lastSeq ??= (await checkpoints.latest())?.seq ?? 0;
    const head = await log.head();
    if (head === null || head.seq <= lastSeq) return null;
    const unsigned = { seq: head.seq, hash: head.hash, count: head.seq, created_at: new Date().toISOString(), kid: signer.kid };
    const checkpoint = { ...unsigned, signature: signer.sign(checkpointPayload(unsigned)) };
    // Точку на этом номере мог поставить другой экземпляр admin — тогда достаточно её.
    if (await checkpoints.insert(checkpoint)) logger.info(checkpoint, 'audit_checkpoint_created');
    lastSeq = head.seq;
    return checkpoint;
  }

  /** Точки ставятся по одной: следующая ждёт предыдущую. */
  function checkpoint(): Promise<AuditCheckpoint | null> {
    running = running.catch(() => null).then(make);
    return running;
  }

  const background = () =>
    checkpoint().catch((error: unknown) => {
      logger.error({ err: error }, 'audit_checkpoint_failed');
      return null;
    });

  return {
    checkpoint,
    /** Вызывается после каждой дописанной записи: через каждые everyRecords — точка. */
    afterAppend(seq: number): void {
      if (countTriggered || lastSeq === undefined || seq - lastSeq < options.everyRecords) return;
      countTriggered = true;
      void background().finally(() => {
        countTriggered = false;
      });
    },
    start(): void {
      void background();
      timer = setInterval(() => void background(), options.intervalMs);
      timer.unref();
    },
    /** Штатная остановка: последняя точка на голову, чтобы обрезку хвоста было видно и после неё. */
    async close(): Promise<void> {
      clearInterval(timer);
      await background();
    },
  };
}
export type Checkpointer = ReturnType<typeof createCheckpointer>;
