// Передача одного файла на SE потоком (SPEC IN-1): байты идут от клиента к SE без буферизации,
// backpressure держит undici. Повтор на другом SE невозможен: поток уже частично прочитан (IN-7).
// Принятый файл — событие аудита (SPEC AD-9) с адресом клиента, которого SE за ingester не видит.
import type { Readable } from 'node:stream';
import { actorOf, allowedElements, ArtError, requirePermission, type AuditClient, type Principal } from '@artstore/core';
import { formatConsistencyToken, SE_HEADERS, type FileMetadata, type FileRecord, type UploadedFile } from '@artstore/contracts';
import type { StorageElementPool } from './storage-elements.js';

export interface UploadInput {
  body: Readable;
  name: string;
  contentType: string;
  declaredLength?: number;
  metadata: FileMetadata;
  storageElement?: string;
  principal: Principal;
  requestId: string;
  /** Адрес клиента (за доверенным прокси — из X-Forwarded-For). */
  ip: string;
  /** Срабатывает, когда клиент оборвал соединение посреди тела запроса. */
  clientAborted?: AbortSignal;
}

export function createUploader(pool: StorageElementPool, audit: AuditClient) {
  return {
    async upload(input: UploadInput): Promise<UploadedFile> {
      // Выбор — только среди SE, куда вызывающему разрешена запись; явно названный SE проверяется
      // здесь, до первого байта (SPEC AD-5). SE проверяет ещё раз по пересланному токену.
      const allowed = allowedElements(input.principal, 'files:write');
      const { ref, client } = pool.choose(input.storageElement, allowed === 'all' ? undefined : allowed);
      requirePermission(input.principal, 'files:write', { se: ref.id });
      const headers: Record<string, string> = {
        authorization: `Bearer ${input.principal.token}`,
        'content-type': input.contentType,
        [SE_HEADERS.name]: encodeURIComponent(input.name),
        [SE_HEADERS.metadata]: Buffer.from(JSON.stringify(input.metadata)).toString('base64url'),
      };
      if (input.declaredLength !== undefined) headers['content-length'] = String(input.declaredLength);
      let stored: FileRecord & { seq: number };
      try {
        stored = await client.json<FileRecord & { seq: number }>('POST', '/api/files', {
          headers,
          body: input.body,
          requestId: input.requestId,
          // Обрыв со стороны клиента — отмена вызова, а не отказ SE: автомат защиты не считает его
          // отказом (IN-7), иначе несколько брошенных загрузок исключали бы исправный SE для всех.
          signal: input.clientAborted,
        });
      } catch (error) {
        if (input.clientAborted?.aborted) throw new ArtError('UPLOAD_INCOMPLETE', 'Клиент оборвал загрузку до конца тела', { cause: error });
        throw error;
      }
      const { seq, ...record } = stored;
      await audit.record({
        actor: actorOf(input.principal),
        ip: input.ip,
        request_id: input.requestId,
        action: 'file.upload',
        target: record.id,
        details: { storage_element: ref.id, name: record.name, size: record.size, sha256: record.sha256 },
      });
      return { ...record, consistency_token: formatConsistencyToken(ref.id, seq) };
    },
  };
}
export type Uploader = ReturnType<typeof createUploader>;
