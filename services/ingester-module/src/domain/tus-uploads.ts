// Возобновляемые загрузки tus 1.0 (SPEC IN-1): ingester без состояния. Сессия живёт на SE, которому
// достанется файл (внутренний API `/api/uploads` SE); адрес загрузки у клиента — токен из id SE и id
// сессии, поэтому любой экземпляр ingester направит кусок туда же. SE выбирается так же, как для
// POST /api/files (SPEC IN-2, se-plan.ts), а отказ SE создать сессию ведёт к следующему кандидату (IN-7):
// тела у создания нет, повтор безопасен всегда.
import type { Readable } from 'node:stream';
import {
  actorOf,
  ArtError,
  requirePermission,
  type AuditClient,
  type DiscoveryElement,
  type Principal,
  type Logger,
} from '@artstore/core';
import {
  normalizeMetadata,
  parseTagsField,
  SE_HEADERS,
  UPLOAD_SESSION_HEADERS,
  type FileMetadata,
  type UploadPatchResult,
  type UploadSessionList,
  type UploadSessionView,
} from '@artstore/contracts';
import { assertClientFileName } from './file-names.js';
import { attemptRefusal } from './se-fallthrough.js';
import { planTargets, type SeTarget } from './se-plan.js';
import { noCandidateError } from './se-selection.js';
import type { CompressionPolicy } from './compression-policy.js';
import type { SelectionMetrics } from './selection-metrics.js';
import type { StorageElementPool } from './storage-elements.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Токен адреса загрузки: base64url(«<element_id>/<session_id>»). */
export function formatUploadToken(elementId: string, sessionId: string): string {
  return Buffer.from(`${elementId}/${sessionId}`, 'utf8').toString('base64url');
}

export function parseUploadToken(token: string): { elementId: string; sessionId: string } {
  const decoded = /^[A-Za-z0-9_-]{1,200}$/.test(token)
    ? Buffer.from(token, 'base64url').toString('utf8')
    : '';
  const slash = decoded.lastIndexOf('/');
  const elementId = decoded.slice(0, slash);
  const sessionId = decoded.slice(slash + 1);
  if (slash <= 0 || !UUID.test(sessionId) || !/^[A-Za-z0-9._-]+$/.test(elementId)) {
    throw new ArtError('UPLOAD_SESSION_NOT_FOUND', `Загрузки ${token} нет`);
  }
  return { elementId, sessionId };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Upload-Metadata (tus 1.0, creation): пары «ключ SP base64» через запятую; ключ — непустой, без пробелов
 * и запятых, уникальный; значение может отсутствовать. Всё прочее (CR/LF, неверный base64, повтор ключа,
 * не UTF-8) — 400: разбор строгий, чтобы два прокси не прочитали один заголовок по-разному.
 */
export function parseUploadMetadata(header: string | undefined): Map<string, string> {
  const result = new Map<string, string>();
  if (header === undefined || header === '') return result;
  const invalid = (why: string) => new ArtError('VALIDATION_FAILED', `Upload-Metadata: ${why}`);
  if (/[\r\n]/.test(header)) throw invalid('перевод строки недопустим');
  for (const pair of header.split(',')) {
    const match = /^ *([^\s,]+)(?: ([^\s,]*))? *$/.exec(pair);
    if (match === null) throw invalid(`пара «${pair}» — не «ключ base64»`);
    const [, key, encoded = ''] = match;
    if (result.has(key!)) throw invalid(`ключ ${key} повторяется`);
    if (!BASE64.test(encoded)) throw invalid(`значение ключа ${key} — не base64`);
    let value: string;
    try {
      value = utf8.decode(Buffer.from(encoded, 'base64'));
    } catch {
      throw invalid(`значение ключа ${key} — не UTF-8`);
    }
    result.set(key!, value);
  }
  return result;
}

export interface TusCreateInput {
  principal: Principal;
  length: number;
  metadata: Map<string, string>;
  requestId: string;
}

export interface TusUploadsDeps {
  elements(): readonly DiscoveryElement[];
  pool: StorageElementPool;
  audit: AuditClient;
  metrics: SelectionMetrics;
  logger: Logger;
  /** Политика сжатия (SPEC IN-3): выбранную кодировку SE применит, собирая файл из кусков. */
  compression: CompressionPolicy;
}

/** Что клиент узнаёт о загрузке: адресная часть и сессия SE. */
export interface TusSession {
  token: string;
  session: UploadSessionView;
  /** Есть, если этот запрос завершил загрузку. */
  fileId?: string;
}

export function createTusUploads(deps: TusUploadsDeps) {
  const targets = (): SeTarget[] => deps.pool.withClients(deps.elements());

  function target(elementId: string, sessionId: string): SeTarget {
    const found = targets().find((element) => element.id === elementId);
    if (found === undefined)
      throw new ArtError(
        'UPLOAD_SESSION_NOT_FOUND',
        `Загрузки ${sessionId} нет: элемента хранения ${elementId} нет`,
      );
    return found;
  }

  const auth = (principal: Principal) => ({ authorization: `Bearer ${principal.token}` });

  /** Файл принят: событие аудита с адресом клиента, которого SE за ingester не видит (SPEC AD-9). */
  async function audited(
    principal: Principal,
    ip: string,
    requestId: string,
    elementId: string,
    result: UploadPatchResult,
  ) {
    if (result.file === undefined) return;
    await deps.audit.record({
      actor: actorOf(principal),
      ip,
      request_id: requestId,
      action: 'file.upload',
      target: result.file.id,
      details: {
        storage_element: elementId,
        name: result.file.name,
        size: result.file.size,
        sha256: result.file.sha256,
        resumable: true,
      },
    });
  }

  return {
    /** Tus-Max-Size: больше самого большого известного SE файл не примет никто. */
    maxSize(): number | undefined {
      const sizes = deps
        .elements()
        .flatMap((element) => (element.capacity === null ? [] : [element.capacity.max_bytes]));
      return sizes.length === 0 ? undefined : Math.max(...sizes);
    },

    async create(input: TusCreateInput & { ip: string }): Promise<TusSession> {
      const meta = input.metadata;
      const name = assertClientFileName(meta.get('filename') ?? meta.get('name'));
      const fileMetadata: FileMetadata = normalizeMetadata({
        description: meta.get('description'),
        tags: meta.has('tags') ? parseTagsField(meta.get('tags')!) : undefined,
      });
      const storageElement = meta.get('storage_element');
      const contentType = meta.get('filetype') || 'application/octet-stream';
      const plan = planTargets(
        targets(),
        { principal: input.principal, storageElement },
        input.length,
        deps.metrics,
      );
      if (plan.candidates.length === 0) throw noCandidateError(plan.refusals);
      for (const element of plan.candidates) {
        deps.metrics.selected(element.id);
        try {
          const session = await element.client.json<UploadPatchResult>('POST', '/api/uploads', {
            headers: {
              ...auth(input.principal),
              [SE_HEADERS.name]: encodeURIComponent(name),
              [SE_HEADERS.metadata]: Buffer.from(JSON.stringify(fileMetadata)).toString('base64url'),
              [UPLOAD_SESSION_HEADERS.length]: String(input.length),
              [UPLOAD_SESSION_HEADERS.contentType]: contentType,
              ...deps.compression.headers(contentType, input.length),
            },
            requestId: input.requestId,
          });
          await audited(input.principal, input.ip, input.requestId, element.id, session);
          return { token: formatUploadToken(element.id, session.id), session, fileId: session.file?.id };
        } catch (error) {
          const refused = attemptRefusal(error, input.length);
          if (refused === undefined || plan.explicit) throw error;
          deps.metrics.refused(element.id, refused.refusal.reason);
          plan.refusals.set(element.id, refused.refusal);
          deps.logger.warn(
            { storage_element: element.id, reason: refused.refusal.reason, request_id: input.requestId },
            'tus_create_se_refused_next',
          );
        }
      }
      throw noCandidateError(plan.refusals);
    },

    async status(principal: Principal, token: string, requestId: string): Promise<UploadSessionView> {
      const { elementId, sessionId } = parseUploadToken(token);
      return target(elementId, sessionId).client.json<UploadSessionView>('GET', `/api/uploads/${sessionId}`, {
        headers: auth(principal),
        requestId,
        idempotent: true,
      });
    },

    /** Кусок уходит на SE потоком (backpressure — undici); смещение и контрольную сумму проверяет SE. */
    async patch(input: {
      principal: Principal;
      token: string;
      offset: number;
      checksum?: string;
      contentLength?: string;
      body: Readable;
      requestId: string;
      ip: string;
      clientAborted: AbortSignal;
    }): Promise<TusSession> {
      const { elementId, sessionId } = parseUploadToken(input.token);
      const headers: Record<string, string> = {
        ...auth(input.principal),
        'content-type': 'application/offset+octet-stream',
        [UPLOAD_SESSION_HEADERS.offset]: String(input.offset),
      };
      if (input.checksum !== undefined) headers[UPLOAD_SESSION_HEADERS.checksum] = input.checksum;
      if (input.contentLength !== undefined) headers['content-length'] = input.contentLength;
      const result = await target(elementId, sessionId).client.json<UploadPatchResult>(
        'PATCH',
        `/api/uploads/${sessionId}`,
        {
          headers,
          body: input.body,
          requestId: input.requestId,
          // Обрыв клиента — отмена вызова, а не отказ SE: автомат защиты его не считает (IN-7).
          signal: input.clientAborted,
        },
      );
      await audited(input.principal, input.ip, input.requestId, elementId, result);
      return { token: input.token, session: result, fileId: result.file?.id };
    },

    async terminate(principal: Principal, token: string, requestId: string): Promise<void> {
      const { elementId, sessionId } = parseUploadToken(token);
      await target(elementId, sessionId).client.json('DELETE', `/api/uploads/${sessionId}`, {
        headers: auth(principal),
        requestId,
      });
    },

    /** Открытые загрузки всех SE (администратор); недоступный SE — строкой с причиной, а не ошибкой всего списка. */
    async list(principal: Principal, requestId: string) {
      const elements = targets().filter((element) => {
        try {
          requirePermission(principal, 'storage:manage', { se: element.id });
          return true;
        } catch {
          return false;
        }
      });
      if (elements.length === 0) requirePermission(principal, 'storage:manage');
      return Promise.all(
        elements.map(async (element) => {
          try {
            const list = await element.client.json<UploadSessionList>('GET', '/api/uploads', {
              headers: auth(principal),
              requestId,
              idempotent: true,
            });
            return {
              storage_element: element.id,
              available: true,
              uploads: list.sessions.map((session) => ({
                ...session,
                token: formatUploadToken(element.id, session.id),
              })),
            };
          } catch (error) {
            const code = error instanceof ArtError ? error.code : 'INTERNAL_ERROR';
            return { storage_element: element.id, available: false, error: code, uploads: [] };
          }
        }),
      );
    },
  };
}
export type TusUploads = ReturnType<typeof createTusUploads>;
