// Кадр записи WAL (SPEC SE-3): [u32 BE длина полезной нагрузки][u32 BE CRC-32 нагрузки][UTF-8 JSON].
// Запись действительна, только если кадр целиком на диске и CRC совпал: так и оборванный хвост, и
// перевёрнутый байт видны при старте, и воспроизведение останавливается на последней целой записи.
import { crc32 } from './crc32.js';

export const FRAME_HEADER_BYTES = 8;
/** Предел нагрузки: запись WAL — план транзакции, а не данные; предел ограничивает и чтение при старте. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

export const WAL_RECORD_TYPES = ['intent', 'commit', 'abort', 'checkpoint'] as const;
export type WalRecordType = (typeof WAL_RECORD_TYPES)[number];

/**
 * Запись WAL. Кроме type/tx/epoch/at поля непрозрачны для журнала: intent несёт запланированные
 * эффекты транзакции (их толкует восстановление SE). epoch — эпоха ограждения мастера (SPEC SE-12).
 */
export interface WalRecord {
  type: WalRecordType;
  tx: string;
  epoch: number;
  /** Время записи, ISO 8601. */
  at: string;
  [field: string]: unknown;
}

/** То, что передают в append: `at` журнал проставит сам, если его нет. */
export interface WalRecordInput {
  type: WalRecordType;
  tx: string;
  epoch: number;
  at?: string;
  [field: string]: unknown;
}

export type WalErrorCode = 'WAL_FAILED' | 'WAL_CLOSED' | 'WAL_RECORD_INVALID' | 'WAL_RECORD_TOO_LARGE';

/** Ошибка журнала: `code` стабилен, по нему SE решает, отказ ли это всего узла (WAL_FAILED). */
export class WalError extends Error {
  override readonly name = 'WalError';
  readonly code: WalErrorCode;

  constructor(code: WalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Почему запись не годится; null — годится. Одна проверка и для append, и для чтения с диска. */
export function recordProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'запись должна быть объектом';
  const record = value as Record<string, unknown>;
  if (!WAL_RECORD_TYPES.includes(record.type as WalRecordType))
    return `неизвестный type ${JSON.stringify(record.type)}`;
  if (typeof record.tx !== 'string' || record.tx === '') return 'tx должен быть непустой строкой';
  if (!Number.isSafeInteger(record.epoch) || (record.epoch as number) < 0) {
    return 'epoch должен быть неотрицательным целым';
  }
  if (typeof record.at !== 'string' || Number.isNaN(Date.parse(record.at)))
    return 'at должен быть датой ISO 8601';
  return null;
}

/** Кадр записи. Бросает WalError, если запись не сериализуется или длиннее предела. */
export function encodeFrame(record: WalRecord): Buffer {
  const problem = recordProblem(record);
  if (problem !== null) throw new WalError('WAL_RECORD_INVALID', `Запись WAL отклонена: ${problem}`);
  let json: string;
  try {
    json = JSON.stringify(record);
  } catch (error) {
    throw new WalError('WAL_RECORD_INVALID', 'Запись WAL не сериализуется в JSON', { cause: error });
  }
  const payloadBytes = Buffer.byteLength(json, 'utf8');
  if (payloadBytes > MAX_PAYLOAD_BYTES) {
    throw new WalError(
      'WAL_RECORD_TOO_LARGE',
      `Запись WAL ${payloadBytes} байт длиннее предела ${MAX_PAYLOAD_BYTES} байт`,
    );
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadBytes);
  frame.write(json, FRAME_HEADER_BYTES, 'utf8');
  const payload = frame.subarray(FRAME_HEADER_BYTES);
  frame.writeUInt32BE(payloadBytes, 0);
  frame.writeUInt32BE(crc32(payload), 4);
  return frame;
}

/**
 * torn — файл кончается внутри кадра (обычный след сбоя посреди записи); length — длина вне
 * допустимого; checksum — CRC не совпал; json — CRC верен, но нагрузка не запись WAL.
 */
export type FrameDefect = 'torn' | 'length' | 'checksum' | 'json';

export interface DecodedSegment {
  records: WalRecord[];
  /** Сколько байтов от начала занимают целые записи: до этого места сегмент можно усечь. */
  validBytes: number;
  defect: FrameDefect | null;
}

/** Разбирает сегмент до первой негодной записи; всё после неё не читается вовсе. */
export function decodeSegment(bytes: Uint8Array): DecodedSegment {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: WalRecord[] = [];
  let offset = 0;
  const stop = (defect: FrameDefect): DecodedSegment => ({ records, validBytes: offset, defect });
  while (offset < buffer.length) {
    if (buffer.length - offset < FRAME_HEADER_BYTES) return stop('torn');
    const length = buffer.readUInt32BE(offset);
    if (length === 0 || length > MAX_PAYLOAD_BYTES) return stop('length');
    const end = offset + FRAME_HEADER_BYTES + length;
    if (end > buffer.length) return stop('torn');
    const payload = buffer.subarray(offset + FRAME_HEADER_BYTES, end);
    if (crc32(payload) !== buffer.readUInt32BE(offset + 4)) return stop('checksum');
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      return stop('json');
    }
    if (recordProblem(value) !== null) return stop('json');
    records.push(value as WalRecord);
    offset = end;
  }
  return { records, validBytes: offset, defect: null };
}
