// Потоковый прокси байтов к SE-владельцу файла (SPEC QR-6): общий для GET/HEAD /api/files/{id}/content и
// временных ссылок. Range и условные заголовки решает SE (SE-11) — прокси пересылает их и ответ как есть,
// ничего не буферизуя.
import {
  ArtError,
  requirePermission,
  requirePermissionSomewhere,
  type Principal,
  type ServiceClient,
  type ServiceResponse,
} from '@artstore/core';
import type { FileRecord } from '@artstore/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { FileIndex } from '../store/file-index.js';

// accept-encoding / content-encoding / vary: сжатый на SE файл (SPEC IN-3) уходит клиенту, принимающему
// кодировку, как лежит, остальным SE отдаёт исходные байты — прокси передаёт выбор насквозь.
/** Заголовки, которые выдача пересылает SE и возвращает клиенту без изменений. */
const FORWARDED_REQUEST_HEADERS = [
  'range',
  'if-range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'accept-encoding',
];
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'content-encoding',
  'vary',
  'content-length',
  'content-range',
  'accept-ranges',
  'etag',
  'last-modified',
  'content-disposition',
  'cache-control',
];

/** Как запрошены байты: по API со входом или по временной ссылке. */
export type DownloadVia = 'api' | 'link';

export interface DownloadMetrics {
  /** Байты тела, ушедшие клиенту. Число ответов по статусам — artstore_http_request_duration_seconds_count. */
  sent(via: DownloadVia, status: number, bytes: number): void;
}

export function createDownloadMetrics(registry: Registry): DownloadMetrics {
  const bytes = new Counter({
    name: 'artstore_query_download_bytes_total',
    help: 'Байты файлов, выданные через query-module (SPEC QR-6, X-3), по способу выдачи и статусу ответа',
    labelNames: ['via', 'status'] as const,
    registers: [registry],
  });
  return { sent: (via, status, n) => bytes.inc({ via, status: String(status) }, n) };
}

/**
 * Запись, которую вызывающий вправе читать (SPEC AD-5, QR-8): право хоть где-нибудь — до поиска в индексе,
 * право на SE-владельце — когда запись найдена (грант на другой SE его не даёт). activeOnly: удалённый или
 * перенесённый файл — 404, как будто его нет (байты и проверка); запись о файле отдаётся в любом статусе.
 */
export async function readableRecord(
  index: FileIndex,
  principal: Principal | undefined,
  id: string,
  options: { activeOnly: boolean },
): Promise<{ record: FileRecord; principal: Principal }> {
  requirePermissionSomewhere(principal, 'files:read');
  const record = await findRecord(index, id, options);
  return { record, principal: requirePermission(principal, 'files:read', { se: record.storage_element }) };
}

/** Запись индекса без проверки прав — для временной ссылки, право на которую проверено при её выдаче. */
export async function findRecord(
  index: FileIndex,
  id: string,
  options: { activeOnly: boolean },
): Promise<FileRecord> {
  const record = await index.get(id);
  if (!record || (options.activeOnly && record.status !== 'active'))
    throw new ArtError('FILE_NOT_FOUND', `Файл ${id} не найден`);
  return record;
}

export function elementClient(
  elements: ReadonlyMap<string, ServiceClient>,
  record: FileRecord,
): ServiceClient {
  const client = elements.get(record.storage_element);
  if (!client)
    throw new ArtError(
      'UPSTREAM_UNAVAILABLE',
      `Элемент хранения ${record.storage_element} неизвестен этому узлу`,
    );
  return client;
}

/**
 * Запрос байтов у SE. authorization — токен пользователя (SE сам проверит его право, SPEC AD-5); без него
 * клиент SE подставит сервисный токен query (выдача по временной ссылке). Ошибки SE (416 с Content-Range,
 * 412, FILE_ARCHIVED, недоступность) приходят ArtError со своим кодом.
 */
export function openContent(
  request: FastifyRequest,
  client: ServiceClient,
  record: FileRecord,
  authorization?: string,
): Promise<ServiceResponse> {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return client.stream(request.method === 'HEAD' ? 'HEAD' : 'GET', `/api/files/${record.id}/content`, {
    headers,
    requestId: request.id,
  });
}

/** Ответ несёт байты файла (200/206 на GET): только такие выдачи идут в аудит и расходуют одноразовую ссылку. */
export function deliversBytes(request: FastifyRequest, upstream: ServiceResponse): boolean {
  return request.method === 'GET' && (upstream.status === 200 || upstream.status === 206);
}

/** Статус и заголовки SE — клиенту; тело — потоком со счётчиком байтов. cacheControl заменяет политику SE. */
export function sendContent(
  request: FastifyRequest,
  reply: FastifyReply,
  upstream: ServiceResponse,
  options: { via: DownloadVia; metrics: DownloadMetrics; cacheControl?: string },
): FastifyReply {
  void reply.code(upstream.status);
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = upstream.headers[name];
    if (value !== undefined) void reply.header(name, value);
  }
  if (options.cacheControl !== undefined) void reply.header('cache-control', options.cacheControl);
  if (!deliversBytes(request, upstream)) {
    upstream.body.resume();
    return reply.send();
  }
  // Тело SE уходит клиенту без промежуточного потока (лишняя ступень Transform — это процессор на каждый
  // кусок, SPEC QR-6 ≥ 0,7× эталона); байты считает слушатель 'data', счётчик растёт один раз в конце.
  // fastify сам рвёт обе стороны: ошибка SE посреди тела обрывает ответ, уход клиента уничтожает поток к SE.
  // Слушатель ставится, когда fastify подключает поток к ответу (событие 'pipe' у res): поставленный раньше, он
  // пустил бы поток течь до pipe, и куски ушли бы мимо клиента, если бы onSend-хук ждал настоящего I/O.
  let sent = 0;
  reply.raw.once('pipe', () => upstream.body.on('data', (chunk: Buffer) => (sent += chunk.length)));
  upstream.body.once('close', () => options.metrics.sent(options.via, upstream.status, sent));
  return reply.send(upstream.body);
}
