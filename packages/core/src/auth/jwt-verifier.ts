// Проверка access-токенов RS256 по удалённому JWKS (SPEC AD-4). Ключи кешируются; неизвестный kid
// вызывает перезапрос JWKS не чаще раза за cooldown; при недоступности admin-module проверка
// продолжается по уже известным ключам. Заголовки jku/x5u/jwk никогда не используются для поиска ключа.
import {
  decodeProtectedHeader,
  errors as joseErrors,
  importJWK,
  jwtVerify,
  type CryptoKey,
  type JWK,
} from 'jose';
import { ArtError } from '../errors.js';
import { parseGrantsClaim } from './grants.js';
import { createPrincipal, type Principal } from './principal.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
const KID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** Предел кеша проверенных токенов: старейшие вытесняются первыми. */
const VERIFIED_CACHE_MAX = 10_000;

interface VerifiedToken {
  principal: Principal;
  kid: string;
  /** exp + допуск часов, мс: позже токен проверяется заново (и отвергается как истёкший). */
  validUntilMs: number;
}

export interface JwtVerifierOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  cooldownMs: number;
  /**
   * Плановое обновление набора ключей (фоном, при первой проверке после срока): ключ, выведенный
   * из JWKS при ротации, перестаёт приниматься. Без него — только перезапрос при неизвестном kid.
   */
  refreshMs?: number;
  clockToleranceSeconds: number;
  fetchTimeoutMs?: number;
  /** Для тестов: подменяемые часы (мс). */
  now?: () => number;
  onRefetch?: (outcome: 'ok' | 'failed') => void;
}

export interface JwtVerifier {
  verify(token: string): Promise<Principal>;
}

/** Поля access-токена ArtStore. */
interface AccessClaims {
  sub?: string;
  jti?: string;
  name?: string;
  kind?: string;
  roles?: unknown;
  /** Гранты с областью: `["uploader@se:se-a"]` (SPEC AD-5); кривой — токен недействителен. */
  grants?: unknown;
  pwd_change?: boolean;
  /** Нужно подключить MFA (SPEC AD-6). */
  mfa_enrol?: boolean;
}

export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const now = options.now ?? Date.now;
  const keys = new Map<string, CryptoKey>();
  let lastFetchAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;
  // Проверенные токены: клиент шлёт один и тот же токен с каждым запросом, а проверка подписи RS256
  // стоит заметного CPU (мелкие загрузки). Запись живёт до exp токена и пока его ключ есть в JWKS.
  const verified = new Map<string, VerifiedToken>();

  function cachedPrincipal(token: string): Principal | undefined {
    const hit = verified.get(token);
    if (hit === undefined) return undefined;
    if (keys.has(hit.kid) && now() <= hit.validUntilMs) return hit.principal;
    verified.delete(token);
    return undefined;
  }

  function remember(token: string, entry: VerifiedToken): void {
    if (verified.size >= VERIFIED_CACHE_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, entry);
  }

  async function fetchKeys(): Promise<void> {
    lastFetchAt = now();
    try {
      const response = await fetch(options.jwksUrl, {
        signal: AbortSignal.timeout(options.fetchTimeoutMs ?? 3000),
      });
      if (!response.ok) throw new Error(`JWKS: HTTP ${response.status}`);
      const body = (await response.json()) as { keys?: unknown };
      // «keys» обязателен (RFC 7517 §5): ответ без него (прокси, заглушка) — сбой, а не пустой набор,
      // иначе он стёр бы все ключи и остановил проверку токенов.
      if (!Array.isArray(body.keys)) throw new Error('JWKS: нет массива keys');
      const fresh = new Map<string, CryptoKey>();
      for (const jwk of body.keys as JWK[]) {
        if (
          jwk.kty !== 'RSA' ||
          typeof jwk.kid !== 'string' ||
          (jwk.alg !== undefined && jwk.alg !== 'RS256')
        )
          continue;
        fresh.set(jwk.kid, (await importJWK(jwk, 'RS256')) as CryptoKey);
      }
      keys.clear();
      for (const [kid, key] of fresh) keys.set(kid, key);
      // Токены ключа, убранного из JWKS, больше не действительны — и в кеше тоже.
      for (const [token, entry] of verified) if (!fresh.has(entry.kid)) verified.delete(token);
      options.onRefetch?.('ok');
    } catch {
      // Оставляем прежние ключи: проверка токенов переживает недоступность admin-module.
      options.onRefetch?.('failed');
    }
  }

  /** Перезапрос, если ни один не идёт; ждать его или нет, решает вызывающий. */
  function refetch(): Promise<void> {
    inFlight ??= fetchKeys().finally(() => (inFlight = undefined));
    return inFlight;
  }

  /** Плановое обновление — фоном: запрос проверяется по текущим ключам и не ждёт admin-module. */
  function refreshIfDue(): void {
    if (
      options.refreshMs !== undefined &&
      keys.size > 0 &&
      inFlight === undefined &&
      now() - lastFetchAt >= options.refreshMs
    ) {
      void refetch();
    }
  }

  async function keyFor(kid: string): Promise<CryptoKey | undefined> {
    if (!keys.has(kid)) {
      if (inFlight === undefined && now() - lastFetchAt >= options.cooldownMs) void refetch();
      // Уже идущий запрос ждут все, даже если cooldown не истёк: иначе при старте сервиса все
      // одновременные запросы, кроме первого, получили бы 401 (lastFetchAt уже выставлен, ключей ещё нет).
      if (inFlight !== undefined) await inFlight;
    }
    return keys.get(kid);
  }

  return {
    async verify(token: string): Promise<Principal> {
      refreshIfDue();
      const cached = cachedPrincipal(token);
      if (cached !== undefined) return cached;
      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(token);
      } catch {
        throw new ArtError('AUTH_TOKEN_INVALID', 'Токен не является JWT');
      }
      if (header.alg !== 'RS256') throw new ArtError('AUTH_TOKEN_INVALID', 'Допустим только алгоритм RS256');
      if (header.typ !== ACCESS_TOKEN_TYPE) throw new ArtError('AUTH_TOKEN_INVALID', 'Это не access-токен');
      if (typeof header.kid !== 'string' || !KID_PATTERN.test(header.kid)) {
        throw new ArtError('AUTH_TOKEN_INVALID', 'Некорректный идентификатор ключа');
      }
      const key = await keyFor(header.kid);
      if (!key) throw new ArtError('AUTH_TOKEN_INVALID', 'Ключ подписи неизвестен');
      let claims: AccessClaims & { exp?: number };
      try {
        const result = await jwtVerify<AccessClaims>(token, key, {
          algorithms: ['RS256'],
          issuer: options.issuer,
          audience: options.audience,
          typ: ACCESS_TOKEN_TYPE,
          clockTolerance: options.clockToleranceSeconds,
          // Те же часы, что и для cooldown: подменённое время действует и на exp/nbf.
          currentDate: new Date(now()),
          requiredClaims: ['sub', 'exp', 'iat', 'jti'],
        });
        claims = result.payload;
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) throw new ArtError('AUTH_TOKEN_EXPIRED');
        throw new ArtError('AUTH_TOKEN_INVALID', 'Подпись или поля токена не прошли проверку');
      }
      const roles = Array.isArray(claims.roles)
        ? claims.roles.filter((r): r is string => typeof r === 'string')
        : [];
      const principal = createPrincipal({
        subject: claims.sub!,
        username: claims.name ?? claims.sub!,
        kind: claims.kind === 'service' ? 'service' : 'user',
        roles,
        grants: parseGrantsClaim(claims.grants),
        mustChangePassword: claims.pwd_change === true,
        mustEnrolMfa: claims.mfa_enrol === true,
        tokenId: claims.jti!,
        token,
      });
      remember(token, {
        principal,
        kid: header.kid,
        validUntilMs: (claims.exp! + options.clockToleranceSeconds) * 1000,
      });
      return principal;
    },
  };
}
