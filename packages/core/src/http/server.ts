// Фабрика HTTP-сервера: всё, что одинаково у каждого сервиса (SPEC, AD-11):
// problem+json, request id, /health/live, /health/ready, /metrics, /openapi.json, заголовки
// безопасности, CORS по списку, проверка bearer-токена на каждом маршруте, кроме публичных.
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { JwtVerifier } from '../auth/jwt-verifier.js';
import type { Principal } from '../auth/principal.js';
import { withTimeout } from '../concurrency/with-timeout.js';
import { ArtError, PROBLEM_CONTENT_TYPE, problemFrom } from '../errors.js';
import { createServiceMetrics, type ServiceMetrics } from './metrics.js';
import { toArtError } from './problem.js';
import { createRateLimiter, type RateLimitOptions } from './rate-limit.js';
import { RequestLogController } from './request-log.js';
import { validatorCompiler } from './validation.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Маршрут доступен без токена (health, metrics, JWKS, вход). */
    public?: boolean;
    /** Маршрут доступен, пока пароль не сменён (смена пароля, выход). */
    allowPendingPasswordChange?: boolean;
    /** Маршрут доступен, пока не подключена обязательная для роли MFA (её подключение, выход; SPEC AD-6). */
    allowPendingMfaEnrolment?: boolean;
  }
}

export type ReadinessCheck = () => Promise<unknown>;

export interface ServerOptions {
  service: string;
  version?: string;
  description?: string;
  logger: Logger;
  /** Проверка токенов; без неё маршруты, кроме публичных, недоступны. */
  verifier?: JwtVerifier;
  readiness?: Record<string, ReadinessCheck>;
  /** Сколько ждать каждую проверку готовности; зависшая проверка — «fail», а не зависший /health/ready. */
  readinessTimeoutMs?: number;
  /** Реестр метрик, созданный сервисом заранее (метрики нужны ещё до сборки сервера, например при восстановлении). */
  metrics?: ServiceMetrics;
  corsOrigins?: readonly string[];
  jsonBodyLimit?: number;
  maxHeaderSize?: number;
  requestTimeoutMs?: number;
  /**
   * Остановка ждёт незавершённые запросы не дольше этого, потом закрывает их соединения: соединение,
   * застрявшее посреди запроса (клиент прислал часть и замолчал), иначе держало бы остановку вечно.
   */
  shutdownGraceMs?: number;
  /** Адреса/CIDR прокси, чьему X-Forwarded-For верим (request.ip — адрес клиента за ними). */
  trustedProxies?: readonly string[];
  publicMetrics?: boolean;
  /** Ограничение частоты запросов (SPEC AD-11); без него запросы не ограничиваются. */
  rateLimit?: RateLimitOptions;
}

export interface ServiceServer {
  app: FastifyInstance;
  metrics: ServiceMetrics;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;
const READINESS_TIMEOUT_MS = 3000;

export async function createServer(options: ServerOptions): Promise<ServiceServer> {
  const metrics = options.metrics ?? createServiceMetrics(options.service);
  const loggerInstance: FastifyBaseLogger = options.logger;
  const app = Fastify({
    loggerInstance,
    requestIdHeader: false,
    logController: new RequestLogController(),
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    // trace_id в каждой строке журнала запроса (SPEC X-4); полноценный OpenTelemetry — X-5.
    childLoggerFactory: (logger, bindings, childOptions, rawReq) => {
      const traceparent = rawReq.headers.traceparent;
      const traceId = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
      return logger.child(traceId ? { ...bindings, trace_id: traceId } : bindings, childOptions);
    },
    bodyLimit: options.jsonBodyLimit ?? 1024 * 1024,
    routerOptions: { maxParamLength: 200 },
    requestTimeout: options.requestTimeoutMs ?? 0,
    trustProxy: options.trustedProxies === undefined ? false : [...options.trustedProxies],
    http: { maxHeaderSize: options.maxHeaderSize ?? 16 * 1024 },
    // Слишком большие заголовки и битые запросы отбрасывает сам Node до fastify: отвечаем тем же problem+json.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return;
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      const art = new ArtError(tooLarge ? 'HEADERS_TOO_LARGE' : 'VALIDATION_FAILED', tooLarge ? undefined : 'Некорректный HTTP-запрос');
      const body = JSON.stringify(problemFrom(art));
      socket.end(
        `HTTP/1.1 ${art.status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
          `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
    // Ошибки маршрутизатора (битое %-кодирование пути, параметр длиннее maxParamLength) fastify иначе
    // отдаёт своим JSON мимо обработчика ошибок и хуков: тоже problem+json с request id (SPEC X-8).
    frameworkErrors: (error, request, reply) => sendRouterProblem(error, request, reply),
  });

  // Раньше плагинов: маршрут, который регистрирует плагин (предварительные запросы CORS), получает
  // обработчик ошибок, действующий на момент своей регистрации.
  app.setErrorHandler(async (error, request, reply) => {
    const art = toArtError(error);
    if (art.status >= 500) request.log.error({ err: error, code: art.code }, 'request_failed');
    else request.log.info({ code: art.code, detail: art.message }, 'request_rejected');
    if (reply.sent || reply.raw.headersSent) {
      // Ответ уже начал уходить (обрыв при потоковой выдаче): корректного тела не будет, рвём соединение.
      reply.raw.destroy();
      return reply;
    }
    if (art.headers) void reply.headers(art.headers);
    return reply
      .code(art.status)
      .type(PROBLEM_CONTENT_TYPE)
      .send(problemFrom(art, { instance: request.url.split('?')[0], requestId: request.id }));
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: `ArtStore ${options.service}`, version: options.version ?? '0.1.0', description: options.description },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
  });

  const allowed = new Set(options.corsOrigins ?? []);
  await app.register(cors, {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    exposedHeaders: [
      'x-request-id',
      'content-disposition',
      'content-range',
      'etag',
      'location',
      'retry-after',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
      // tus 1.0 (SPEC IN-1): клиент в браузере читает их, чтобы продолжить загрузку.
      'tus-resumable',
      'tus-version',
      'tus-extension',
      'tus-max-size',
      'tus-checksum-algorithm',
      'upload-offset',
      'upload-length',
      'upload-expires',
      'artstore-file-id',
    ],
    maxAge: 600,
  });

  app.setValidatorCompiler(validatorCompiler);

  let forceClose: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    forceClose = setTimeout(() => app.server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
    forceClose.unref();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    clearTimeout(forceClose);
    done();
  });

  const limiter =
    options.rateLimit &&
    createRateLimiter({ ...options.rateLimit, service: options.service, logger: options.logger, registry: metrics.registry });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // Предварительный запрос CORS от чужого источника — явный отказ, а не пустой ответ (SPEC AD-11).
    if (isPreflight(request) && !allowed.has(request.headers.origin!)) throw new ArtError('CORS_ORIGIN_DENIED');
    if (!limiter) return authenticate(request, options.verifier);
    // Отказ в токене тоже расходует бюджет (адреса): иначе перебор токенов шёл бы мимо ограничения.
    const denied = await authenticate(request, options.verifier).then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
    await limiter.check(request, reply);
    if (denied) throw denied.error;
  });

  app.addHook('onSend', async (_request, reply) => {
    setSecurityHeaders(reply);
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setNotFoundHandler(async (request, reply) => {
    // Та же форма, что у прочих ошибок (SPEC X-8), включая instance.
    const instance = request.url.split('?')[0];
    const art = new ArtError('NOT_FOUND', `Маршрут ${request.method} ${instance} не существует`);
    return reply.code(404).type(PROBLEM_CONTENT_TYPE).send(problemFrom(art, { instance, requestId: request.id }));
  });

  registerOperationalRoutes(app, metrics, options);
  return { app, metrics };
}

function sendRouterProblem(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const art = toArtError(error);
  setSecurityHeaders(reply);
  void reply
    .header('x-request-id', request.id)
    .code(art.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problemFrom(art, { instance: request.url.split('?')[0], requestId: request.id }));
}

/** Заголовки безопасности для API-ответов (SPEC AD-11); HTML-страницы задают свою CSP. */
function setSecurityHeaders(reply: FastifyReply): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cross-origin-opener-policy', 'same-origin');
  if (!reply.hasHeader('content-security-policy')) {
    reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  }
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
}

function isPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && request.headers.origin !== undefined && request.headers['access-control-request-method'] !== undefined;
}

async function authenticate(request: FastifyRequest, verifier: JwtVerifier | undefined): Promise<void> {
  const config = request.routeOptions.config;
  // Несуществующий маршрут (url не определён) — пусть ответит 404, а не 401.
  if (request.routeOptions.url === undefined || config.public === true || request.method === 'OPTIONS') return;
  const header = request.headers.authorization;
  if (header === undefined || header === '') throw new ArtError('AUTH_TOKEN_MISSING');
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
  if (!match) throw new ArtError('AUTH_TOKEN_INVALID', 'Ожидается заголовок Authorization: Bearer <token>');
  if (!verifier) throw new ArtError('SERVICE_UNAVAILABLE', 'Проверка токенов не настроена');
  const principal = await verifier.verify(match[1]!);
  if (principal.mustChangePassword && config.allowPendingPasswordChange !== true) {
    throw new ArtError('PASSWORD_CHANGE_REQUIRED', 'Смените пароль: POST /api/users/me/password');
  }
  if (principal.mustEnrolMfa === true && config.allowPendingMfaEnrolment !== true) {
    throw new ArtError('MFA_ENROLMENT_REQUIRED', 'Подключите двухфакторную аутентификацию: POST /api/auth/mfa/enrol');
  }
  request.principal = principal;
}

function registerOperationalRoutes(app: FastifyInstance, metrics: ServiceMetrics, options: ServerOptions): void {
  const hidden = { hide: true };
  app.get('/health/live', { config: { public: true }, schema: hidden }, (_request, reply) =>
    reply.send({ status: 'ok', service: options.service }),
  );

  app.get('/health/ready', { config: { public: true }, schema: hidden }, async (_request, reply) => {
    const checks = options.readiness ?? {};
    const details: Record<string, { status: 'ok' | 'fail'; detail?: unknown; error?: string; ms: number }> = {};
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        const started = performance.now();
        try {
          const detail = await withTimeout(check(), options.readinessTimeoutMs ?? READINESS_TIMEOUT_MS, name);
          details[name] = { status: 'ok', ...(detail === undefined ? {} : { detail }), ms: Math.round(performance.now() - started) };
        } catch (error) {
          details[name] = { status: 'fail', error: (error as Error).message, ms: Math.round(performance.now() - started) };
        }
      }),
    );
    const ready = Object.values(details).every((d) => d.status === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', service: options.service, checks: details });
  });

  app.get('/metrics', { config: { public: options.publicMetrics ?? true }, schema: hidden }, async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/openapi.json', { config: { public: true }, schema: hidden }, (_request, reply) => reply.send(app.swagger()));
}

