// HTTP-клиент для вызовов между сервисами (SPEC IN-7, X-7): пул keep-alive соединений undici,
// таймауты на каждом этапе, автомат защиты на каждый целевой сервис, ошибки — из единого каталога.
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { ArtError, errorCatalog, type ErrorCode } from '../errors.js';
import { createCircuitBreaker, type CircuitBreakerOptions, type CircuitState } from './circuit-breaker.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ServiceClientOptions {
  /** Адрес сервиса, может содержать префикс пути: `http://se-1:8010/api`. */
  baseUrl: string;
  /** Имя целевого сервиса для ошибок и метрик (например, `se-1`). */
  name: string;
  /** Установка TCP/TLS-соединения, мс. По умолчанию 5 000. */
  connectTimeoutMs?: number;
  /** Ожидание заголовков ответа, мс; пока тело запроса отправляется, отсчёт обновляется. По умолчанию 30 000. */
  headersTimeoutMs?: number;
  /** Наибольшая пауза между кусками тела ответа, мс. По умолчанию 60 000. */
  bodyTimeoutMs?: number;
  /** Наибольшее число соединений к сервису. По умолчанию 32. */
  maxConnections?: number;
  /** Настройки автомата защиты (по умолчанию 5 отказов подряд, 10 с разомкнут). */
  breaker?: Omit<CircuitBreakerOptions, 'target'>;
  /** Токен сервисной учётной записи; добавляется как `Authorization: Bearer`, если вызывающий не задал свой. */
  getToken?: () => Promise<string | undefined>;
  /** Заголовок, в котором передаётся requestId запроса. По умолчанию `x-request-id`. */
  requestIdHeader?: string;
}

export interface ServiceRequestOptions {
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  /**
   * Поток передаётся undici как есть — с backpressure; объект (не Buffer и не поток) уходит как JSON.
   * При CIRCUIT_OPEN поток не тронут: вызывающий может отдать его другому элементу хранения (SPEC IN-7).
   */
  body?: string | Uint8Array | Readable | object;
  signal?: AbortSignal;
  /** Общий срок вызова, мс, включая чтение тела ответа (для stream() — и проксирование тоже). */
  timeoutMs?: number;
  /**
   * Повторить один раз при ошибке соединения. Только для GET/HEAD без тела-потока: SPEC IN-7
   * разрешает повтор, лишь когда это безопасно.
   */
  idempotent?: boolean;
  /** Идентификатор входящего запроса для сквозной корреляции логов (SPEC X-4). */
  requestId?: string;
}

export interface ServiceResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface ServiceClient {
  readonly name: string;
  readonly circuitState: CircuitState;
  /** Сырой ответ с любым статусом; тело обязан дочитать или уничтожить вызывающий. */
  request(method: HttpMethod, path: string, options?: ServiceRequestOptions): Promise<ServiceResponse>;
  /** JSON успешного ответа; статус ≥ 300 превращается в ArtError (код upstream сохраняется, если он из каталога). */
  json<T>(method: HttpMethod, path: string, options?: ServiceRequestOptions): Promise<T>;
  /** Ответ для проксирования без буферизации; статус ≥ 400 превращается в ArtError, как в json(). */
  stream(method: HttpMethod, path: string, options?: ServiceRequestOptions): Promise<ServiceResponse>;
  close(): Promise<void>;
}

type UndiciBody = Dispatcher.ResponseData['body'];
interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: UndiciBody;
  /** Сигнал общего срока вызова: он продолжает действовать, пока читается тело. */
  timeout: AbortSignal | undefined;
}

/** Больше этого из тела ответа с ошибкой не читаем: problem+json мал, остальное — мусор. */
const ERROR_BODY_LIMIT = 64 * 1024;

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const CONNECTION_CODES = new Set([
  'UND_ERR_SOCKET',
  // Клиент уже закрыт: SE исчез из документа обнаружения, пока запрос шёл к нему (ingester). Ни один
  // байт не ушёл — вызывающий может отдать запрос другому SE (SPEC IN-7), а не отвечать 500.
  'UND_ERR_DESTROYED',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
/** Поля problem+json, которые не переносятся в extra: их заново заполняет problemFrom(). */
const PROBLEM_BASE_FIELDS = new Set(['type', 'title', 'status', 'code', 'detail', 'instance', 'request_id']);
/** Заголовки ответа-ошибки, нужные клиенту при проксировании (416 → Content-Range, 503 → Retry-After). */
const FORWARDED_ERROR_HEADERS = ['content-range', 'retry-after'];

function systemCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if ('code' in error && typeof error.code === 'string') return error.code;
  // net с autoSelectFamily (localhost → ::1 и 127.0.0.1) отдаёт AggregateError без собственного code.
  if (error instanceof AggregateError) return systemCode(error.errors[0]);
  return undefined;
}

/**
 * 5xx — отказ сервиса, кроме ответов, которые здоровый сервис даёт по существу: 501 (не умеет) и
 * 507 (SPEC SE-8: элемент хранения полон — размыкать автомат и отрезать чтение с него незачем).
 */
function isFailureStatus(status: number): boolean {
  return status >= 500 && status !== 501 && status !== 507;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCatalogCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(errorCatalog, code);
}

function positive(name: string, label: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isFinite(result) || result <= 0) {
    throw new ArtError('CONFIG_INVALID', `service client ${name}: ${label} должен быть положительным числом`);
  }
  return result;
}

export function createServiceClient(options: ServiceClientOptions): ServiceClient {
  const { name } = options;
  if (typeof name !== 'string' || name === '')
    throw new ArtError('CONFIG_INVALID', 'service client: name обязателен');
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch (cause) {
    throw new ArtError('CONFIG_INVALID', `service client ${name}: некорректный baseUrl`, { cause });
  }
  if ((base.protocol !== 'http:' && base.protocol !== 'https:') || base.search !== '' || base.hash !== '') {
    throw new ArtError('CONFIG_INVALID', `service client ${name}: baseUrl — http(s) без query и fragment`);
  }
  const basePath = base.pathname.replace(/\/+$/, '');
  const requestIdHeader = (options.requestIdHeader ?? 'x-request-id').toLowerCase();
  const breaker = createCircuitBreaker({ ...options.breaker, target: name });
  const pool = new Pool(base.origin, {
    connections: positive(name, 'maxConnections', options.maxConnections, 32),
    connect: { timeout: positive(name, 'connectTimeoutMs', options.connectTimeoutMs, 5_000) },
    headersTimeout: positive(name, 'headersTimeoutMs', options.headersTimeoutMs, 30_000),
    bodyTimeout: positive(name, 'bodyTimeoutMs', options.bodyTimeoutMs, 60_000),
  });

  function buildPath(path: string, query: ServiceRequestOptions['query']): string {
    if (!path.startsWith('/'))
      throw new TypeError(`service client ${name}: путь должен начинаться с '/': ${path}`);
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) search.append(key, String(value));
    }
    const qs = search.toString();
    return `${basePath}${path}${qs === '' ? '' : `?${qs}`}`;
  }

  async function buildHeaders(requestOptions: ServiceRequestOptions): Promise<Record<string, string>> {
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(requestOptions.headers ?? {}))
      headers[key.toLowerCase()] = value;
    if (requestOptions.requestId !== undefined) headers[requestIdHeader] ??= requestOptions.requestId;
    if (headers.authorization === undefined && options.getToken) {
      const token = await options.getToken();
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
    }
    return headers;
  }

  function encodeBody(
    body: ServiceRequestOptions['body'],
    headers: Record<string, string>,
  ): string | Uint8Array | Readable | undefined {
    if (
      body === undefined ||
      typeof body === 'string' ||
      body instanceof Uint8Array ||
      body instanceof Readable
    ) {
      return body;
    }
    headers['content-type'] ??= 'application/json';
    return JSON.stringify(body);
  }

  /** Одна попытка под разрешением автомата защиты. Сетевые сбои → ArtError, статусы → как есть. */
  async function attempt(
    method: HttpMethod,
    path: string,
    headers: Record<string, string>,
    body: string | Uint8Array | Readable | undefined,
    requestOptions: ServiceRequestOptions,
  ): Promise<RawResponse> {
    const permit = breaker.acquire();
    const timeout =
      requestOptions.timeoutMs === undefined ? undefined : AbortSignal.timeout(requestOptions.timeoutMs);
    const signals = [requestOptions.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
    try {
      const response = await pool.request({
        method,
        path,
        headers,
        body: body ?? null,
        signal: signals.length === 0 ? undefined : AbortSignal.any(signals),
      });
      if (isFailureStatus(response.statusCode)) permit.failure();
      else permit.success();
      return { status: response.statusCode, headers: response.headers, body: response.body, timeout };
    } catch (error) {
      // Отмена вызывающим — не вина сервиса: автомат не двигаем, отдаём причину отмены как есть.
      if (requestOptions.signal?.aborted) {
        permit.release();
        throw error;
      }
      const translated = translateNetworkError(error, timeout);
      if (translated === undefined) permit.release();
      else permit.failure();
      throw translated ?? error;
    }
  }

  function translateNetworkError(error: unknown, timeout: AbortSignal | undefined): ArtError | undefined {
    const code = systemCode(error);
    if (timeout?.aborted || (code !== undefined && TIMEOUT_CODES.has(code))) {
      return new ArtError('UPSTREAM_TIMEOUT', `${name}: сервис не ответил вовремя`, { cause: error });
    }
    if (code !== undefined && CONNECTION_CODES.has(code)) {
      return new ArtError('UPSTREAM_UNAVAILABLE', `${name}: нет соединения (${code})`, { cause: error });
    }
    return undefined;
  }

  async function send(
    method: HttpMethod,
    path: string,
    requestOptions: ServiceRequestOptions = {},
  ): Promise<RawResponse> {
    const retryable = requestOptions.idempotent === true;
    if (retryable && ((method !== 'GET' && method !== 'HEAD') || requestOptions.body instanceof Readable)) {
      throw new TypeError(`service client ${name}: idempotent допустим только для GET/HEAD без тела-потока`);
    }
    const fullPath = buildPath(path, requestOptions.query);
    const headers = await buildHeaders(requestOptions);
    const body = encodeBody(requestOptions.body, headers);
    try {
      return await attempt(method, fullPath, headers, body, requestOptions);
    } catch (error) {
      // Ошибка соединения у GET/HEAD: сервер запрос не выполнил или выполнение ничего не меняет.
      if (!retryable || !(error instanceof ArtError) || error.code !== 'UPSTREAM_UNAVAILABLE') throw error;
      return attempt(method, fullPath, headers, body, requestOptions);
    }
  }

  /** Ответ с ошибкой → ArtError. Известный код upstream сохраняется, чтобы клиент увидел исходную причину. */
  async function upstreamError(response: RawResponse): Promise<ArtError> {
    let problem: unknown;
    try {
      problem = JSON.parse((await readLimited(response.body, ERROR_BODY_LIMIT)).toString('utf8'));
    } catch {
      problem = undefined;
    }
    if (isRecord(problem) && isCatalogCode(problem.code)) {
      const extra = Object.fromEntries(
        Object.entries(problem).filter(([key]) => !PROBLEM_BASE_FIELDS.has(key)),
      );
      const forwarded = FORWARDED_ERROR_HEADERS.flatMap((header) => {
        const value = response.headers[header];
        return typeof value === 'string' ? [[header, value] as const] : [];
      });
      return new ArtError(problem.code, typeof problem.detail === 'string' ? problem.detail : undefined, {
        extra: Object.keys(extra).length === 0 ? undefined : extra,
        headers: forwarded.length === 0 ? undefined : Object.fromEntries(forwarded),
      });
    }
    return new ArtError('UPSTREAM_UNAVAILABLE', `${name}: неожиданный ответ ${response.status}`, {
      extra: { upstream_status: response.status },
    });
  }

  function bodyReadError(error: unknown, timeout: AbortSignal | undefined): unknown {
    if (error instanceof SyntaxError) {
      return new ArtError('UPSTREAM_UNAVAILABLE', `${name}: ответ — некорректный JSON`, { cause: error });
    }
    return translateNetworkError(error, timeout) ?? error;
  }

  return {
    name,
    get circuitState() {
      return breaker.state;
    },

    async request(method, path, requestOptions) {
      const { status, headers, body } = await send(method, path, requestOptions);
      return { status, headers, body };
    },

    async json<T>(method: HttpMethod, path: string, requestOptions: ServiceRequestOptions = {}): Promise<T> {
      const response = await send(method, path, {
        ...requestOptions,
        headers: { accept: 'application/json', ...requestOptions.headers },
      });
      if (response.status >= 300) throw await upstreamError(response);
      try {
        if (response.status === 204 || method === 'HEAD') {
          await response.body.dump();
          return undefined as T;
        }
        return (await response.body.json()) as T;
      } catch (error) {
        throw bodyReadError(error, response.timeout);
      }
    },

    async stream(method, path, requestOptions) {
      const response = await send(method, path, requestOptions);
      if (response.status >= 400) throw await upstreamError(response);
      return { status: response.status, headers: response.headers, body: response.body };
    },

    close: () => pool.close(),
  };
}

async function readLimited(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    // break закрывает итератор, а с ним и поток: остаток тела не читаем.
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit);
}
