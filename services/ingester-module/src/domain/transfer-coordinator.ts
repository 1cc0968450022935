// Координатор переноса файла между SE — двухфазная фиксация (SPEC IN-6, ADR 0017). Журнал в БД ingester
// (store/transfers.ts): started → preparing → prepared → committing → committed | aborting → aborted.
// - prepare: байты источника (GET content, Accept-Encoding: identity) идут потоком в PUT целевого SE, тот
//   кладёт копию pending и сверяет sha256 и размер до ответа;
// - решение committing записывается в журнал ДО любого commit: это точка невозврата;
// - commit: целевой SE pending → active, затем надгробие transferred на источнике.
// Presumed abort: перенос без записанного решения при восстановлении отменяется (pending на целевом SE
// удаляется), с решением — доводится до committed повторами. Каждый шаг SE идемпотентен, поэтому повтор
// после смерти координатора в любой точке безопасен; в итоге ровно одна активная копия.
import type { FileRecord, TransactionStep, TransferSource } from '@artstore/contracts';
import { SE_HEADERS } from '@artstore/contracts';
import {
  actorOf,
  ArtError,
  requirePermission,
  uuidv7,
  type AuditClient,
  type Logger,
  type Principal,
  type ServiceClient,
} from '@artstore/core';
import { Counter, type Registry } from 'prom-client';
import type { TransferRow, TransferState, TransferStore } from '../store/transfers.js';
import type { CompressionPolicy } from './compression-policy.js';
import type { IngesterFaultPoint } from './faults.js';
import type { FileLocator } from './file-locator.js';
import { describe, journalAuditContext, journalTransaction, step, type ScopedTransaction } from './transactions.js';
import type { Resolution } from './stale-work.js';

export const TRANSFER_KIND = 'transfer';

export interface TransferMetrics {
  /** Завершённый перенос: committed | aborted; inline — в запросе, recovery — восстановлением. */
  finished(outcome: 'committed' | 'aborted', path: 'inline' | 'recovery', bytes: number): void;
}

export function createTransferMetrics(registry: Registry): TransferMetrics {
  const registers = [registry];
  const transfers = new Counter({
    name: 'artstore_ingester_transfers_total',
    help: 'Завершённые переносы между SE по исходу и по тому, кто их довёл (SPEC IN-6)',
    labelNames: ['outcome', 'path'] as const,
    registers,
  });
  const bytes = new Counter({
    name: 'artstore_ingester_transferred_bytes_total',
    help: 'Байты файлов, перенесённых между SE (зафиксированные переносы)',
    registers,
  });
  return {
    finished(outcome, path, size) {
      transfers.inc({ outcome, path });
      if (outcome === 'committed') bytes.inc(size);
    },
  };
}

export interface TransferCoordinatorDeps {
  store: TransferStore;
  /** Идентификатор этого экземпляра ingester (случайный на запуск процесса). */
  owner: string;
  /**
   * Точки сбоя (ARTSTORE_TEST_FAULTS убивает процесс). Тест в процессе может вернуть промис, который
   * не завершится: экземпляр «умирает» в этой точке, его перенос доводит другой.
   */
  faults: { hit(point: IngesterFaultPoint): void | Promise<void> };
  audit: AuditClient;
  metrics: TransferMetrics;
  logger: Logger;
  /** Где файл сейчас (общий с удалением и правкой метаданных); после переноса запомненное сбрасывается. */
  locator: Pick<FileLocator, 'locate' | 'forget'>;
  /** Клиент SE из текущего документа обнаружения; undefined — такого SE в документе нет. */
  client(elementId: string): ServiceClient | undefined;
  compression: CompressionPolicy;
  /** Токен сервисной учётной записи для восстановления: заказавшего перенос пользователя уже нет. */
  serviceToken?: () => Promise<string>;
}

export interface TransferRequest {
  fileId: string;
  target: string;
  /** SE, где файл сейчас; не задан — координатор спрашивает SE документа обнаружения. */
  source?: string;
  principal: Principal;
  ip: string;
  requestId: string;
}

export interface TransferResult {
  transfer_id: string;
  /** committed — готово; committing — решение записано, доведёт восстановление. */
  state: 'committed' | 'committing';
  source: string;
  target: string;
  /** Запись о файле на целевом SE (после commit). */
  file?: FileRecord;
}

const now = () => new Date().toISOString();
const codeOf = (error: unknown): string | null => (error instanceof ArtError ? error.code : null);
const UNDECIDED = new Set<TransferState>(['started', 'preparing', 'prepared', 'aborting']);

export function createTransferCoordinator(deps: TransferCoordinatorDeps) {
  const { store, owner, logger, metrics } = deps;
  /** Переносы, которые этот экземпляр ведёт в запросах: их отмечает heartbeat (stale-work.ts). */
  const inFlight = new Set<string>();

  function clientOf(elementId: string): ServiceClient {
    const client = deps.client(elementId);
    if (client === undefined)
      throw new ArtError('SE_NOT_REGISTERED', `SE ${elementId} нет в документе обнаружения`);
    return client;
  }

  const auth = (token: string) => ({ authorization: `Bearer ${token}` });

  /** Запись о файле на SE или undefined (404); прочие ошибки бросаются. */
  async function probe(elementId: string, fileId: string, token: string): Promise<FileRecord | undefined> {
    try {
      return await clientOf(elementId).json<FileRecord>('GET', `/api/files/${fileId}`, {
        headers: auth(token),
        idempotent: true,
      });
    } catch (error) {
      if (error instanceof ArtError && error.code === 'FILE_NOT_FOUND') return undefined;
      throw error;
    }
  }

  /** Где файл активен сейчас: явно названный SE или найденный опросом SE документа (file-locator.ts). */
  async function locate(request: TransferRequest): Promise<{ source: string; record: FileRecord }> {
    const token = request.principal.token;
    let source = request.source;
    if (source === undefined) {
      deps.locator.forget(request.fileId);
      source = (await deps.locator.locate(request.fileId, token, request.requestId)).elementId;
    }
    const record = await probe(source, request.fileId, token);
    if (record?.status !== 'active') {
      throw new ArtError('FILE_NOT_FOUND', `Активного файла ${request.fileId} на ${source} нет`, {
        extra: { status: record?.status ?? null },
      });
    }
    return { source, record };
  }

  async function transition(
    id: string,
    state: TransferState,
    entry: TransactionStep,
    error?: string,
  ): Promise<void> {
    if (!(await store.transition(id, owner, { state, step: entry, error }))) {
      throw new ArtError('TRANSFER_IN_PROGRESS', `Перенос ${id} забрал другой экземпляр ingester`, {
        extra: { transfer_id: id },
      });
    }
  }

  /** Prepare: поток байтов источника прямо в PUT целевого SE; backpressure держит undici с обеих сторон. */
  async function prepare(row: TransferRow, record: FileRecord, token: string): Promise<FileRecord> {
    const content = await clientOf(row.source).stream('GET', `/api/files/${row.file_id}/content`, {
      headers: { ...auth(token), 'accept-encoding': 'identity' },
    });
    const source: TransferSource = {
      transfer_id: row.id,
      source_element: row.source,
      name: record.name,
      content_type: record.content_type,
      size: record.size,
      sha256: record.sha256,
      metadata: record.metadata,
      created_at: record.created_at,
      created_by: record.created_by,
      retention_until: record.retention_until,
    };
    try {
      return await clientOf(row.target).json<FileRecord>('PUT', `/api/transfers/${row.file_id}`, {
        headers: {
          ...auth(token),
          'content-type': record.content_type,
          'content-length': String(record.size),
          [SE_HEADERS.transferSource]: Buffer.from(JSON.stringify(source)).toString('base64url'),
          // Копия хранится по текущей политике сжатия (SPEC IN-3): источник отдал исходные байты.
          ...deps.compression.headers(record.content_type, record.size),
        },
        body: content.body,
      });
    } finally {
      // Отказ целевого SE посреди тела: соединение с источником закрывается, а не дочитывается.
      if (!content.body.readableEnded) content.body.destroy();
    }
  }

  async function abortTarget(row: TransferRow, token: string): Promise<void> {
    await clientOf(row.target).json('DELETE', `/api/transfers/${row.file_id}`, {
      headers: auth(token),
      query: { transfer_id: row.id },
    });
  }

  async function recordOutcome(
    row: TransferRow,
    outcome: 'committed' | 'aborted',
    path: 'inline' | 'recovery',
  ): Promise<void> {
    metrics.finished(outcome, path, row.size);
    await deps.audit.record({
      ...journalAuditContext(row),
      action: 'file.transfer',
      target: row.file_id,
      details: {
        transfer_id: row.id,
        source: row.source,
        target: row.target,
        outcome,
        sha256: row.sha256,
        size: row.size,
        ...(row.error === null ? {} : { error: row.error }),
        ...(path === 'recovery' ? { recovered_by: owner } : {}),
      },
    });
  }

  /** Фаза 2 после записанного решения: commit на целевом SE, затем надгробие источника. Повторяема. */
  async function driveCommit(
    row: TransferRow,
    token: string,
    path: 'inline' | 'recovery',
  ): Promise<FileRecord> {
    const file = await clientOf(row.target).json<FileRecord>('POST', `/api/transfers/${row.file_id}/commit`, {
      headers: auth(token),
      query: { transfer_id: row.id },
    });
    await deps.faults.hit('ingester.transfer.after-target-commit');
    await clientOf(row.source).json('POST', `/api/files/${row.file_id}/transferred`, {
      headers: auth(token),
      body: { target: row.target, transfer_id: row.id },
    });
    // Аудит — до отметки committed: смерть между ними даст повтор события, а не его потерю.
    await recordOutcome(row, 'committed', path);
    await transition(row.id, 'committed', step('commit', 'done'));
    deps.locator.forget(row.file_id);
    logger.info(
      { transfer_id: row.id, file_id: row.file_id, source: row.source, target: row.target, path },
      'transfer_committed',
    );
    return file;
  }

  /** Отмена: pending на целевом SE удаляется (идемпотентно), перенос — aborted. */
  async function driveAbort(
    row: TransferRow,
    token: string,
    reason: string,
    path: 'inline' | 'recovery',
  ): Promise<void> {
    if (row.state !== 'aborting') {
      await transition(row.id, 'aborting', step('abort', 'started', reason), reason);
      row = { ...row, state: 'aborting', error: row.error ?? reason };
    }
    await abortTarget(row, token);
    await recordOutcome(row, 'aborted', path);
    await transition(row.id, 'aborted', step('abort', 'done'));
    logger.warn(
      { transfer_id: row.id, file_id: row.file_id, target: row.target, reason, path },
      'transfer_aborted',
    );
  }

  /** Довести здесь не вышло: перенос сразу без хозяина — его заберёт восстановление любого экземпляра. */
  async function handOver(row: TransferRow, error: unknown): Promise<void> {
    logger.warn({ transfer_id: row.id, file_id: row.file_id, err: error }, 'transfer_deferred');
    inFlight.delete(row.id);
    await store.stale.release(row.id, owner).catch(() => undefined);
  }

  return {
    inFlight: (): Iterable<string> => inFlight,

    async transfer(request: TransferRequest): Promise<TransferResult> {
      const { principal } = request;
      // Право на оба SE (SPEC AD-5): на целевом — сразу, на источнике — когда он найден.
      requirePermission(principal, 'storage:manage', { se: request.target });
      clientOf(request.target);
      const { source, record } = await locate(request);
      requirePermission(principal, 'storage:manage', { se: source });
      if (source === request.target) {
        throw new ArtError('TRANSFER_SAME_ELEMENT', `Файл ${request.fileId} уже на ${source}`);
      }
      const id = uuidv7();
      const actor = actorOf(principal);
      const base = {
        id,
        file_id: request.fileId,
        source,
        target: request.target,
        owner,
        actor,
        ip: request.ip,
        request_id: request.requestId,
        sha256: record.sha256,
        size: record.size,
      };
      await store.insert({ ...base, step: step('start', 'done') });
      inFlight.add(id);
      let row: TransferRow = {
        ...base,
        state: 'started',
        heartbeat_at: now(),
        started_at: now(),
        updated_at: now(),
        steps: [],
        error: null,
      };
      const token = principal.token;
      try {
        // Фаза 1. preparing пишется до первого байта: восстановление знает, что на целевом SE может быть копия.
        await transition(id, 'preparing', step(`prepare:${request.target}`, 'started'));
        await deps.faults.hit('ingester.transfer.after-prepare-logged');
        const pending = await prepare(row, record, token);
        await transition(id, 'prepared', step(`prepare:${request.target}`, 'done'));
        logger.info(
          { transfer_id: id, file_id: request.fileId, sha256: pending.sha256 },
          'transfer_prepared',
        );
        await deps.faults.hit('ingester.transfer.after-prepare');
      } catch (error) {
        const reason = describe(error);
        try {
          await driveAbort({ ...row, state: 'preparing' }, token, reason, 'inline');
          inFlight.delete(id);
        } catch (abortError) {
          await handOver(row, abortError);
        }
        throw new ArtError(
          'TRANSFER_ABORTED',
          `Перенос ${id} файла ${request.fileId} на ${request.target} отменён: ${reason}`,
          {
            cause: error,
            extra: { transfer_id: id, cause_code: codeOf(error) },
          },
        );
      }
      // Точка невозврата: решение о фиксации — в журнал до любого commit (SPEC IN-6).
      await transition(id, 'committing', step('decision', 'commit'));
      row = { ...row, state: 'committing' };
      await deps.faults.hit('ingester.transfer.after-commit-decision');
      try {
        const file = await driveCommit(row, token, 'inline');
        inFlight.delete(id);
        return { transfer_id: id, state: 'committed', source, target: request.target, file };
      } catch (error) {
        // Решение уже принято: отката нет, фиксацию доведёт восстановление.
        await handOver(row, error);
        return { transfer_id: id, state: 'committing', source, target: request.target };
      }
    },

    /** Решение по переносу умершего экземпляра (вызывает stale-work.ts): presumed abort. */
    async resolveStale(row: TransferRow): Promise<Resolution> {
      if (deps.serviceToken === undefined) {
        throw new ArtError('CONFIG_INVALID', 'auth.client не задан: нечем довести перенос на SE');
      }
      const token = await deps.serviceToken();
      if (UNDECIDED.has(row.state)) {
        await driveAbort(
          row,
          token,
          row.error ?? 'экземпляр ingester умер до решения о фиксации',
          'recovery',
        );
      } else {
        await driveCommit(row, token, 'recovery');
      }
      return 'resolved';
    },

    /** Источник GET /api/transactions (SPEC AD-10). */
    async transactions(filter: { state?: string; limit: number }): Promise<ScopedTransaction[]> {
      const rows = await store.list(filter);
      return rows.map((row) => journalTransaction(TRANSFER_KIND, row, [row.source, row.target]));
    },
  };
}
export type TransferCoordinator = ReturnType<typeof createTransferCoordinator>;
