// Журнал аудита в сборе (SPEC AD-9, BY-8): чтение и проверка — без мастер-ключа (для
// `artstore audit verify` по БД и проверяющего со стороны); запись, контрольные точки и приём
// событий других сервисов — у запущенного admin-module.
import type { Database, JobQueue, Logger } from '@artstore/core';
import { createAuditCheckpointStore } from '../store/audit-checkpoints.js';
import { createAuditKeyStore } from '../store/audit-keys.js';
import { createAuditLogStore } from '../store/audit-log.js';
import { createAudit, type AuditEvent } from './audit.js';
import { createCheckpointer } from './audit-checkpoints.js';
import { startAuditIntake } from './audit-intake.js';
import { ensureAuditSigner, keyringOf, publicKeysOf, type AuditPublicKey } from './audit-key.js';
import { verifyAudit, type ExpectedHead } from './audit-verify.js';
import type { MasterKey } from './master-key.js';

export interface AuditVerifyOptions {
  /** Точка, хранимая вне БД. */
  expected?: ExpectedHead;
  /** Открытые ключи, хранимые вне БД; иначе — из БД (их может подменить владелец БД). */
  publicKeys?: readonly AuditPublicKey[];
}

export function openAuditReader(db: Database) {
  const log = createAuditLogStore(db);
  const checkpoints = createAuditCheckpointStore(db);
  const keys = createAuditKeyStore(db);
  const page = (after: number, limit: number) => log.page(after, limit);
  const checkpointPage = (after: number, limit: number) => checkpoints.page(after, limit);
  return {
    page,
    checkpoints: checkpointPage,
    latestCheckpoint: () => checkpoints.latest(),
    publicKeys: async () => publicKeysOf(await keys.all()),
    async verify(options: AuditVerifyOptions = {}) {
      const keyring = keyringOf(options.publicKeys ?? publicKeysOf(await keys.all()));
      return verifyAudit({ page, checkpoints: checkpointPage, keyring }, options.expected);
    },
  };
}
export type AuditReader = ReturnType<typeof openAuditReader>;

export interface AuditTrailOptions {
  logger: Logger;
  masterKey: MasterKey;
  checkpointIntervalMs: number;
  checkpointEvery: number;
}

export async function openAuditTrail(db: Database, options: AuditTrailOptions) {
  const { logger } = options;
  const log = createAuditLogStore(db);
  const checkpointer = createCheckpointer({
    log,
    checkpoints: createAuditCheckpointStore(db),
    signer: await ensureAuditSigner(createAuditKeyStore(db), options.masterKey),
    logger,
    intervalMs: options.checkpointIntervalMs,
    everyRecords: options.checkpointEvery,
  });
  const audit = createAudit(log, logger, { onAppend: (row) => checkpointer.afterAppend(row.seq) });
  return {
    ...openAuditReader(db),
    record: (event: AuditEvent) => audit.record(event),
    append: audit.append,
    checkpoint: checkpointer.checkpoint,
    /** Приём событий из очереди и точки по расписанию; close() — их остановка и последняя точка. */
    start(jobs: JobQueue) {
      checkpointer.start();
      const intake = startAuditIntake({ jobs, audit, logger });
      return {
        async close() {
          await intake.close();
          await checkpointer.close();
        },
      };
    },
  };
}
export type AuditTrail = Awaited<ReturnType<typeof openAuditTrail>>;
