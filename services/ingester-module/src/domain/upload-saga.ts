// Сага загрузки (SPEC IN-4, ADR 0016, docs/uploads.md): reserve → transfer → stored → completed,
// при сбое — compensating → compensated. Идентификатор файла назначается до передачи (заголовок
// artstore-file-id), поэтому исход всегда можно установить вопросом к SE: GET /api/files/:file_id.
// Поэтому в БД успешная загрузка пишет дважды: строку transferring при первой попытке и completed в
// конце; reserve и stored отдельных записей не требуют — восстановление transferring спрашивает SE.
// Компенсация — «файла на SE нет»; если SE файл зафиксировал, сага доводится вперёд (удалить его вне
// режима edit нельзя, SPEC SE-7, IN-5), а не откатывается. Журнал — в БД: сагу умершего экземпляра
// доводит другой (stale-work.ts).
import { Transform, type Readable } from 'node:stream';
import type { FileRecord, TransactionStep } from '@artstore/contracts';
import {
  actorOf,
  ArtError,
  uuidv7,
  type AuditClient,
  type Logger,
  type Principal,
  type ServiceClient,
} from '@artstore/core';
import type {
  NewUploadSaga,
  StoredFileSummary,
  UploadSagaRow,
  UploadSagaStore,
} from '../store/upload-sagas.js';
import type { IngesterFaults } from './faults.js';
import type { OperationMetrics, SagaPath } from './operation-metrics.js';
import type { Resolution } from './stale-work.js';
import { describe, journalAuditContext, journalTransaction, step, type ScopedTransaction } from './transactions.js';

export const UPLOAD_SAGA_KIND = 'saga.upload';

export interface UploadSagaDeps {
  store: UploadSagaStore;
  /** Идентификатор этого экземпляра ingester (случайный на запуск процесса). */
  owner: string;
  faults: IngesterFaults;
  audit: AuditClient;
  metrics: OperationMetrics;
  logger: Logger;
  /** Клиент SE из текущего документа обнаружения; undefined — такого SE в документе нет. */
  client(elementId: string): ServiceClient | undefined;
  /**
   * Токен сервисной учётной записи (ADR 0011) для вопроса к SE при восстановлении: пользователя, начавшего
   * загрузку, уже нет. undefined — учётные данные не заданы (auth.client), восстановление невозможно.
   */
  serviceToken?: () => Promise<string>;
}

export interface UploadSagaStart {
  principal: Principal;
  ip: string;
  requestId: string;
  name: string;
}

/** Одна сага в работе в этом экземпляре — её шаги вызывает uploader. */
export interface UploadSagaRun {
  readonly id: string;
  readonly fileId: string;
  /** Попытка записи на SE началась (первая создаёт строку журнала, следующие — после отказа предыдущего). */
  transferring(elementId: string): Promise<void>;
  /** SE отказал так, что файла на нём нет, и файл уходит следующему кандидату (IN-7). */
  refused(elementId: string, reason: string): Promise<void>;
  /** Тело, за которым следит точка сбоя ingester.saga.mid-transfer (тесты устойчивости). */
  watch(body: Readable): Readable;
  /** SE принял файл и ответил записью: в БД не пишется, войдёт в запись completed. */
  stored(elementId: string, record: FileRecord): void;
  /** Событие аудита и конечное состояние completed (с шагом transfer:<se> done) одной записью. */
  complete(): Promise<void>;
  /** Загрузка не удалась: компенсация или, если SE файл всё же зафиксировал, доведение вперёд. */
  fail(error: unknown): Promise<void>;
  /** Довести сагу здесь не вышло (БД не ответила): отдать её восстановлению. */
  handOver(error: unknown): Promise<void>;
}

/** Ошибки, после которых исход записи на SE неизвестен: ответа SE не было. */
const UNCERTAIN = new Set<string>(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'STORAGE_WRITES_STOPPED']);
const summary = (record: FileRecord): StoredFileSummary => ({
  name: record.name,
  size: record.size,
  sha256: record.sha256,
});

export function createUploadSagas(deps: UploadSagaDeps) {
  const { store, owner, logger, metrics } = deps;
  /** Саги, которые этот экземпляр ведёт в запросах: их отмечает heartbeat (stale-work.ts). */
  const inFlight = new Set<string>();

  /**
   * Сагу больше не отмечает heartbeat: через stale_after её заберёт восстановление (любой экземпляр).
   * Пауза намеренная — SE, получивший тело целиком, успеет зафиксировать или откатить запись до вопроса.
   */
  function handOver(id: string, fileId: string, error: unknown): void {
    logger.warn({ saga_id: id, file_id: fileId, err: error }, 'upload_saga_deferred');
    inFlight.delete(id);
  }

  /** Есть ли файл на SE: запись или undefined (404). Прочие ошибки — исход неизвестен, бросаются. */
  async function probe(elementId: string, fileId: string, token: string): Promise<FileRecord | undefined> {
    const client = deps.client(elementId);
    if (client === undefined)
      throw new ArtError('SE_NOT_REGISTERED', `SE ${elementId} нет в документе обнаружения`);
    try {
      return await client.json<FileRecord>('GET', `/api/files/${fileId}`, {
        headers: { authorization: `Bearer ${token}` },
        idempotent: true,
      });
    } catch (error) {
      if (error instanceof ArtError && error.code === 'FILE_NOT_FOUND') return undefined;
      throw error;
    }
  }

  async function finishCompleted(
    row: Pick<UploadSagaRow, 'id' | 'file_id' | 'actor' | 'ip' | 'request_id'>,
    elementId: string,
    record: StoredFileSummary,
    path: SagaPath,
    /** Шаги до complete, дописываемые той же записью (transfer:<se> done в запросе). */
    before: TransactionStep[] = [],
  ): Promise<boolean> {
    // Аудит — до отметки completed: смерть между ними даст повтор события при восстановлении, а не его потерю.
    await deps.audit.record({
      ...journalAuditContext(row),
      action: 'file.upload',
      target: row.file_id,
      details: {
        storage_element: elementId,
        name: record.name,
        size: record.size,
        sha256: record.sha256,
        saga_id: row.id,
        ...(path === 'recovery' ? { recovered_by: owner } : {}),
      },
    });
    const done = await store.transition(row.id, owner, {
      state: 'completed',
      element_id: elementId,
      record,
      steps: [...before, step('complete', 'done')],
    });
    if (done) metrics.sagaFinished('completed', path);
    return done;
  }

  async function finishCompensated(id: string, error: string, path: SagaPath): Promise<boolean> {
    const done = await store.transition(id, owner, {
      state: 'compensated',
      steps: [step('compensate', 'done')],
      error,
    });
    if (done) metrics.sagaFinished('compensated', path);
    return done;
  }

  return {
    begin(start: UploadSagaStart): UploadSagaRun {
      const id = uuidv7();
      const fileId = uuidv7();
      const actor = actorOf(start.principal);
      let persisted = false;
      let markPersisted!: () => void;
      /** Строка саги записана (первая попытка передачи): после неё имеет смысл точка mid-transfer. */
      const persistedOnce = new Promise<void>((resolve) => (markPersisted = resolve));
      let elementId: string | undefined;
      /** Последняя попытка кончилась отказом SE, после которого файла на нём точно нет. */
      let lastRefused = false;
      let stored: StoredFileSummary | undefined;
      // Строки ещё нет: до первой попытки передачи SE не получил ни байта, восстанавливать нечего.
      const row = (state: NewUploadSaga['state'], steps: TransactionStep[], error: string | null) =>
        store.insert({
          id,
          file_id: fileId,
          state,
          owner,
          element_id: elementId ?? null,
          actor,
          ip: start.ip,
          request_id: start.requestId,
          name: start.name,
          steps: [step('reserve', 'done'), ...steps],
          error,
        });
      const base = { id, file_id: fileId, actor, ip: start.ip, request_id: start.requestId };
      return {
        id,
        fileId,
        async transferring(target) {
          lastRefused = false;
          elementId = target;
          const started = step(`transfer:${target}`, 'started');
          if (persisted) {
            await store.transition(id, owner, {
              state: 'transferring',
              element_id: target,
              steps: [started],
            });
            return;
          }
          await row('transferring', [started], null);
          persisted = true;
          markPersisted();
          inFlight.add(id);
          // Строка есть, байты ещё не ушли (смысл точки прежний: после reserve, до передачи).
          deps.faults.hit('ingester.saga.after-reserve');
        },
        async refused(target, reason) {
          lastRefused = true;
          await store.transition(id, owner, {
            state: 'transferring',
            steps: [step(`transfer:${target}`, 'refused', reason)],
          });
        },
        watch(body) {
          // Без запланированной точки тело идёт как есть: лишнее звено в пути данных не нужно.
          if (!deps.faults.armed('ingester.saga.mid-transfer')) return body;
          let seen = false;
          const watched = new Transform({
            transform(chunk: Buffer, _encoding, done) {
              done(null, chunk);
              if (!seen && chunk.length > 0) {
                seen = true;
                // Первые байты уже ушли к SE: смерть здесь оставляет на нём незаконченную запись. Буфер повтора
                // читает тело раньше, чем строка саги записана, — точка срабатывает только после записи.
                void persistedOnce.then(() =>
                  setImmediate(() => deps.faults.hit('ingester.saga.mid-transfer')),
                );
              }
            },
          });
          body.on('error', (error) => watched.destroy(error));
          // Ошибка тела до того, как SE начал читать, иначе оказалась бы без слушателя и уронила процесс.
          watched.on('error', () => {});
          return body.pipe(watched);
        },
        stored(target, record) {
          elementId = target;
          stored = summary(record);
          // SE ответил, completed ещё не записан: в журнале transferring, восстановление спросит SE.
          deps.faults.hit('ingester.saga.after-store');
        },
        async complete() {
          if (elementId === undefined || stored === undefined)
            throw new Error('сага: complete() до stored()');
          await finishCompleted(base, elementId, stored, 'inline', [step(`transfer:${elementId}`, 'done')]);
          inFlight.delete(id);
        },
        handOver: (error) => Promise.resolve(handOver(id, fileId, error)),
        async fail(error) {
          const reason = describe(error);
          try {
            if (!persisted) {
              // До передачи дело не дошло (нет кандидата, нет права, БД не записала строку): одна запись
              // сразу в compensated — видна в /api/transactions, восстанавливать нечего.
              await row('compensated', [step('compensate', 'done')], reason);
              metrics.sagaFinished('compensated', 'inline');
              return;
            }
            if (elementId === undefined || lastRefused) {
              // До SE дело не дошло (нет кандидата, нет права) или все SE отказали явно: компенсировать нечего.
              await finishCompensated(id, reason, 'inline');
              inFlight.delete(id);
              return;
            }
            await store.transition(id, owner, {
              state: 'compensating',
              steps: [step('compensate', 'started', reason)],
              error: reason,
            });
            // Связь с SE оборвалась или истёк срок: SE мог ещё не закончить запись, и ответ «файла нет»
            // сейчас может устареть через миг. Решает восстановление после stale_after.
            if (error instanceof ArtError && UNCERTAIN.has(error.code)) {
              handOver(id, fileId, error);
              return;
            }
            const record = await probe(elementId, fileId, start.principal.token);
            if (record === undefined) await finishCompensated(id, reason, 'inline');
            else {
              // SE зафиксировал файл, но ответ потерялся: файл есть и принадлежит загрузившему — вперёд (ADR 0016).
              logger.warn(
                { saga_id: id, file_id: fileId, storage_element: elementId, err: error },
                'upload_saga_completed_forward',
              );
              await finishCompleted(base, elementId, summary(record), 'inline');
            }
            inFlight.delete(id);
          } catch (sagaError) {
            // Исход не установлен (SE или БД не ответили): сагу решит восстановление.
            handOver(id, fileId, sagaError);
          }
        },
      };
    },

    inFlight: (): Iterable<string> => inFlight,

    /** Решение по саге умершего экземпляра (вызывает stale-work.ts). */
    async resolveStale(row: UploadSagaRow): Promise<Resolution> {
      const context = {
        saga_id: row.id,
        file_id: row.file_id,
        storage_element: row.element_id,
        state: row.state,
      };
      if (row.state === 'stored' && row.element_id !== null && row.record !== null) {
        if (await finishCompleted(row, row.element_id, row.record, 'recovery'))
          logger.info(context, 'upload_saga_recovered');
        return 'resolved';
      }
      if (row.element_id === null) {
        // reserved: ни один SE ещё не получил ни байта.
        if (await finishCompensated(row.id, 'экземпляр ingester умер до передачи', 'recovery'))
          logger.info(context, 'upload_saga_compensated');
        return 'resolved';
      }
      if (deps.client(row.element_id) === undefined) {
        const error = `SE ${row.element_id} нет в документе обнаружения: исход не установить`;
        if (
          await store.transition(row.id, owner, {
            state: 'failed',
            steps: [step('recover', 'failed', error)],
            error,
          })
        )
          metrics.sagaFinished('failed', 'recovery');
        logger.error(context, 'upload_saga_failed');
        return 'resolved';
      }
      if (deps.serviceToken === undefined)
        throw new ArtError('CONFIG_INVALID', 'auth.client не задан: нечем спросить SE о файле саги');
      const record = await probe(row.element_id, row.file_id, await deps.serviceToken());
      if (record !== undefined) {
        if (await finishCompleted(row, row.element_id, summary(record), 'recovery'))
          logger.info(context, 'upload_saga_recovered');
      } else if (
        await finishCompensated(row.id, row.error ?? 'экземпляр ingester умер во время передачи', 'recovery')
      ) {
        logger.info(context, 'upload_saga_compensated');
      }
      return 'resolved';
    },

    /** Источник GET /api/transactions (SPEC AD-10). */
    async transactions(filter: { state?: string; limit: number }): Promise<ScopedTransaction[]> {
      const rows = await store.list(filter);
      return rows.map((row) =>
        journalTransaction(UPLOAD_SAGA_KIND, row, row.element_id === null ? [] : [row.element_id]),
      );
    },
  };
}
export type UploadSagas = ReturnType<typeof createUploadSagas>;
