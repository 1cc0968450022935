// POST /api/files (SPEC §9, IN-1): multipart/form-data с одним или многими файлами и полями
// метаданных или любое другое тело как сырой поток; PUT /api/files — то же (сырое тело, имя и метаданные
// в query или заголовках). Каждый файл уходит на SE потоком. Сырое тело с Content-Encoding
// распаковывается с границей против сжатых бомб (request-decoding.ts).
import { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import { ArtError, parseContentDispositionFilename, requirePermissionSomewhere } from '@artstore/core';
import { normalizeMetadata, parseTagsField, type UploadedFile, type UploadResponse } from '@artstore/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { assertClientFileName } from '../domain/file-names.js';
import {
  decodeRequestBody,
  maxDecodedLength,
  requestEncoding,
  type ContentEncodingLimits,
} from '../domain/request-decoding.js';
import type { Uploader } from '../domain/uploader.js';

const MAX_FILES_PER_REQUEST = 100;

interface RawUploadQuery {
  name?: string;
  description?: string;
  tags?: string;
  storage_element?: string;
}

/**
 * Метаданные сырой загрузки в заголовках — для клиентов, которым неудобен query (SPEC IN-1): значения
 * percent-encoded UTF-8 (заголовки HTTP — latin1); query сильнее заголовка.
 */
const RAW_HEADERS = {
  description: 'artstore-description',
  tags: 'artstore-tags',
  storage_element: 'artstore-storage-element',
} as const;

export async function registerUploadRoutes(
  app: FastifyInstance,
  uploader: Uploader,
  contentEncoding: ContentEncodingLimits,
): Promise<void> {
  // Своя область плагина: здесь тело не разбирается (кроме multipart) — JSON тоже идёт как файл.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // preservePath: имя части приходит как есть, и путь в нём отклоняется, а не обрезается молча.
    await scope.register(multipart, {
      preservePath: true,
      limits: {
        fileSize: Number.MAX_SAFE_INTEGER,
        files: MAX_FILES_PER_REQUEST,
        fields: 32,
        fieldSize: 64 * 1024,
        parts: MAX_FILES_PER_REQUEST + 32,
        headerPairs: 64,
      },
    });
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    scope.route<{ Querystring: RawUploadQuery }>({
      method: ['POST', 'PUT'],
      url: '/api/files',
      schema: {
        summary:
          'Загрузка файлов: multipart/form-data (file, description, tags, metadata, storage_element) или сырое тело ' +
          '(имя — ?name= или Content-Disposition; Content-Encoding gzip/br/deflate распаковывается)',
        tags: ['files'],
        querystring: {
          type: 'object',
          properties: {
            name: { type: 'string', maxLength: 1024 },
            description: { type: 'string', maxLength: 4096 },
            tags: { type: 'string', maxLength: 8192 },
            storage_element: { type: 'string', maxLength: 63 },
          },
        },
      },
      handler: async (request, reply) => {
        // Ранний отказ до чтения тела; право на выбранный SE проверяет выбор SE в uploader (SPEC AD-5, IN-2).
        requirePermissionSomewhere(request.principal, 'files:write');
        const clientAborted = clientAbortSignal(request);
        try {
          const files = request.isMultipart()
            ? await uploadMultipart(request, uploader, clientAborted)
            : [await uploadRaw(request, uploader, clientAborted, contentEncoding)];
          return await reply.code(201).send({ files } satisfies UploadResponse);
        } catch (error) {
          // Отказ раньше конца тела: соединение не переиспользуется. Иначе клиент (и прокси перед нами) мог
          // отправить следующий запрос в соединение, где ещё идёт недочитанное тело этого.
          if (!request.raw.complete) void reply.header('connection', 'close');
          throw error;
        }
      },
    });
  });
}

/** Сигнал «клиент оборвал соединение, не дослав тело»: соединение закрылось раньше конца запроса. */
function clientAbortSignal(request: FastifyRequest): AbortSignal {
  const controller = new AbortController();
  request.raw.once('close', () => {
    if (!request.raw.complete) controller.abort();
  });
  return controller.signal;
}

async function uploadRaw(
  request: FastifyRequest<{ Querystring: RawUploadQuery }>,
  uploader: Uploader,
  clientAborted: AbortSignal,
  limits: ContentEncodingLimits,
): Promise<UploadedFile> {
  const query = request.query;
  const name = assertClientFileName(query.name ?? parseContentDispositionFilename(request.headers['content-disposition']));
  const header = (key: keyof typeof RAW_HEADERS) => headerValue(request, RAW_HEADERS[key]);
  const tags = query.tags ?? header('tags');
  const length = request.headers['content-length'];
  const declared = length === undefined ? undefined : Number(length);
  // Без Content-Type и тела fastify не вызывает разбор, и тела нет вовсе — это пустой файл.
  const body = (request.body as Readable | undefined) ?? Readable.from([]);
  // С Content-Encoding Content-Length описывает сжатое тело, а не файл: длина файла неизвестна, и месту на
  // SE хватает верхней границы распаковки (SPEC IN-2).
  const coding = requestEncoding(one(request.headers['content-encoding']));
  return uploader.upload({
    body: coding === undefined ? body : decodeRequestBody(body, coding, limits),
    name,
    contentType: request.headers['content-type'] ?? 'application/octet-stream',
    declaredLength: coding === undefined ? declared : undefined,
    maxLength: coding === undefined || declared === undefined ? undefined : maxDecodedLength(declared, limits),
    metadata: normalizeMetadata({
      description: query.description ?? header('description'),
      tags: tags === undefined ? undefined : parseTagsField(tags),
    }),
    storageElement: query.storage_element ?? header('storage_element'),
    principal: request.principal!,
    requestId: request.id,
    ip: request.ip,
    clientAborted,
  });
}

/** Поля метаданных должны идти до файлов в форме: файл уходит на SE, как только встречен. */
async function uploadMultipart(request: FastifyRequest, uploader: Uploader, clientAborted: AbortSignal): Promise<UploadedFile[]> {
  const fields: { description?: string; tags?: string[]; custom?: Record<string, string> } = {};
  let storageElement: string | undefined;
  const uploaded: UploadedFile[] = [];
  // Длина части формы неизвестна (SPEC IN-2), но часть не длиннее всего запроса.
  const requestLength = request.headers['content-length'];
  for await (const part of request.parts()) {
    if (part.type === 'field') {
      const value = String(part.value);
      switch (part.fieldname) {
        case 'description':
          fields.description = value;
          break;
        case 'tags':
          fields.tags = parseTagsField(value);
          break;
        case 'metadata':
          fields.custom = parseCustomMetadata(value);
          break;
        case 'storage_element':
          storageElement = value;
          break;
        default:
          throw new ArtError('VALIDATION_FAILED', `Неизвестное поле формы «${part.fieldname}»`);
      }
      continue;
    }
    // Отказ по части — после того, как её байты прочитаны вхолостую: иначе разбор формы ждёт их и
    // ответ с ошибкой может не дойти до клиента (запрос висит до таймаута).
    if (part.fieldname !== 'file') {
      part.file.resume();
      throw new ArtError('VALIDATION_FAILED', `Файлы передаются в поле «file», получено «${part.fieldname}»`);
    }
    let name: string;
    try {
      name = assertClientFileName(part.filename);
    } catch (error) {
      part.file.resume();
      throw error;
    }
    uploaded.push(
      await uploader.upload({
        body: part.file,
        name,
        contentType: part.mimetype || 'application/octet-stream',
        maxLength: requestLength === undefined ? undefined : Number(requestLength),
        metadata: normalizeMetadata(fields),
        storageElement,
        principal: request.principal!,
        requestId: request.id,
        ip: request.ip,
        clientAborted,
      }),
    );
  }
  if (uploaded.length === 0) throw new ArtError('UPLOAD_EMPTY', 'В форме нет ни одного поля «file»');
  return uploaded;
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(', ') : v);

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = one(request.headers[name]);
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    throw new ArtError('VALIDATION_FAILED', `Заголовок ${name}: ожидается percent-encoded UTF-8`);
  }
}

function parseCustomMetadata(value: string): Record<string, string> {
  try {
    return JSON.parse(value) as Record<string, string>;
  } catch {
    throw new ArtError('VALIDATION_FAILED', 'Поле metadata: ожидается JSON-объект строк');
  }
}
