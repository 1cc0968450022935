// Передача одного файла на SE потоком (SPEC IN-1): байты идут от клиента к SE без буферизации,
// backpressure держит undici. SE выбирается по документу обнаружения (IN-2, se-selection.ts); отказ SE
// до того, как файл мог на нём остаться, отдаёт файл следующему кандидату (IN-7, se-fallthrough.ts).
// Принятый файл — событие аудита (SPEC AD-9) с адресом клиента, которого SE за ingester не видит.
import type { Readable } from 'node:stream';
import {
  ArtError,
  type Config,
  type DiscoveryElement,
  type Logger,
  type Principal,
  type ServiceClient,
} from '@artstore/core';
import {
  formatConsistencyToken,
  SE_HEADERS,
  type FileMetadata,
  type FileRecord,
  type UploadedFile,
} from '@artstore/contracts';
import type { CompressionPolicy } from './compression-policy.js';
import { createReplayableBody } from './replayable-body.js';
import { attemptRefusal, canFallThrough } from './se-fallthrough.js';
import { planTargets } from './se-plan.js';
import { noCandidateError, type Refusal } from './se-selection.js';
import type { SelectionMetrics } from './selection-metrics.js';
import type { StorageElementPool } from './storage-elements.js';
import type { UploadSagaRun, UploadSagas } from './upload-saga.js';

export interface UploadInput {
  body: Readable;
  name: string;
  contentType: string;
  /** Точная длина тела (Content-Length сырой загрузки): уходит SE и задаёт нужное место. */
  declaredLength?: number;
  /** Верхняя граница длины, когда точная неизвестна: часть формы не длиннее всего запроса. */
  maxLength?: number;
  metadata: FileMetadata;
  storageElement?: string;
  principal: Principal;
  requestId: string;
  /** Адрес клиента (за доверенным прокси — из X-Forwarded-For). */
  ip: string;
  /** Срабатывает, когда клиент оборвал соединение посреди тела запроса. */
  clientAborted?: AbortSignal;
}

export interface UploaderDeps {
  /** SE текущего документа обнаружения (SPEC AD-8). */
  elements(): readonly DiscoveryElement[];
  pool: StorageElementPool;
  /** Сага загрузки (SPEC IN-4): журнал шагов в БД, аудит принятого файла, компенсация при сбое. */
  sagas: UploadSagas;
  metrics: SelectionMetrics;
  logger: Logger;
  settings: Config['ingester'];
  /** Политика сжатия на лету (SPEC IN-3), общая с tus и переносом. */
  compression: CompressionPolicy;
}

type Target = DiscoveryElement & { client: ServiceClient };
/** Ответ SE на приём: запись о файле и номер изменения в его ленте. */
type Stored = FileRecord & { seq: number };

interface Plan {
  candidates: Target[];
  /** Исключённые SE с причинами — для ошибки, если не примет никто. */
  refusals: Map<string, Refusal>;
  explicit: boolean;
}

export function createUploader(deps: UploaderDeps) {
  const { pool, metrics, settings } = deps;

  function plan(input: UploadInput, requiredBytes: number): Plan {
    return planTargets(pool.withClients(deps.elements()), input, requiredBytes, metrics);
  }

  function send(client: ServiceClient, body: Readable, input: UploadInput, fileId: string): Promise<Stored> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${input.principal.token}`,
      // Идентификатор назначен сагой заранее: по нему исход передачи можно узнать у SE (SPEC IN-4).
      [SE_HEADERS.fileId]: fileId,
      'content-type': input.contentType,
      [SE_HEADERS.name]: encodeURIComponent(input.name),
      [SE_HEADERS.metadata]: Buffer.from(JSON.stringify(input.metadata)).toString('base64url'),
    };
    if (input.declaredLength !== undefined) headers['content-length'] = String(input.declaredLength);
    return client.json<Stored>('POST', '/api/files', {
      // Сжатие на лету (SPEC IN-3): кодировку хранения выбирает политика, сжимает SE при записи.
      headers: { ...headers, ...deps.compression.headers(input.contentType, input.declaredLength) },
      body,
      requestId: input.requestId,
      // Обрыв со стороны клиента — отмена вызова, а не отказ SE: автомат защиты не считает его
      // отказом (IN-7), иначе несколько брошенных загрузок исключали бы исправный SE для всех.
      signal: input.clientAborted,
    });
  }

  /** Запись на SE плана по порядку: первый принявший или ошибка. */
  async function store(
    input: UploadInput,
    requiredBytes: number,
    saga: UploadSagaRun,
  ): Promise<{ target: Target; stored: Stored }> {
    const { candidates, refusals, explicit } = plan(input, requiredBytes);
    if (candidates.length === 0) throw noCandidateError(refusals);
    // Запас для повтора нужен, только если есть куда повторять.
    const replay = candidates.length > 1 ? settings.replay_buffer : 0;
    const body = createReplayableBody(saga.watch(input.body), replay);
    for (const target of candidates) {
      metrics.selected(target.id);
      try {
        await saga.transferring(target.id);
        return { target, stored: await send(target.client, await body.attempt(), input, saga.fileId) };
      } catch (error) {
        if (input.clientAborted?.aborted)
          throw new ArtError('UPLOAD_INCOMPLETE', 'Клиент оборвал загрузку до конца тела', { cause: error });
        const refused = attemptRefusal(error, requiredBytes);
        if (refused === undefined) throw error;
        metrics.refused(target.id, refused.refusal.reason);
        // Тело ушло и не удержано — файл не отдать другому SE: ошибка этого SE уходит клиенту как есть.
        if (!canFallThrough(refused, body)) throw error;
        // Отказ, после которого файла на этом SE нет: сагу нечем компенсировать на нём (SPEC IN-4).
        await saga.refused(target.id, refused.refusal.reason);
        if (explicit) throw error;
        refusals.set(target.id, refused.refusal);
        deps.logger.warn(
          {
            storage_element: target.id,
            reason: refused.refusal.reason,
            err: error,
            request_id: input.requestId,
          },
          'upload_se_refused_next',
        );
      }
    }
    throw noCandidateError(refusals);
  }

  return {
    async upload(input: UploadInput): Promise<UploadedFile> {
      // Места нужно на заявленную длину; без неё — ingester.min_free, но не больше всего запроса.
      const requiredBytes = input.declaredLength ?? Math.min(settings.min_free, input.maxLength ?? Infinity);
      const saga = deps.sagas.begin({
        principal: input.principal,
        ip: input.ip,
        requestId: input.requestId,
        name: input.name,
      });
      let result: { target: Target; stored: Stored };
      try {
        result = await store(input, requiredBytes, saga);
      } catch (error) {
        await saga.fail(error);
        throw error;
      }
      const { target, stored } = result;
      const { seq, ...record } = stored;
      // Файл на SE: дальше только вперёд — запись саги, аудит (SPEC AD-9) и completed.
      try {
        saga.stored(target.id, record);
        await saga.complete();
      } catch (error) {
        // Файл зафиксирован, клиенту — успех; сагу (аудит, completed) доведёт восстановление.
        await saga.handOver(error);
      }
      return { ...record, consistency_token: formatConsistencyToken(target.id, seq) };
    },
  };
}
export type Uploader = ReturnType<typeof createUploader>;
