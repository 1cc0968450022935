// Запись файла на SE строго в порядке SPEC SE-3: намерение в WAL (fsync, групповой) → байты во
// временный файл (fsync) → rename на место → attr-файл атомарно (с векторными часами и подписью) →
// кеш в БД → commit в WAL → ответ. Подтверждение уходит только после того, как данные и attr
// надёжно на диске, поэтому восстановление (recovery.ts) всегда может довести подтверждённую
// запись до конца, а неподтверждённую — откатить. Сбой fsync WAL останавливает приём записи
// (fsyncgate: повтор после неудачного fsync может подтвердить потерянные данные).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { finished, pipeline, Readable } from 'node:stream';
import { ArtError, uuidv7, type BlobStore, type Coordination, type Logger } from '@artstore/core';
import {
  SE_CHANGES_CHANNEL,
  type FileMetadata,
  type SeChangeEvent,
  type StorageEncoding,
  type TransferSource,
} from '@artstore/contracts';
import type { FileCache } from '../store/file-cache.js';
import type { WriteAheadLog } from '../wal/index.js';
import { ATTR_SCHEMA, serializeAttr, type AttrRecord } from './attr.js';
import type { AttrSigner } from './attr-signing.js';
import type { Capacity, Reservation } from './capacity.js';
import type { FaultInjector } from './faults.js';
import { HashingMeter } from './hashing-meter.js';
import { retentionUntil } from './retention.js';
import { createEncoder } from './stored-encoding.js';
import type { Mastership } from './mastership.js';
import type { ModeController } from './mode-controller.js';
import { ATTR_SUFFIX, storedPath } from './naming.js';

export interface WriteRequest {
  /**
   * Идентификатор, назначенный заранее (сага загрузки ingester, SPEC IN-4): по нему другой экземпляр
   * узнаёт, дошёл ли файл до SE. Занятый идентификатор — FILE_ID_TAKEN; без него SE назначает свой.
   */
  id?: string;
  body: Readable | LocalBytes;
  originalName: string;
  contentType: string;
  declaredLength: number | undefined;
  metadata: FileMetadata;
  actor: string;
  /** Хранить сжатым (SPEC IN-3, заголовок artstore-encoding); без него — байты как есть. */
  encoding?: StorageEncoding;
  /**
   * Prepare переноса с другого SE (SPEC IN-6): копия ложится в статусе pending с записью источника;
   * sha256 и размер сверяются до attr — расхождение откатывает всю запись (TRANSFER_CHECKSUM_MISMATCH).
   */
  transfer?: TransferSource;
}

/**
 * Байты уже лежат готовым файлом на той же ФС, что и хранилище (части загрузки tus, SPEC IN-1). Если
 * хранилище умеет adopt и файл хранится как есть, он становится данными записи без второй записи байтов;
 * иначе (S3, сжатие) читается потоком, как тело запроса. Файл остаётся на месте — его удаляет владелец.
 */
export interface LocalBytes {
  path: string;
  /** sha256 (hex) содержимого, посчитанный при приёме; нет — считается здесь одним потоковым чтением. */
  sha256?: string;
}

function isLocalBytes(body: Readable | LocalBytes): body is LocalBytes {
  return !(body instanceof Readable);
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface FileWriterDeps {
  elementId: string;
  /** Роль мастера и эпоха записи (SPEC SE-12); одиночный SE — всегда мастер. */
  mastership: Mastership;
  /** storage.retention: `permanent`, `<n>d`, `<n>y` (SPEC SE-9). */
  retention: string;
  blobs: BlobStore;
  cache: FileCache;
  coordination: Coordination;
  logger: Logger;
  capacity: Capacity;
  signer: AttrSigner;
  wal: WriteAheadLog;
  faults: FaultInjector;
  modes: ModeController;
  /** Вызывается после подтверждённой записи (метрики). */
  onStored?: (attr: AttrRecord) => void;
}

/** Намерение «положить файл»: всё, что нужно восстановлению, чтобы завершить или откатить запись. */
export interface PutIntent {
  op: 'put';
  id: string;
  path: string;
  attr_path: string;
}

export function createFileWriter(deps: FileWriterDeps) {
  /** Заранее назначенные идентификаторы записей в работе: два запроса с одним id не пишут оба. */
  const claimed = new Set<string>();

  async function claimId(requested: string | undefined, now: Date): Promise<string> {
    if (requested === undefined) return uuidv7(now.getTime());
    if (claimed.has(requested) || (await deps.cache.get(requested)) !== undefined) {
      throw new ArtError('FILE_ID_TAKEN', `Файл ${requested} уже есть на ${deps.elementId}`);
    }
    claimed.add(requested);
    return requested;
  }

  function assertWritable(): void {
    if (deps.wal.failed) {
      throw new ArtError('STORAGE_WRITES_STOPPED', `SE ${deps.elementId} не принимает запись после сбоя журнала: ${deps.wal.failed.message}`);
    }
  }

  /** Готовый файл становится данными записи без копирования (SE-3: fsync и появление на месте — в adopt). */
  async function adoptBytes(
    adopt: NonNullable<BlobStore['adopt']>,
    local: LocalBytes,
    request: WriteRequest,
    path: string,
  ): Promise<{ size: number; sha256: string }> {
    const sha256 = local.sha256 ?? (await sha256OfFile(local.path));
    const { size } = await adopt(local.path, path, { directorySync: false });
    if (request.declaredLength !== undefined && size !== request.declaredLength) {
      throw new ArtError('UPLOAD_LENGTH_MISMATCH', `Заявлено ${request.declaredLength} байт, в файле ${size}`);
    }
    return { size, sha256 };
  }

  /** Пишет байты тела во временный файл и переносит на место; при любой ошибке резерв снят, temp удалён. */
  async function writeBytes(
    request: WriteRequest,
    path: string,
    reservation: Reservation,
  ): Promise<{ size: number; sha256: string; stored?: AttrRecord['stored'] }> {
    let body: Readable;
    if (isLocalBytes(request.body)) {
      if (request.encoding === undefined && deps.blobs.adopt) {
        return adoptBytes(deps.blobs.adopt.bind(deps.blobs), request.body, request, path);
      }
      body = createReadStream(request.body.path);
    } else {
      body = request.body;
    }
    // Без заявленной длины резерв растёт по мере прихода байтов (SPEC SE-8): иначе chunked-загрузка
    // (файлы из multipart через ingester) писала бы сверх max_size.
    const meter = new HashingMeter(request.declaredLength === undefined ? (total) => reservation.ensure(total) : undefined);
    // Обрыв или ошибка тела разрушают meter — put() тогда удаляет временный файл. Обратного
    // разрушения нет (не pipeline): отказ записи (507, ключ) не рвёт соединение, клиент получает ответ.
    finished(body, (error) => {
      if (error) meter.destroy(error);
    });
    // Ошибку meter получает put() своим pipeline, но подключается он не сразу (await mkdir): обрыв тела
    // в этот промежуток без слушателя — необработанное 'error' от pipe(), и падает весь процесс.
    meter.on('error', () => {});
    body.pipe(meter);
    // Сжатие (SPEC IN-3): meter считает sha256 и размер исходных байтов, storedMeter — того, что ляжет
    // на носитель. Резерв места по-прежнему растёт по исходным байтам: сжатое не длиннее их (политика
    // ingester не сжимает несжимаемое), и max_size считается в исходных байтах, как кеш (usedBytes).
    let storedMeter: HashingMeter | undefined;
    if (request.encoding !== undefined) {
      storedMeter = new HashingMeter();
      // Ошибку цепочки получает put() через storedMeter; колбэк лишь гасит её.
      pipeline(meter, createEncoder(request.encoding, request.declaredLength), storedMeter, () => undefined);
    }
    try {
      // attr ляжет в тот же каталог: его put закрепит fsync каталога обе записи сразу.
      await deps.blobs.put(path, storedMeter ?? meter, { directorySync: false });
    } catch (error) {
      // Остаток тела читается вхолостую, как Node делает с непрочитанным телом: ответ с ошибкой
      // доходит до клиента, соединение остаётся пригодным. После обрыва клиента это ничего не делает.
      body.unpipe(meter);
      body.resume();
      throw error;
    }
    if (request.declaredLength !== undefined && meter.bytes !== request.declaredLength) {
      throw new ArtError('UPLOAD_LENGTH_MISMATCH', `Заявлено ${request.declaredLength} байт, получено ${meter.bytes}`);
    }
    const original = { size: meter.bytes, sha256: meter.digest() };
    if (storedMeter === undefined || request.encoding === undefined) return original;
    return { ...original, stored: { encoding: request.encoding.encoding, size: storedMeter.bytes, sha256: storedMeter.digest() } };
  }

  async function writeClaimed(request: WriteRequest, id: string, now: Date): Promise<{ attr: AttrRecord; seq: number }> {
    const epoch = deps.mastership.writeEpoch();
    const reservation = await deps.capacity.reserve(request.declaredLength ?? 0);
    const path = storedPath(request.originalName, id, now);
    const attrPath = `${path}${ATTR_SUFFIX}`;
    const tx = uuidv7();
    try {
      const intent: PutIntent = { op: 'put', id, path, attr_path: attrPath };
      await deps.wal.append({ type: 'intent', tx, epoch, ...intent });
    } catch (error) {
      reservation.release();
      assertWritable();
      throw error;
    }
    deps.faults.hit('se.after-wal-intent');
    try {
      const { size, sha256, stored } = await writeBytes(request, path, reservation);
      deps.faults.hit('se.after-data-rename');
      const stamp = now.toISOString();
      const attr = deps.signer.sign<AttrRecord>({
        schema: ATTR_SCHEMA,
        id,
        element_id: deps.elementId,
        path,
        original_name: request.originalName,
        content_type: request.contentType,
        size,
        sha256,
        stored: stored ?? { encoding: 'identity', size, sha256 },
        created_at: stamp,
        created_by: request.actor,
        updated_at: stamp,
        updated_by: request.actor,
        retention_until: retentionUntil(deps.retention, now),
        status: 'active',
        metadata: request.metadata,
        version: 1,
        vector_clock: { [deps.elementId]: 1 },
        ...(request.transfer ? pendingFields(request.transfer, deps.elementId, request.actor, stamp) : {}),
      });
      if (request.transfer) assertTransferredBytes(attr, request.transfer);
      await deps.blobs.put(attrPath, Readable.from([serializeAttr(attr)]));
      deps.faults.hit('se.after-attr-write');
      // Ранний отказ, если роль ушла; окончательный — проверка эпохи в транзакции кеша.
      deps.mastership.assertEpoch(epoch);
      const seq = await deps.cache.upsert(attr, epoch);
      deps.faults.hit('se.after-cache-upsert');
      reservation.commit(attr.size);
      deps.onStored?.(attr);
      // commit без собственного fsync: восстановление выводит его из полных данных и attr.
      await deps.wal.append({ type: 'commit', tx, epoch }, { durable: false });
      deps.logger.info({ file_id: id, path, size: attr.size, seq }, 'file_stored');
      await deps.coordination
        .publish(SE_CHANGES_CHANNEL, JSON.stringify({ element_id: deps.elementId, seq } satisfies SeChangeEvent))
        .catch((error: unknown) => deps.logger.warn({ err: error }, 'change_publish_failed'));
      return { attr, seq };
    } catch (error) {
      reservation.release();
      await deps.blobs.delete(attrPath).catch(() => undefined);
      await deps.blobs.delete(path).catch(() => undefined);
      await deps.wal.append({ type: 'abort', tx, epoch }, { durable: false }).catch(() => undefined);
      assertWritable();
      // Роль ушла посреди записи: новый мастер мог убрать её временный файл — причина отказа в этом.
      deps.mastership.assertEpoch(epoch);
      throw error;
    }
  }

  return {
    async write(request: WriteRequest): Promise<{ attr: AttrRecord; seq: number }> {
      deps.modes.assert('create');
      assertWritable();
      const now = new Date();
      const id = await claimId(request.id, now);
      try {
        return await writeClaimed(request, id, now);
      } finally {
        claimed.delete(id);
      }
    },
    /** Идёт ли сейчас запись с этим заранее назначенным id (отмена переноса ждёт её конца, SPEC IN-6). */
    inProgress: (id: string): boolean => claimed.has(id),
  };
}
export type FileWriter = ReturnType<typeof createFileWriter>;

/** Поля копии на целевом SE: история файла (создан, кем, срок хранения) — из источника, статус pending. */
function pendingFields(source: TransferSource, elementId: string, actor: string, stamp: string) {
  return {
    created_at: source.created_at,
    created_by: source.created_by,
    retention_until: source.retention_until,
    status: 'pending' as const,
    transfer: {
      id: source.transfer_id,
      source: source.source_element,
      target: elementId,
      by: actor,
      at: stamp,
      committed_at: null,
      purged_at: null,
    },
  };
}

function assertTransferredBytes(attr: AttrRecord, source: TransferSource): void {
  if (attr.sha256 !== source.sha256 || attr.size !== source.size) {
    throw new ArtError(
      'TRANSFER_CHECKSUM_MISMATCH',
      `Файл ${attr.id}: получено ${attr.size} байт sha256 ${attr.sha256}, ` +
        `источник ${source.source_element} заявил ${source.size} байт sha256 ${source.sha256}`,
      {
        extra: {
          expected_sha256: source.sha256,
          actual_sha256: attr.sha256,
          expected_size: source.size,
          actual_size: attr.size,
        },
      },
    );
  }
}
