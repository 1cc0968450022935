// Когда отказ SE отдаёт файл следующему SE (SPEC IN-7): только пока файл не мог на нём остаться.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArtError } from '@artstore/core';
import { attemptRefusal, canFallThrough } from './se-fallthrough.js';

const untouched = { consumed: 0, replayable: true };
const retained = { consumed: 4096, replayable: true };
const gone = { consumed: 10 * 2 ** 20, replayable: false };

describe('attemptRefusal и canFallThrough', () => {
  it('нет соединения: дальше — только если телу не ушло ни байта (иначе SE мог сохранить файл)', () => {
    const refused = attemptRefusal(
      new ArtError('UPSTREAM_UNAVAILABLE', 'se-a: нет соединения (ECONNREFUSED)'),
      100,
    )!;
    assert.deepEqual(refused.refusal, {
      reason: 'unavailable',
      code: 'UPSTREAM_UNAVAILABLE',
      detail: 'se-a: нет соединения (ECONNREFUSED)',
    });
    assert.equal(canFallThrough(refused, untouched), true);
    assert.equal(canFallThrough(refused, retained), false);
    for (const code of ['UPSTREAM_TIMEOUT', 'STORAGE_WRITES_STOPPED'] as const) {
      assert.equal(canFallThrough(attemptRefusal(new ArtError(code), 100)!, retained), false, code);
    }
  });

  it('507 от SE: причина room с цифрами SE; дальше — пока тело удержано целиком', () => {
    const error = new ArtError('INSUFFICIENT_STORAGE', 'нет места', {
      extra: { required_bytes: 5000, available_bytes: 10 },
    });
    const refused = attemptRefusal(error, 100)!;
    assert.deepEqual(refused.refusal, { reason: 'room', available_bytes: 10, required_bytes: 5000 });
    assert.equal(canFallThrough(refused, retained), true);
    assert.equal(canFallThrough(refused, gone), false);
    // ENOSPC посреди записи — 507 без цифр.
    assert.deepEqual(attemptRefusal(new ArtError('INSUFFICIENT_STORAGE'), 100)!.refusal, {
      reason: 'room',
      available_bytes: 0,
      required_bytes: 100,
    });
  });

  it('режим SE сменился после документа: причина mode; нет мастера или запись отвергнута по эпохе — unavailable', () => {
    const mode = attemptRefusal(
      new ArtError('MODE_FORBIDS_OPERATION', 'ro', { extra: { mode: 'ro', operation: 'create' } }),
      1,
    )!;
    assert.deepEqual(mode.refusal, { reason: 'mode', mode: 'ro' });
    assert.equal(canFallThrough(mode, retained), true);
    for (const code of ['SE_NO_MASTER', 'SE_WRITE_FENCED'] as const) {
      const refused = attemptRefusal(new ArtError(code), 1)!;
      assert.equal(refused.refusal.reason, 'unavailable');
      assert.equal(canFallThrough(refused, retained), true, code);
      assert.equal(canFallThrough(refused, gone), false, code);
    }
  });

  it('CIRCUIT_OPEN — до обращения к SE: дальше всегда', () => {
    const refused = attemptRefusal(new ArtError('CIRCUIT_OPEN'), 1)!;
    assert.deepEqual(refused.refusal, { reason: 'circuit' });
    assert.equal(canFallThrough(refused, untouched), true);
  });

  it('ошибки запроса и прав — не отказ SE: клиент получает их как есть', () => {
    for (const error of [
      new ArtError('FORBIDDEN'),
      new ArtError('UPLOAD_LENGTH_MISMATCH'),
      new ArtError('VALIDATION_FAILED'),
      new Error('сбой'),
    ]) {
      assert.equal(attemptRefusal(error, 1), undefined, error.message);
    }
  });
});
