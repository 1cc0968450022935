// Когда отказ SE на попытке записи позволяет отдать файл следующему кандидату (SPEC IN-7: повтор —
// только где безопасно). Два случая:
// - связь с SE (нет соединения, таймаут) или STORAGE_WRITES_STOPPED (сбой fsync: запись не подтверждена,
//   но восстановление по WAL может её довести): файл мог остаться на SE, так что повтор — только если
//   ему не ушло ни байта (иначе файл оказался бы на двух SE);
// - SE ответил отказом, при котором файла на нём точно нет (нет места — SE-8, режим, нет мастера, запись
//   отвергнута по эпохе и откатана): повтор возможен, пока тело удержано целиком (replayable-body.ts) —
//   так исправляется устаревший документ обнаружения.
// CIRCUIT_OPEN приходит до обращения к SE — тело не тронуто.
import { ArtError, SE_MODES, type ErrorCode, type SeMode } from '@artstore/core';
import type { ReplayableBody } from './replayable-body.js';
import type { Refusal } from './se-selection.js';

const isMode = (value: unknown): value is SeMode => (SE_MODES as readonly unknown[]).includes(value);
const bytes = (value: unknown): number => (typeof value === 'number' ? value : 0);

export interface AttemptRefusal {
  refusal: Refusal;
  /** Когда файл можно отдать следующему SE: телу не ушло ни байта или всё ушедшее удержано. */
  safeWhen: 'nothing_sent' | 'body_retained';
}

/** Ошибки, которыми SE отказывает в записи, и когда после них файл можно отдать следующему SE. */
const SAFE_WHEN: Partial<Record<ErrorCode, AttemptRefusal['safeWhen']>> = {
  CIRCUIT_OPEN: 'nothing_sent',
  UPSTREAM_UNAVAILABLE: 'nothing_sent',
  UPSTREAM_TIMEOUT: 'nothing_sent',
  STORAGE_WRITES_STOPPED: 'nothing_sent',
  INSUFFICIENT_STORAGE: 'body_retained',
  MODE_FORBIDS_OPERATION: 'body_retained',
  SE_NO_MASTER: 'body_retained',
  SE_WRITE_FENCED: 'body_retained',
};

function refusalOf(error: ArtError, requiredBytes: number): Refusal {
  if (error.code === 'CIRCUIT_OPEN') return { reason: 'circuit' };
  if (error.code === 'INSUFFICIENT_STORAGE') {
    // ENOSPC посреди записи SE сообщает без цифр (docs/errors.md): свободного места тогда нет.
    const required = error.extra?.required_bytes;
    return {
      reason: 'room',
      available_bytes: bytes(error.extra?.available_bytes),
      required_bytes: typeof required === 'number' ? required : requiredBytes,
    };
  }
  const mode = error.extra?.mode;
  if (error.code === 'MODE_FORBIDS_OPERATION' && isMode(mode)) return { reason: 'mode', mode };
  return { reason: 'unavailable', code: error.code, detail: error.message };
}

/** Отказ SE на попытке записи; undefined — ошибка не отказ SE (запрос клиента, права), она уходит клиенту. */
export function attemptRefusal(error: unknown, requiredBytes: number): AttemptRefusal | undefined {
  if (!(error instanceof ArtError)) return undefined;
  const safeWhen = SAFE_WHEN[error.code];
  return safeWhen === undefined ? undefined : { refusal: refusalOf(error, requiredBytes), safeWhen };
}

/** Можно ли после этого отказа отдать файл следующему SE. */
export function canFallThrough(
  refused: AttemptRefusal,
  body: Pick<ReplayableBody, 'consumed' | 'replayable'>,
): boolean {
  return refused.safeWhen === 'nothing_sent' ? body.consumed === 0 : body.replayable;
}
