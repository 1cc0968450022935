// Передача одного файла на SE потоком (SPEC IN-1): байты идут от клиента к SE без буферизации,
// backpressure держит undici. SE выбирается по документу обнаружения (IN-2, se-selection.ts); отказ SE
// до того, как файл мог на нём остаться, отдаёт файл следующему кандидату (IN-7, se-fallthrough.ts).
// Принятый файл — событие аудита (SPEC AD-9) с адресом клиента, которого SE за ingester не видит.
import type { Readable } from 'node:stream';
import {
  actorOf,
  allowedElements,
  ArtError,
  requirePermission,
  type AuditClient,
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
import { createReplayableBody } from './replayable-body.js';
import { attemptRefusal, canFallThrough } from './se-fallthrough.js';
import {
  explicitRefusalError,
  findElement,
  noCandidateError,
  rankCandidates,
  stateRefusal,
  type Refusal,
} from './se-selection.js';
import type { SelectionMetrics } from './selection-metrics.js';
import type { StorageElementPool } from './storage-elements.js';

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
  audit: AuditClient;
  metrics: SelectionMetrics;
  logger: Logger;
  settings: Config['ingester'];
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
    const known: Target[] = pool.withClients(deps.elements());
    if (input.storageElement !== undefined) {
      // Явный выбор — только если вызывающему можно писать на этот SE и он примет файл (SPEC IN-2, AD-5);
      // иначе ясная ошибка с причиной, а не другой SE. Автомат защиты проверит клиент: CIRCUIT_OPEN с Retry-After.
      const target = findElement(known, input.storageElement);
      requirePermission(input.principal, 'files:write', { se: target.id });
      const refusal = stateRefusal(target, requiredBytes);
      if (refusal !== undefined) {
        metrics.refused(target.id, refusal.reason);
        throw explicitRefusalError(target.id, refusal);
      }
      return { candidates: [target], refusals: new Map(), explicit: true };
    }
    const allowed = allowedElements(input.principal, 'files:write');
    const ranking = rankCandidates(known, {
      requiredBytes,
      mayWrite: (id) => allowed === 'all' || allowed.has(id),
      circuitOpen: (target) => target.client.circuitState === 'open',
    });
    for (const [id, refusal] of ranking.refusals) metrics.refused(id, refusal.reason);
    return { ...ranking, explicit: false };
  }

  function send(client: ServiceClient, body: Readable, input: UploadInput): Promise<Stored> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${input.principal.token}`,
      'content-type': input.contentType,
      [SE_HEADERS.name]: encodeURIComponent(input.name),
      [SE_HEADERS.metadata]: Buffer.from(JSON.stringify(input.metadata)).toString('base64url'),
    };
    if (input.declaredLength !== undefined) headers['content-length'] = String(input.declaredLength);
    return client.json<Stored>('POST', '/api/files', {
      headers,
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
  ): Promise<{ target: Target; stored: Stored }> {
    const { candidates, refusals, explicit } = plan(input, requiredBytes);
    if (candidates.length === 0) throw noCandidateError(refusals);
    // Запас для повтора нужен, только если есть куда повторять.
    const body = createReplayableBody(input.body, candidates.length > 1 ? settings.replay_buffer : 0);
    for (const target of candidates) {
      metrics.selected(target.id);
      try {
        return { target, stored: await send(target.client, await body.attempt(), input) };
      } catch (error) {
        if (input.clientAborted?.aborted)
          throw new ArtError('UPLOAD_INCOMPLETE', 'Клиент оборвал загрузку до конца тела', { cause: error });
        const refused = attemptRefusal(error, requiredBytes);
        if (refused === undefined) throw error;
        metrics.refused(target.id, refused.refusal.reason);
        // Тело ушло и не удержано — файл не отдать другому SE: ошибка этого SE уходит клиенту как есть.
        if (explicit || !canFallThrough(refused, body)) throw error;
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
      const { target, stored } = await store(input, requiredBytes);
      const { seq, ...record } = stored;
      await deps.audit.record({
        actor: actorOf(input.principal),
        ip: input.ip,
        request_id: input.requestId,
        action: 'file.upload',
        target: record.id,
        details: { storage_element: target.id, name: record.name, size: record.size, sha256: record.sha256 },
      });
      return { ...record, consistency_token: formatConsistencyToken(target.id, seq) };
    },
  };
}
export type Uploader = ReturnType<typeof createUploader>;
