// Всё, что сервис получает при сборке: конфигурация, журнал и порты. Какие реализации портов
// подставлены (PostgreSQL или PGlite, Redis или in-process), решает только точка входа (CLI).
import type { Config } from './config.js';
import { serviceUrl } from './config.js';
import { createJwtVerifier, type JwtVerifier } from './auth/jwt-verifier.js';
import type { Logger } from './logger.js';
import type { Coordination } from './ports/coordination.js';
import type { Database } from './ports/database.js';
import type { JobQueue } from './ports/job-queue.js';

export interface Backends {
  db: Database;
  coordination: Coordination;
  jobs: JobQueue;
}

export interface ServiceRuntime extends Backends {
  config: Config;
  logger: Logger;
}

export function jwksUrlOf(config: Config): string {
  return config.auth.jwt.jwks_url ?? `${serviceUrl(config, 'admin')}/.well-known/jwks.json`;
}

export function verifierFromConfig(config: Config): JwtVerifier {
  return createJwtVerifier({
    jwksUrl: jwksUrlOf(config),
    issuer: config.auth.jwt.issuer,
    audience: config.auth.jwt.audience,
    cooldownMs: config.auth.jwt.jwks_cooldown_ms,
    refreshMs: config.auth.jwt.jwks_refresh_ms,
    clockToleranceSeconds: config.auth.jwt.clock_tolerance_seconds,
  });
}

/**
 * Общие параметры createServer из конфигурации. coordination — общее хранилище счёта ограничения частоты
 * (SPEC AD-11); без неё (шлюз: токены он не проверяет, сервисы за ним видят адрес клиента через
 * X-Forwarded-For) запросы не ограничиваются.
 */
export function serverOptionsFrom(config: Config, coordination?: Coordination) {
  const limits = config.http.rate_limit;
  return {
    rateLimit:
      coordination && limits.enabled
        ? {
            store: coordination,
            windowMs: limits.window,
            maxAnonymous: limits.max_anonymous,
            maxAuthenticated: limits.max_authenticated,
            maxAuthEndpoints: limits.max_auth_endpoints,
            blockAfter: limits.block_after,
            blockForMs: limits.block_for,
          }
        : undefined,
    corsOrigins: config.http.cors.allowed_origins,
    jsonBodyLimit: config.http.json_body_limit,
    maxHeaderSize: config.http.max_header_size,
    requestTimeoutMs: config.http.request_timeout_ms,
    shutdownGraceMs: config.http.shutdown_grace_ms,
    trustedProxies: config.http.trusted_proxies,
    publicMetrics: config.http.public_metrics,
  };
}
