// Автомат защиты для вызовов зависимого сервиса (SPEC IN-7): после серии отказов подряд вызовы
// сразу отклоняются, не занимая соединения и время, пока сервис не получит шанс восстановиться.
import { ArtError } from '../errors.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Имя зависимого сервиса — попадает в текст ошибки CIRCUIT_OPEN. */
  target: string;
  /** Сколько отказов подряд размыкают автомат. По умолчанию 5. */
  failureThreshold?: number;
  /** Сколько автомат остаётся разомкнутым до пробного вызова, мс. По умолчанию 10 000. */
  resetTimeoutMs?: number;
  /** Вызывается при каждой смене состояния (метрика circuit-breaker state, SPEC X-3). */
  onStateChange?: (state: CircuitState, previous: CircuitState) => void;
  /** Часы; подменяются в тестах. */
  now?: () => number;
}

/**
 * Разрешение на один вызов. Исход сообщается ровно один раз; повторные сообщения игнорируются.
 * release() — вызов не состоялся по причине, не связанной с сервисом (например, отменён вызывающим):
 * ни успех, ни отказ, но слот пробного вызова освобождается.
 */
export interface CircuitPermit {
  success(): void;
  failure(): void;
  release(): void;
}

export interface CircuitBreaker {
  /** Текущее состояние; переход open → half-open совершается лениво, при чтении или acquire(). */
  readonly state: CircuitState;
  /** Разрешение на вызов либо ArtError CIRCUIT_OPEN без обращения к сервису. */
  acquire(): CircuitPermit;
}

export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const failureThreshold = options.failureThreshold ?? 5;
  const resetTimeoutMs = options.resetTimeoutMs ?? 10_000;
  if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
    throw new ArtError(
      'CONFIG_INVALID',
      `circuit breaker ${options.target}: failureThreshold должен быть целым ≥ 1`,
    );
  }
  if (!Number.isFinite(resetTimeoutMs) || resetTimeoutMs < 0) {
    throw new ArtError('CONFIG_INVALID', `circuit breaker ${options.target}: resetTimeoutMs должен быть ≥ 0`);
  }
  const now = options.now ?? Date.now;

  let state: CircuitState = 'closed';
  let consecutiveFailures = 0;
  let openedAt = 0;
  let trialInFlight = false;
  // Поколение меняется при каждой смене состояния: исход вызова, начатого в прошлом состоянии
  // (например, запоздавший ответ после размыкания), не должен двигать автомат.
  let generation = 0;

  function transition(next: CircuitState): void {
    const previous = state;
    state = next;
    generation++;
    consecutiveFailures = 0;
    trialInFlight = false;
    if (next === 'open') openedAt = now();
    options.onStateChange?.(next, previous);
  }

  function currentState(): CircuitState {
    if (state === 'open' && now() - openedAt >= resetTimeoutMs) transition('half-open');
    return state;
  }

  function acquire(): CircuitPermit {
    const current = currentState();
    if (current === 'open') {
      const retryAfterMs = Math.max(0, openedAt + resetTimeoutMs - now());
      throw new ArtError('CIRCUIT_OPEN', `${options.target}: автомат защиты разомкнут после серии отказов`, {
        extra: { target: options.target, retry_after_ms: retryAfterMs },
        headers: { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) },
      });
    }
    if (current === 'half-open') {
      // Пробный вызов ровно один: лавина запросов к едва поднявшемуся сервису снова его уронит.
      if (trialInFlight) {
        throw new ArtError('CIRCUIT_OPEN', `${options.target}: автомат защиты ждёт исхода пробного вызова`, {
          extra: { target: options.target },
        });
      }
      trialInFlight = true;
    }
    const permitGeneration = generation;
    const trial = current === 'half-open';
    let settled = false;

    function settle(outcome: 'success' | 'failure' | 'release'): void {
      if (settled) return;
      settled = true;
      if (permitGeneration !== generation) return;
      if (trial) {
        if (outcome === 'success') transition('closed');
        else if (outcome === 'failure') transition('open');
        else trialInFlight = false;
        return;
      }
      if (outcome === 'success') consecutiveFailures = 0;
      else if (outcome === 'failure' && ++consecutiveFailures >= failureThreshold) transition('open');
    }

    return {
      success: () => settle('success'),
      failure: () => settle('failure'),
      release: () => settle('release'),
    };
  }

  return {
    get state() {
      return currentState();
    },
    acquire,
  };
}
