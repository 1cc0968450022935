// Журнал упреждающей записи элемента хранения (SPEC SE-3): intent с fsync до первых байтов данных,
// commit последним шагом; при старте — воспроизведение до последней целой записи; сегменты
// закрываются контрольными точками и удаляются. Групповая фиксация: записи, пришедшие, пока идёт
// write+fsync, уходят следующим одним write и одним fsync.
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ArtError, uuidv7 } from '@artstore/core';
import {
  decodeSegment,
  encodeFrame,
  WalError,
  type FrameDefect,
  type WalRecord,
  type WalRecordInput,
} from './record-codec.js';
import { nodeWalIo, segmentName, segmentNumber, writeFully, type WalIo } from './segment.js';

export interface WalCorruption {
  /** Сегмент, где воспроизведение остановилось (при gap — отсутствующий сегмент). */
  segment: string;
  /** Смещение первой негодной записи в сегменте. */
  offset: number;
  /** gap — в нумерации сегментов дыра: кто-то удалил сегмент из середины. */
  reason: FrameDefect | 'gap';
  /** Файлы, выведенные из воспроизведения в карантин (копия испорченного сегмента, поздние сегменты). */
  quarantined: string[];
}

export interface WalRecovery {
  /** Все целые записи до первой негодной, по порядку. */
  records: WalRecord[];
  /** intent-записи транзакций без commit/abort: их судьбу решает восстановление SE. */
  open: WalRecord[];
  corruption: WalCorruption | null;
}

export type CheckpointOutcome = { deleted: string[]; error: null } | { deleted: null; error: unknown };

export interface OpenWalOptions {
  /** Каталог сегментов, обычно walDirectory(base_path). Журнал владеет им единолично. */
  dir: string;
  /** Предел сегмента, после которого начинается новый (64 MiB). */
  segmentMaxBytes?: number;
  /** Не дольше этого записи с durable:false остаются без fsync (1000 мс). */
  flushIntervalMs?: number;
  io?: WalIo;
  now?: () => Date;
  /** Журнал отказал (ошибка write/fsync): SE должен перестать принимать запись и стать неготовым. */
  onFailure?: (error: WalError) => void;
  /** Длительность каждого fsync сегмента и сколько записей он закрепил (гистограммы метрик). */
  onFsync?: (seconds: number, records: number) => void;
  /** Итог контрольной точки, которую журнал сделал сам после ротации. */
  onCheckpoint?: (outcome: CheckpointOutcome) => void;
}

export interface WriteAheadLog {
  /**
   * Дописывает запись. durable:true — промис выполняется после fsync; durable:false (для commit:
   * восстановление выведет его заново) — после write, fsync делает следующий пакет, таймер или close.
   */
  append(record: WalRecordInput, options?: { durable?: boolean }): Promise<WalRecord>;
  /** Удаляет закрытые старые сегменты; сначала надёжно пишет запись checkpoint с их именами. */
  checkpoint(): Promise<{ deleted: string[] }>;
  /** Дописывает очередь, делает fsync и закрывает сегмент; дальнейшие append отклоняются. */
  close(): Promise<void>;
  /** Ошибка, из-за которой журнал отказал навсегда (до перезапуска), или null. */
  readonly failed: WalError | null;
  /** Байтов в живых сегментах — для учёта места под WAL (SPEC BY-5). */
  readonly sizeBytes: number;
  /** Первые intent-записи транзакций без commit/abort — то, что сейчас в работе (SPEC AD-10). */
  openTransactions(): WalRecord[];
}

const DEFAULT_SEGMENT_MAX_BYTES = 64 * 1024 * 1024;
const DEFAULT_FLUSH_INTERVAL_MS = 1000;

interface SegmentState {
  name: string;
  number: number;
  size: number;
  /** Незакрытые транзакции, чей (первый) intent лежит в этом сегменте: они держат сегмент. */
  open: Set<string>;
}

interface Pending {
  /** null — только fsync (close, таймер). */
  frame: Buffer | null;
  record: WalRecord | null;
  durable: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function checkOptions(options: OpenWalOptions): void {
  if (typeof options?.dir !== 'string' || options.dir.trim() === '') {
    throw new ArtError('CONFIG_INVALID', 'openWal: dir должен быть непустым путём');
  }
  for (const key of ['segmentMaxBytes', 'flushIntervalMs'] as const) {
    const value = options[key];
    if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
      throw new ArtError(
        'CONFIG_INVALID',
        `openWal: ${key} должен быть положительным целым, получено ${value}`,
      );
    }
  }
}

/** Вызов колбэка вне критического пути: его исключение не должно считаться отказом журнала. */
function notify(callback: () => void): void {
  queueMicrotask(callback);
}

export async function openWal(
  options: OpenWalOptions,
): Promise<{ wal: WriteAheadLog; recovered: WalRecovery }> {
  checkOptions(options);
  const io = options.io ?? nodeWalIo;
  const now = options.now ?? (() => new Date());
  const segmentMaxBytes = options.segmentMaxBytes ?? DEFAULT_SEGMENT_MAX_BYTES;
  const flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
  const dir = path.resolve(options.dir);

  const firstCreated = await io.mkdir(dir);
  if (firstCreated !== undefined) {
    // Новый каталог переживёт сбой питания, только если его запись закреплена в родителе.
    const stopAt = path.dirname(firstCreated);
    for (
      let current = dir;
      current !== stopAt && current !== path.dirname(current);
      current = path.dirname(current)
    ) {
      await io.fsyncDir(path.dirname(current));
    }
  }

  const existing = new Set(await io.readdir(dir));
  const listed = [...existing]
    .map((name) => ({ name, number: segmentNumber(name) }))
    .filter((entry): entry is { name: string; number: number } => entry.number !== null)
    .sort((a, b) => a.number - b.number);

  const segments: SegmentState[] = [];
  /** Незакрытые транзакции: сегмент, который они держат, и их первый intent (для обзора транзакций, SPEC AD-10). */
  const openTx = new Map<string, { segment: SegmentState; intent: WalRecord }>();
  let highestEpoch = 0;

  function track(record: WalRecord, segment: SegmentState): void {
    switch (record.type) {
      case 'intent':
        // Транзакция держит сегмент своего первого intent: он старше всех её следующих записей.
        if (!openTx.has(record.tx)) {
          openTx.set(record.tx, { segment, intent: record });
          segment.open.add(record.tx);
        }
        break;
      case 'commit':
      case 'abort':
        openTx.get(record.tx)?.segment.open.delete(record.tx);
        openTx.delete(record.tx);
        break;
      case 'checkpoint':
        break;
    }
  }

  function quarantineName(name: string): string {
    const stamp = now().toISOString().replace(/[:.]/g, '-');
    let candidate = `${name}.corrupt-${stamp}`;
    for (let n = 2; existing.has(candidate); n++) candidate = `${name}.corrupt-${stamp}-${n}`;
    existing.add(candidate);
    return candidate;
  }

  /**
   * Приводит диск к тому, что воспроизведено. Без этого следующий старт снова остановился бы на той
   * же негодной записи и молча потерял бы всё, что журнал запишет после неё (новые сегменты идут
   * следом). Ничего не уничтожается: поздние сегменты и испорченный сегмент уходят в карантин, кроме
   * оборванного хвоста — это незавершённая запись, которую никто не получил как подтверждённую.
   * Порядок выдерживает сбой на любом шаге: повторный старт просто повторит починку.
   */
  async function repair(
    later: string[],
    damaged: { name: string; bytes: Uint8Array; validBytes: number; defect: FrameDefect } | null,
  ): Promise<string[]> {
    const quarantined: string[] = [];
    for (const name of later) {
      const target = quarantineName(name);
      await io.rename(path.join(dir, name), path.join(dir, target));
      quarantined.push(target);
    }
    // Поздние сегменты должны исчезнуть надёжно раньше, чем усечётся испорченный, иначе после сбоя
    // их записи воспроизвелись бы вслед за усечённым сегментом.
    if (later.length > 0) await io.fsyncDir(dir);
    if (damaged === null) return quarantined;
    if (damaged.defect !== 'torn') {
      const target = quarantineName(damaged.name);
      const copy = await io.open(path.join(dir, target), 'wx');
      try {
        await writeFully(io, copy, damaged.bytes, 0);
        await io.fsync(copy);
      } finally {
        await io.close(copy);
      }
      await io.fsyncDir(dir);
      quarantined.push(target);
    }
    const handle = await io.open(path.join(dir, damaged.name), 'r+');
    try {
      await io.truncate(handle, damaged.validBytes);
      await io.fsync(handle);
    } finally {
      await io.close(handle);
    }
    return quarantined;
  }

  const records: WalRecord[] = [];
  let corruption: WalCorruption | null = null;
  for (let i = 0; i < listed.length; i++) {
    const entry = listed[i]!;
    const previous = listed[i - 1];
    if (previous !== undefined && entry.number !== previous.number + 1) {
      const later = listed.slice(i).map((e) => e.name);
      corruption = { segment: segmentName(previous.number + 1), offset: 0, reason: 'gap', quarantined: [] };
      corruption.quarantined = await repair(later, null);
      break;
    }
    const bytes = await io.readFile(path.join(dir, entry.name));
    const decoded = decodeSegment(bytes);
    const segment: SegmentState = {
      name: entry.name,
      number: entry.number,
      size: decoded.validBytes,
      open: new Set(),
    };
    segments.push(segment);
    for (const record of decoded.records) {
      track(record, segment);
      records.push(record);
      highestEpoch = Math.max(highestEpoch, record.epoch);
    }
    if (decoded.defect !== null) {
      const later = listed.slice(i + 1).map((e) => e.name);
      corruption = {
        segment: entry.name,
        offset: decoded.validBytes,
        reason: decoded.defect,
        quarantined: [],
      };
      corruption.quarantined = await repair(later, {
        name: entry.name,
        bytes,
        validBytes: decoded.validBytes,
        defect: decoded.defect,
      });
      break;
    }
  }
  const recovered: WalRecovery = {
    records,
    open: records.filter((record) => record.type === 'intent' && openTx.get(record.tx) !== undefined),
    corruption,
  };

  let handle: FileHandle | null = null;
  let current!: SegmentState;

  async function createSegment(number: number): Promise<void> {
    const name = segmentName(number);
    handle = await io.open(path.join(dir, name), 'wx');
    current = { name, number, size: 0, open: new Set() };
    segments.push(current);
    await io.fsyncDir(dir);
  }
  // Новые записи — всегда в новый сегмент: дописывать за возможно оборванным хвостом нельзя.
  await createSegment((segments.at(-1)?.number ?? 0) + 1);

  const queue: Pending[] = [];
  let pumping = false;
  /** Записей, записанных после последнего fsync. */
  let unsynced = 0;
  let failed: WalError | null = null;
  let closed = false;
  let closing: Promise<void> | null = null;
  let flushTimer: NodeJS.Timeout | null = null;
  let checkpointTail: Promise<unknown> = Promise.resolve();

  function fail(error: unknown): void {
    // fsyncgate: после отказа fsync ядро могло выбросить грязные страницы и пометить их чистыми —
    // повторный fsync «успешен», а данных нет. Поэтому отказ окончателен до перезапуска и
    // воспроизведения; ни одна следующая запись не подтверждается.
    failed = new WalError(
      'WAL_FAILED',
      `WAL отказал (${errorCode(error) ?? String(error)}), запись остановлена до перезапуска`,
      {
        cause: error,
      },
    );
    if (flushTimer !== null) clearTimeout(flushTimer);
    flushTimer = null;
    for (const pending of queue.splice(0)) pending.reject(failed);
    const failure = failed;
    notify(() => options.onFailure?.(failure));
  }

  async function sync(target: FileHandle): Promise<void> {
    const started = performance.now();
    await io.fsync(target);
    const seconds = (performance.now() - started) / 1000;
    const records = unsynced;
    unsynced = 0;
    notify(() => options.onFsync?.(seconds, records));
  }

  async function rotate(): Promise<void> {
    // Старый сегмент надёжен до перехода: контрольная точка считает закрытия в нём окончательными.
    if (unsynced > 0) await sync(handle!);
    const old = handle!;
    handle = null;
    await io.close(old);
    await createSegment(current.number + 1);
  }

  async function runBatch(batch: Pending[]): Promise<void> {
    let rotated = false;
    try {
      const writes = batch.filter((pending) => pending.frame !== null);
      if (writes.length > 0) {
        const data = Buffer.concat(writes.map((pending) => pending.frame!));
        if (current.size > 0 && current.size + data.length > segmentMaxBytes) {
          await rotate();
          rotated = true;
        }
        for (const pending of writes) track(pending.record!, current);
        await writeFully(io, handle!, data, current.size);
        current.size += data.length;
        unsynced += writes.length;
        for (const pending of writes) if (!pending.durable) pending.resolve();
      }
      if (unsynced > 0 && batch.some((pending) => pending.durable)) await sync(handle!);
      for (const pending of batch) if (pending.durable) pending.resolve();
    } catch (error) {
      fail(error);
      // Уже выполненные (durable:false после write) промисы не меняются: reject для них пуст.
      for (const pending of batch) pending.reject(failed);
      return;
    }
    if (unsynced > 0) armFlushTimer();
    if (rotated) autoCheckpoint();
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) await runBatch(queue.splice(0));
    pumping = false;
  }

  function enqueue(frame: Buffer | null, record: WalRecord | null, durable: boolean): Promise<void> {
    // После отказа очередь пуста навсегда (fail её очистил): в отказавший журнал не пишется ни один
    // пакет. Сюда доходит контрольная точка, стоявшая в цепочке, когда журнал отказал.
    if (failed !== null) return Promise.reject(failed);
    return new Promise<void>((resolve, reject) => {
      queue.push({ frame, record, durable, resolve, reject });
      // Первая запись в простое пишется сразу; пока она в write+fsync, следующие копятся в очереди
      // и уходят одним пакетом — групповая фиксация без искусственной задержки.
      if (!pumping) {
        pumping = true;
        void drain();
      }
    });
  }

  function armFlushTimer(): void {
    if (flushTimer !== null || closed) return;
    flushTimer = setTimeout(() => {
      flushTimer = null;
      // Отказ fsync здесь уже сообщён через failed/onFailure.
      if (unsynced > 0) enqueue(null, null, true).catch(() => undefined);
    }, flushIntervalMs);
    flushTimer.unref();
  }

  function closedError(): WalError {
    return new WalError('WAL_CLOSED', 'WAL закрыт');
  }

  async function runCheckpoint(): Promise<{ deleted: string[] }> {
    // Удаляется только префикс: сегмент не удаляется, пока старший сегмент держит открытую
    // транзакцию, — иначе после сбоя в нумерации была бы дыра и порядок записей не восстановить.
    const deletable: SegmentState[] = [];
    for (const segment of segments) {
      if (segment === current || segment.open.size > 0) break;
      deletable.push(segment);
    }
    if (deletable.length === 0) return { deleted: [] };
    const deleted = deletable.map((segment) => segment.name);
    const at = now();
    const record: WalRecord = {
      type: 'checkpoint',
      tx: uuidv7(at.getTime()),
      epoch: highestEpoch,
      at: at.toISOString(),
      deleted,
    };
    // Запись checkpoint надёжна раньше удаления, и её fsync закрепляет все закрытия, посчитанные
    // выше: они записаны раньше неё в текущий сегмент или в старый, закреплённый при ротации.
    await enqueue(encodeFrame(record), record, true);
    for (const segment of deletable) {
      try {
        await io.unlink(path.join(dir, segment.name));
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') throw error;
      }
      segments.splice(segments.indexOf(segment), 1);
    }
    await io.fsyncDir(dir);
    return { deleted };
  }

  function checkpoint(): Promise<{ deleted: string[] }> {
    if (failed !== null) return Promise.reject(failed);
    if (closed) return Promise.reject(closedError());
    const result = checkpointTail.then(runCheckpoint);
    checkpointTail = result.catch(() => undefined);
    return result;
  }

  function autoCheckpoint(): void {
    if (closed || failed !== null) return;
    checkpoint().then(
      ({ deleted }) => notify(() => options.onCheckpoint?.({ deleted, error: null })),
      (error: unknown) => notify(() => options.onCheckpoint?.({ deleted: null, error })),
    );
  }

  async function close(): Promise<void> {
    closed = true;
    if (flushTimer !== null) clearTimeout(flushTimer);
    flushTimer = null;
    await checkpointTail;
    try {
      // Пустой durable-элемент встаёт за всеми записями очереди: после него всё записано и закреплено.
      if (failed === null) await enqueue(null, null, true);
    } finally {
      const last = handle;
      handle = null;
      if (last !== null) await io.close(last);
    }
  }

  const wal: WriteAheadLog = {
    // Синхронная часть (проверки, кадр, место в очереди) выполняется до первого await: порядок
    // записей на диске совпадает с порядком вызовов append.
    async append(input, appendOptions) {
      if (failed !== null) throw failed;
      if (closed) throw closedError();
      const record = { ...input, at: input.at ?? now().toISOString() } as WalRecord;
      const frame = encodeFrame(record);
      highestEpoch = Math.max(highestEpoch, record.epoch);
      await enqueue(frame, record, appendOptions?.durable ?? true);
      return record;
    },
    checkpoint,
    close() {
      closing ??= close();
      return closing;
    },
    get failed() {
      return failed;
    },
    get sizeBytes() {
      return segments.reduce((sum, segment) => sum + segment.size, 0);
    },
    openTransactions() {
      return [...openTx.values()].map((entry) => entry.intent);
    },
  };
  return { wal, recovered };
}
