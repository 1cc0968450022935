import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isArtError, type ArtError } from '../errors.js';
import { createCircuitBreaker, type CircuitState } from './circuit-breaker.js';

function setup(failureThreshold = 3, resetTimeoutMs = 1000) {
  let time = 0;
  const changes: string[] = [];
  const breaker = createCircuitBreaker({
    target: 'se-1',
    failureThreshold,
    resetTimeoutMs,
    now: () => time,
    onStateChange: (state: CircuitState, previous: CircuitState) => changes.push(`${previous}→${state}`),
  });
  return {
    breaker,
    changes,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

const circuitOpen = (error: unknown): error is ArtError =>
  isArtError(error, 'CIRCUIT_OPEN') && error.message.includes('se-1');

void describe('circuit breaker', () => {
  void it('размыкается после N отказов подряд; успех обнуляет счёт', () => {
    const { breaker, changes } = setup(3);
    breaker.acquire().failure();
    breaker.acquire().failure();
    breaker.acquire().success();
    breaker.acquire().failure();
    breaker.acquire().failure();
    assert.equal(breaker.state, 'closed');
    breaker.acquire().failure();
    assert.equal(breaker.state, 'open');
    assert.deepEqual(changes, ['closed→open']);
  });

  void it('разомкнутый отклоняет сразу, с Retry-After', () => {
    const { breaker, advance } = setup(1, 5000);
    breaker.acquire().failure();
    advance(1200);
    assert.throws(
      () => breaker.acquire(),
      (error) =>
        circuitOpen(error) && error.headers?.['retry-after'] === '4' && error.extra?.retry_after_ms === 3800,
    );
  });

  void it('полуоткрытый пропускает ровно один пробный вызов; успех замыкает', () => {
    const { breaker, advance, changes } = setup(1, 1000);
    breaker.acquire().failure();
    advance(999);
    assert.equal(breaker.state, 'open');
    advance(1);
    const trial = breaker.acquire();
    assert.equal(breaker.state, 'half-open');
    assert.throws(() => breaker.acquire(), circuitOpen);
    trial.success();
    assert.equal(breaker.state, 'closed');
    breaker.acquire().success();
    assert.deepEqual(changes, ['closed→open', 'open→half-open', 'half-open→closed']);
  });

  void it('отказ пробного вызова размыкает снова и заново отсчитывает паузу', () => {
    const { breaker, advance, changes } = setup(2, 1000);
    breaker.acquire().failure();
    breaker.acquire().failure();
    advance(1000);
    breaker.acquire().failure();
    assert.equal(breaker.state, 'open');
    advance(500);
    assert.throws(() => breaker.acquire(), circuitOpen);
    advance(500);
    assert.equal(breaker.state, 'half-open');
    assert.deepEqual(changes, ['closed→open', 'open→half-open', 'half-open→open', 'open→half-open']);
  });

  void it('release пробного вызова освобождает слот, не меняя состояния', () => {
    const { breaker, advance } = setup(1, 10);
    breaker.acquire().failure();
    advance(10);
    breaker.acquire().release();
    assert.equal(breaker.state, 'half-open');
    const second = breaker.acquire();
    second.success();
    second.failure();
    assert.equal(breaker.state, 'closed', 'повторное сообщение исхода игнорируется');
  });

  void it('запоздавший исход вызова из прошлого состояния не двигает автомат', () => {
    const { breaker, advance } = setup(1, 10);
    const late = breaker.acquire();
    breaker.acquire().failure();
    advance(10);
    const trial = breaker.acquire();
    late.success();
    assert.equal(breaker.state, 'half-open');
    trial.failure();
    assert.equal(breaker.state, 'open');
  });

  void it('проверяет опции', () => {
    assert.throws(
      () => createCircuitBreaker({ target: 'x', failureThreshold: 0 }),
      (e) => isArtError(e, 'CONFIG_INVALID'),
    );
    assert.throws(
      () => createCircuitBreaker({ target: 'x', resetTimeoutMs: -1 }),
      (e) => isArtError(e, 'CONFIG_INVALID'),
    );
  });
});
