// BlobStore на S3 и S3-совместимых хранилищах (SPEC SE-10): та же раскладка ключей, что на локальной
// ФС, attr-объекты рядом с данными. Потоки в обе стороны, файл целиком в памяти не бывает.
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ArtError, type BlobStat, type BlobStore, type ByteRange, type PutOptions, type PutResult } from '@artstore/core';
import { blobNotFound, isListableKey, keySegments } from '../blob-key.js';
import { isWellFormedRange, rangeNotSatisfiable } from '../blob-range.js';
import { s3ErrorName, s3HttpStatus, translateS3Error } from './s3-errors.js';
import { exactRangeBody } from './s3-range.js';

export interface S3BlobStoreOptions {
  /** Адрес S3-совместимого сервиса (MinIO, Ceph, …); для AWS не нужен. */
  endpoint?: string;
  region: string;
  /** Нет — цепочка учётных данных SDK по умолчанию (AWS_* в окружении, роль экземпляра). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Адрес вида endpoint/bucket/key вместо bucket.endpoint/key: нужен почти всем не-AWS сервисам. */
  forcePathStyle?: boolean;
  bucket: string;
  /**
   * Префикс ключей внутри бакета ('' — корень бакета): несколько SE делят один бакет, и ни один ключ
   * хранилища не выходит за свой префикс.
   */
  prefix?: string;
  /** Размер части multipart-загрузки; не меньше 5 MiB (предел S3). Объект — не больше 10 000 частей. */
  partSize?: number;
  /** Сколько частей одной загрузки летит параллельно. */
  queueSize?: number;
}

const MiB = 1024 * 1024;
/** Минимальная часть multipart-загрузки в S3 (кроме последней). */
const MIN_PART_SIZE = 5 * MiB;
/**
 * Память одной записи не зависит от размера файла: не больше (queueSize + 2) × partSize — queueSize
 * частей в полёте, одна собирается из потока и её куски до склейки в часть (lib-storage). По умолчанию
 * 4 × 8 MiB = 32 MiB; предел объекта — 10 000 частей × 8 MiB ≈ 78 GiB.
 */
const DEFAULT_PART_SIZE = 8 * MiB;
const DEFAULT_QUEUE_SIZE = 2;

function configError(why: string): ArtError {
  return new ArtError('CONFIG_INVALID', `createS3BlobStore: ${why}`);
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function positiveInteger(value: number | undefined, fallback: number, min: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw configError(`${name} должен быть целым числом не меньше ${min}`);
  return value;
}

/** Префикс без завершающего '/', проверенный теми же правилами, что ключи; '' — корень бакета. */
function keyBase(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/\/$/, '');
  if (trimmed === '') return '';
  try {
    keySegments(trimmed, { allowPartialTail: false });
  } catch (error) {
    throw configError(`prefix ${JSON.stringify(prefix)} недопустим: ${(error as Error).message}`);
  }
  return `${trimmed}/`;
}

function checkOptions(options: S3BlobStoreOptions): void {
  if (!nonEmpty(options?.bucket)) throw configError('bucket должен быть непустой строкой');
  if (!nonEmpty(options.region)) throw configError('region должен быть непустой строкой');
  if (options.endpoint !== undefined && !URL.canParse(options.endpoint)) throw configError('endpoint должен быть URL');
  const { credentials } = options;
  if (credentials !== undefined && !(nonEmpty(credentials.accessKeyId) && nonEmpty(credentials.secretAccessKey))) {
    throw configError('credentials: нужны оба ключа, accessKeyId и secretAccessKey');
  }
}

export function createS3BlobStore(options: S3BlobStoreOptions): BlobStore {
  checkOptions(options);
  const { bucket } = options;
  const base = keyBase(options.prefix);
  const partSize = positiveInteger(options.partSize, DEFAULT_PART_SIZE, MIN_PART_SIZE, 'partSize');
  const queueSize = positiveInteger(options.queueSize, DEFAULT_QUEUE_SIZE, 1, 'queueSize');
  const client = new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    forcePathStyle: options.forcePathStyle,
    // Контрольные суммы «по умолчанию» SDK ≥ 3.729 понимают не все S3-совместимые сервисы; целостность
    // файла и так проверяет sha256 в attr (SPEC SE-2, SE-6).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Недоступный endpoint — отказ за 10 с, а не через минуты TCP. Тайм-аута простоя нет намеренно:
    // медленный клиент выдачи держит поток S3 на паузе (backpressure), это не сбой.
    requestHandler: { connectionTimeout: 10_000 },
  });

  function objectKey(key: string): string {
    keySegments(key, { allowPartialTail: false });
    return base + key;
  }

  // directorySync не нужен: у S3 нет каталогов, объект надёжен, как только PUT/Complete подтверждён.
  async function put(key: string, data: Readable, putOptions?: PutOptions): Promise<PutResult> {
    const signal = putOptions?.signal;
    // Обрыв по сигналу — через источник: Upload дочитывает его с ошибкой и сам отменяет multipart.
    const onAbort = () => data.destroy();
    let sourceError: unknown;
    let size = 0;
    try {
      const Key = objectKey(key);
      signal?.throwIfAborted();
      signal?.addEventListener('abort', onAbort, { once: true });
      async function* counted(): AsyncGenerator<Buffer> {
        try {
          for await (const chunk of data) {
            const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
            size += bytes.length;
            yield bytes;
          }
        } catch (error) {
          sourceError = error;
          throw error;
        }
      }
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key, Body: Readable.from(counted(), { objectMode: false }) },
        partSize,
        queueSize,
        // Атомарность (SPEC SE-3): объект появляется только после CompleteMultipartUpload, а при любой
        // ошибке Upload дожидается частей в полёте и шлёт AbortMultipartUpload — части не копятся.
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (error) {
        signal?.throwIfAborted();
        throw sourceError ?? translateS3Error(error, bucket);
      }
      // Сигнал, пришедший после того, как источник дочитан и объект записан, уже ничего не отменяет:
      // put либо отклонён и ничего не видно, либо выполнен целиком — как rename на ФС.
      return { size };
    } catch (error) {
      // put владеет потоком: после отказа его никто не дочитает.
      data.destroy();
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async function sizeOf(key: string): Promise<number> {
    const info = await statKey(key);
    if (info === null) throw blobNotFound(key);
    return info.size;
  }

  async function get(key: string, range?: ByteRange): Promise<Readable> {
    const Key = objectKey(key);
    if (range !== undefined && !isWellFormedRange(range)) throw rangeNotSatisfiable(range, await sizeOf(key));
    try {
      // Конец за пределами объекта S3 усекает сам (как HTTP Range, RFC 9110 §14.1.2).
      const output = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key, Range: range && `bytes=${range.start}-${range.end}` }),
      );
      if (!(output.Body instanceof Readable)) throw new Error(`S3 вернул тело ${JSON.stringify(key)} не потоком Node`);
      return range === undefined ? output.Body : exactRangeBody(output.Body, range, output.ContentRange);
    } catch (error) {
      if (s3ErrorName(error) === 'NoSuchKey') throw blobNotFound(key, error);
      if (range !== undefined && s3HttpStatus(error) === 416) throw rangeNotSatisfiable(range, await sizeOf(key));
      throw translateS3Error(error, bucket);
    }
  }

  async function statKey(key: string): Promise<BlobStat | null> {
    const Key = objectKey(key);
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key }));
      return { size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (error) {
      // У ответа HEAD нет тела, код ошибки не приходит: отсутствие ключа видно только по статусу.
      if (s3HttpStatus(error) === 404) return null;
      throw translateS3Error(error, bucket);
    }
  }

  async function deleteKey(key: string): Promise<void> {
    const Key = objectKey(key);
    try {
      // Отсутствующий ключ S3 удаляет без ошибки.
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
    } catch (error) {
      throw translateS3Error(error, bucket);
    }
  }

  // S3 отдаёт ключи в порядке байтов UTF-8 страницами по 1000 — без сортировки всего списка в памяти.
  async function* list(prefix: string): AsyncIterable<string> {
    keySegments(prefix, { allowPartialTail: true });
    let ContinuationToken: string | undefined;
    do {
      let page;
      try {
        page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: base + prefix, ContinuationToken }));
      } catch (error) {
        throw translateS3Error(error, bucket);
      }
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(base.length);
        if (key !== undefined && isListableKey(key)) yield key;
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken !== undefined);
  }

  return {
    kind: 's3',
    capabilities: { atomicPut: true, list: true },
    put,
    get,
    stat: statKey,
    delete: deleteKey,
    list,
  };
}
