// Сессии возобновляемых загрузок на SE (SPEC IN-1 — tus 1.0 у ingester, BY-6 — надёжность куска).
// Части загрузки живут на том SE, которому достанется файл: ingester остаётся без состояния, а файл не
// копируется между узлами при завершении. Каталог сессии — `<base_path>/.artstore/uploads/<id>/`
// (SPEC SE-1: служебное состояние в .artstore/): он на той же ФС, что и хранилище, и его не обходят ни
// перестройка кеша, ни сверка, ни scrub (BlobStore не отдаёт .artstore/ в list), а восстановление WAL
// чистит только .artstore/tmp. В каталоге — `info.json` (владелец, имя, метаданные, длина, принятое
// смещение, сроки) и `data` (принятые байты).
//
// Кусок подтверждается только после fsync данных и затем fsync записанного смещения (BY-6): принятое
// смещение никогда не опережает байты на диске. Оборванный или отвергнутый кусок отбрасывается целиком
// (файл данных обрезается до принятого смещения) — клиент tus продолжит с HEAD.
//
// Завершение не переписывает байты: sha256 всего файла считается на лету по мере приёма кусков, и файл
// данных становится данными записи жёсткой ссылкой (BlobStore.adopt, порядок SE-3 сохраняется). После
// ссылки файл данных больше не меняется: append при offset = length ничего не дописывает и не обрезает.
import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtError, fsyncDirectory, isArtError, uuidv7, type Logger } from '@artstore/core';
import {
  UPLOAD_CHECKSUM_ALGORITHMS,
  type FileMetadata,
  type StorageEncoding,
  type UploadPatchResult,
  type UploadSessionView,
} from '@artstore/contracts';
import { recordFromAttr, type AttrRecord } from './attr.js';
import type { Capacity, Reservation } from './capacity.js';
import type { FileWriter } from './file-writer.js';
import type { KeyedLock } from './keyed-lock.js';
import type { ModeController } from './mode-controller.js';

const INFO_SCHEMA = 'artstore.upload-session/v1';
const INFO_FILE = 'info.json';
const DATA_FILE = 'data';

/** Каталог сессий внутри корня SE. */
export function uploadSessionsDir(basePath: string): string {
  return join(basePath, '.artstore', 'uploads');
}

interface SessionInfo {
  schema: typeof INFO_SCHEMA;
  id: string;
  owner: string;
  name: string;
  content_type: string;
  metadata: FileMetadata;
  /** Назначается при создании: повтор завершения после сбоя узнаёт уже записанный файл (FILE_ID_TAKEN). */
  file_id: string;
  length: number;
  offset: number;
  created_at: string;
  expires_at: string;
  /** Файл записан; info хранится до expires_at, чтобы GET отвечал file_id, байтов уже нет. */
  finished_at: string | null;
  /** Кодировка хранения готового файла; нет — как есть. */
  encoding?: StorageEncoding;
}

interface Session {
  info: SessionInfo;
  /** Резерв места на длину загрузки (SPEC SE-8); null — завершена или резерв не удалось вернуть после рестарта. */
  reservation: Reservation | null;
  /** sha256 принятых байтов [0, offset) по мере приёма; null — неизвестен (после рестарта SE): посчитает писатель. */
  hash: Hash | null;
}

/** Кто обращается: владелец видит свои сессии, storage:manage на этом SE — все. */
export interface SessionActor {
  username: string;
  manager: boolean;
}

export interface CreateSessionInput {
  name: string;
  contentType: string;
  metadata: FileMetadata;
  length: number;
  fileId?: string;
  /** Кодировка хранения готового файла (SPEC IN-3): сжимается при сборке из кусков. */
  encoding?: StorageEncoding;
}

export interface PatchInput {
  offset: number;
  body: Readable;
  /** Content-Length куска, если известен: слишком длинный отвергается до чтения. */
  contentLength?: number;
  /** Значение Upload-Checksum: `<алгоритм> <base64>`. */
  checksum?: string;
}

export interface UploadSessionsDeps {
  elementId: string;
  dir: string;
  writer: FileWriter;
  cache: { get(id: string): Promise<AttrRecord | undefined> };
  capacity: Pick<Capacity, 'reserve'>;
  modes: Pick<ModeController, 'assert'>;
  lock: KeyedLock;
  logger: Logger;
  /** storage.uploads.expiration, мс. */
  expirationMs: number;
  /** storage.max_size: длиннее загрузка не бывает. */
  maxLength: number;
  now?: () => number;
}

type Algorithm = (typeof UPLOAD_CHECKSUM_ALGORITHMS)[number];

/** `<алгоритм> <base64>` (tus checksum extension); иное — 400 UPLOAD_CHECKSUM_UNSUPPORTED. */
export function parseUploadChecksum(header: string): { algorithm: Algorithm; digest: Buffer } {
  const match = /^([A-Za-z0-9-]+) ([A-Za-z0-9+/]+={0,2})$/.exec(header.trim());
  const algorithm = match?.[1]?.toLowerCase();
  if (match === null || !UPLOAD_CHECKSUM_ALGORITHMS.includes(algorithm as Algorithm)) {
    throw new ArtError(
      'UPLOAD_CHECKSUM_UNSUPPORTED',
      `Upload-Checksum: ожидается «<алгоритм> <base64>», алгоритмы: ${UPLOAD_CHECKSUM_ALGORITHMS.join(', ')}`,
    );
  }
  return { algorithm: algorithm as Algorithm, digest: Buffer.from(match[2]!, 'base64') };
}

/** Запись JSON атомарно и надёжно: temp, fsync, rename, fsync каталога (как attr, SPEC SE-2). */
async function writeInfo(dir: string, info: SessionInfo): Promise<void> {
  const temp = join(dir, `${INFO_FILE}.tmp`);
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(`${JSON.stringify(info)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, join(dir, INFO_FILE));
  await fsyncDirectory(dir);
}

/**
 * Запись потока в открытый файл с позиции start. Не FileHandle.createWriteStream: с autoClose: false поток
 * держит ссылку на дескриптор, и close() ждёт её вечно; здесь дескриптор закрывает только владелец.
 */
function positionalSink(handle: FileHandle, start: number): Writable {
  let position = start;
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const writeAll = async () => {
        for (let done = 0; done < chunk.length;) {
          const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position);
          done += bytesWritten;
          position += bytesWritten;
        }
      };
      writeAll().then(() => callback(), callback);
    },
  });
}

/** Обрезает файл данных до принятого смещения и закрепляет это на диске. */
async function truncateData(path: string, length: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function openUploadSessions(deps: UploadSessionsDeps) {
  const now = deps.now ?? Date.now;
  const sessions = new Map<string, Session>();
  const sessionDir = (id: string) => join(deps.dir, id);
  const dataPath = (id: string) => join(deps.dir, id, DATA_FILE);
  await mkdir(deps.dir, { recursive: true });

  function view(session: Session): UploadSessionView {
    const { info } = session;
    return {
      id: info.id,
      element_id: deps.elementId,
      owner: info.owner,
      name: info.name,
      content_type: info.content_type,
      length: info.length,
      offset: info.offset,
      created_at: info.created_at,
      expires_at: info.expires_at,
      file_id: info.file_id,
      finished: info.finished_at !== null,
    };
  }

  const expired = (session: Session) => Date.parse(session.info.expires_at) <= now();

  /** Чужая сессия неотличима от несуществующей: её id не раскрывается (tus: 404). */
  function visible(id: string, actor: SessionActor): Session {
    const session = sessions.get(id);
    if (session === undefined || (session.info.owner !== actor.username && !actor.manager)) {
      throw new ArtError('UPLOAD_SESSION_NOT_FOUND', `Загрузки ${id} нет на ${deps.elementId}`);
    }
    if (expired(session)) {
      throw new ArtError('UPLOAD_SESSION_EXPIRED', `Срок загрузки ${id} истёк ${session.info.expires_at}`);
    }
    return session;
  }

  async function discard(session: Session): Promise<void> {
    sessions.delete(session.info.id);
    session.reservation?.release();
    session.reservation = null;
    await rm(sessionDir(session.info.id), { recursive: true, force: true });
    await fsyncDirectory(deps.dir);
  }

  /**
   * Последний байт принят — файл пишется обычным путём SE-3 (WAL, attr, кеш) из файла данных. Резерв сессии
   * отдаётся прямо перед записью: писатель резервирует ту же длину сам, двойной резерв отказал бы почти
   * полному SE. Повтор после сбоя между записью и отметкой в info узнаёт файл по заранее назначенному id.
   */
  async function finalize(session: Session): Promise<NonNullable<UploadPatchResult['file']>> {
    const { info } = session;
    session.reservation?.release();
    session.reservation = null;
    let file: NonNullable<UploadPatchResult['file']>;
    try {
      const { attr, seq } = await deps.writer.write({
        id: info.file_id,
        // copy(): digest() закрывает хеш, а неудачное завершение повторится следующим PATCH.
        body: { path: dataPath(info.id), sha256: session.hash?.copy().digest('hex') },
        originalName: info.name,
        contentType: info.content_type,
        declaredLength: info.length,
        metadata: info.metadata,
        actor: info.owner,
        encoding: info.encoding,
      });
      file = { ...recordFromAttr(attr), seq };
    } catch (error) {
      const existing = isArtError(error, 'FILE_ID_TAKEN') ? await deps.cache.get(info.file_id) : undefined;
      if (existing === undefined || existing.size !== info.length) {
        // Файл не записан: резерв возвращается, следующий PATCH с Upload-Offset = длине повторит запись.
        session.reservation = await deps.capacity.reserve(info.length).catch(() => null);
        throw error;
      }
      file = { ...recordFromAttr(existing), seq: null };
    }
    info.finished_at = new Date(now()).toISOString();
    await writeInfo(sessionDir(info.id), info);
    await rm(dataPath(info.id), { force: true });
    deps.logger.info({ upload_id: info.id, file_id: file.id, size: info.length }, 'upload_session_finished');
    return file;
  }

  /** Кусок в файл данных с принятого смещения; при любой неудаче файл обрезается обратно. */
  async function append(session: Session, input: PatchInput): Promise<void> {
    const { info } = session;
    const remaining = info.length - info.offset;
    const expected = input.checksum === undefined ? undefined : parseUploadChecksum(input.checksum);
    const hash = expected && createHash(expected.algorithm);
    // Копия: отброшенный кусок не должен попасть в sha256 файла.
    const running = session.hash?.copy() ?? null;
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        if (received > remaining) {
          callback(
            new ArtError(
              'UPLOAD_LENGTH_EXCEEDED',
              `Кусок длиннее остатка загрузки: осталось ${remaining} байт`,
            ),
          );
          return;
        }
        hash?.update(chunk);
        running?.update(chunk);
        callback(null, chunk);
      },
    });
    const handle = await open(dataPath(info.id), 'r+');
    try {
      // Хвост за принятым смещением — от неподтверждённого куска (обрыв, сбой): он не считается.
      await handle.truncate(info.offset);
      try {
        await pipeline(input.body, meter, positionalSink(handle, info.offset));
        if (hash && !hash.digest().equals(expected.digest)) {
          throw new ArtError(
            'UPLOAD_CHECKSUM_MISMATCH',
            `Upload-Checksum ${expected.algorithm} не совпал: кусок отброшен`,
          );
        }
        // BY-6: сначала байты, потом смещение — подтверждённое смещение всегда покрыто данными на диске.
        await handle.sync();
      } catch (error) {
        await handle.truncate(info.offset);
        await handle.sync();
        throw error;
      }
    } finally {
      await handle.close();
    }
    // Смещение и sha256 в памяти меняются вместе: хеш всегда покрывает ровно [0, offset).
    info.offset += received;
    session.hash = running;
    await writeInfo(sessionDir(info.id), info);
  }

  /** Загрузка сессий при старте: смещение — из info, лишний хвост данных отрезается, резерв места — заново. */
  async function load(): Promise<void> {
    for (const entry of await readdir(deps.dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = sessionDir(entry.name);
      let info: SessionInfo;
      try {
        info = JSON.parse(await readFile(join(dir, INFO_FILE), 'utf8')) as SessionInfo;
        if (info.schema !== INFO_SCHEMA || info.id !== entry.name)
          throw new Error(`чужая схема ${String(info.schema)}`);
        if (info.finished_at === null) await truncateData(join(dir, DATA_FILE), info.offset);
      } catch (error) {
        // Создание оборвалось до info (клиенту не ответили) или файл испорчен: продолжать нечего.
        deps.logger.warn({ err: error, upload_id: entry.name }, 'upload_session_dropped');
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      const session: Session = { info, reservation: null, hash: null };
      if (info.finished_at === null) {
        session.reservation = await deps.capacity.reserve(info.length).catch((error: unknown) => {
          deps.logger.warn({ err: error, upload_id: info.id }, 'upload_session_reservation_lost');
          return null;
        });
      }
      sessions.set(info.id, session);
    }
  }

  await load();

  return {
    async create(
      actor: SessionActor,
      input: CreateSessionInput,
    ): Promise<UploadSessionView | UploadPatchResult> {
      deps.modes.assert('create');
      if (!Number.isSafeInteger(input.length) || input.length < 0) {
        throw new ArtError('VALIDATION_FAILED', 'Upload-Length: ожидается целое число байт ≥ 0');
      }
      if (input.length > deps.maxLength) {
        throw new ArtError(
          'UPLOAD_LENGTH_EXCEEDED',
          `Upload-Length ${input.length} больше предела ${deps.maxLength} байт на ${deps.elementId}`,
        );
      }
      if (input.fileId !== undefined && (await deps.cache.get(input.fileId)) !== undefined) {
        throw new ArtError('FILE_ID_TAKEN', `Файл ${input.fileId} уже есть на ${deps.elementId}`);
      }
      const reservation = await deps.capacity.reserve(input.length);
      const at = now();
      const info: SessionInfo = {
        schema: INFO_SCHEMA,
        id: uuidv7(at),
        owner: actor.username,
        name: input.name,
        content_type: input.contentType,
        metadata: input.metadata,
        file_id: input.fileId ?? uuidv7(at),
        length: input.length,
        offset: 0,
        created_at: new Date(at).toISOString(),
        expires_at: new Date(at + deps.expirationMs).toISOString(),
        finished_at: null,
        ...(input.encoding === undefined ? {} : { encoding: input.encoding }),
      };
      const dir = sessionDir(info.id);
      const session: Session = { info, reservation, hash: createHash('sha256') };
      try {
        await mkdir(dir);
        await (await open(join(dir, DATA_FILE), 'wx')).close();
        await writeInfo(dir, info);
        await fsyncDirectory(deps.dir);
      } catch (error) {
        reservation.release();
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
      sessions.set(info.id, session);
      deps.logger.info(
        { upload_id: info.id, length: info.length, owner: info.owner },
        'upload_session_created',
      );
      // Пустой файл завершён сразу (tus: Upload-Length 0 — загрузка уже полная).
      if (info.length === 0) {
        return deps.lock(info.id, async () => ({
          ...view(session),
          file: await finalize(session),
          finished: true,
        }));
      }
      return view(session);
    },

    get(id: string, actor: SessionActor): UploadSessionView {
      return view(visible(id, actor));
    },

    /** Кусок по смещению под блокировкой сессии: из одновременных кусков с одним смещением проходит один. */
    async patch(id: string, actor: SessionActor, input: PatchInput): Promise<UploadPatchResult> {
      if (input.checksum !== undefined) parseUploadChecksum(input.checksum);
      visible(id, actor);
      return deps.lock(id, async () => {
        const session = visible(id, actor);
        const { info } = session;
        if (input.offset !== info.offset) {
          throw new ArtError(
            'UPLOAD_OFFSET_MISMATCH',
            `Upload-Offset ${input.offset}, а принято ${info.offset} байт`,
            {
              extra: { offset: info.offset },
            },
          );
        }
        if (input.contentLength !== undefined && input.contentLength > info.length - info.offset) {
          throw new ArtError(
            'UPLOAD_LENGTH_EXCEEDED',
            `Кусок ${input.contentLength} байт, осталось ${info.length - info.offset}`,
          );
        }
        if (info.finished_at !== null) {
          input.body.resume();
          return view(session);
        }
        deps.modes.assert('create');
        await append(session, input);
        if (info.offset < info.length) return view(session);
        const file = await finalize(session);
        return { ...view(session), file };
      });
    },

    /** Прекращение загрузки (tus termination): части и резерв удаляются; завершённый файл не трогается. */
    async terminate(id: string, actor: SessionActor): Promise<void> {
      await deps.lock(id, async () => {
        const session = sessions.get(id);
        if (session === undefined || (session.info.owner !== actor.username && !actor.manager)) {
          throw new ArtError('UPLOAD_SESSION_NOT_FOUND', `Загрузки ${id} нет на ${deps.elementId}`);
        }
        await discard(session);
        deps.logger.info({ upload_id: id, actor: actor.username }, 'upload_session_terminated');
      });
    },

    /** Открытые (не завершённые и не истёкшие) сессии — список для администратора. */
    list(): UploadSessionView[] {
      return [...sessions.values()].filter((s) => s.info.finished_at === null && !expired(s)).map(view);
    },

    /** Уборка истёкших сессий: части, info и резерв (tus expiration). */
    async sweep(): Promise<number> {
      let removed = 0;
      for (const session of [...sessions.values()]) {
        if (!expired(session)) continue;
        await deps.lock(session.info.id, async () => {
          if (sessions.get(session.info.id) !== session || !expired(session)) return;
          await discard(session);
          removed += 1;
        });
      }
      if (removed > 0) deps.logger.info({ removed }, 'upload_sessions_swept');
      return removed;
    },
  };
}
export type UploadSessions = Awaited<ReturnType<typeof openUploadSessions>>;
