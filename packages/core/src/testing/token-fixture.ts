// Издатель тестовых токенов: свой JWKS на loopback и выпуск access-токенов с любыми ролями —
// чтобы тестировать сервис без admin-module, но с настоящей проверкой RS256 по JWKS.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { ACCESS_TOKEN_TYPE } from '../auth/jwt-verifier.js';

export interface TestTokenIssuer {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Секция auth.jwt конфигурации сервиса, который проверяет токены этого издателя. */
  jwtConfig: { jwks_url: string; issuer: string; audience: string };
  /** Сколько раз запрашивали JWKS. */
  readonly jwksHits: number;
  mint(claims?: { sub?: string; name?: string; roles?: string[]; kind?: 'user' | 'service'; pwd_change?: boolean; ttlSeconds?: number; /** Claim grants как есть — и кривой, для проверки отказа. */ grants?: unknown }): Promise<string>;
  close(): Promise<void>;
}

export async function createTestTokenIssuer(options: { issuer?: string; audience?: string } = {}): Promise<TestTokenIssuer> {
  const issuer = options.issuer ?? 'artstore';
  const audience = options.audience ?? 'artstore';
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = randomUUID().replaceAll('-', '');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] });
  let hits = 0;
  const server = createServer((_request, response) => {
    hits++;
    response.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const jwksUrl = `http://127.0.0.1:${port}/.well-known/jwks.json`;
  return {
    jwksUrl,
    issuer,
    audience,
    jwtConfig: { jwks_url: jwksUrl, issuer, audience },
    get jwksHits() {
      return hits;
    },
    async mint(claims = {}) {
      return new SignJWT({
        name: claims.name ?? 'tester',
        kind: claims.kind ?? 'user',
        roles: claims.roles ?? ['admin'],
        ...(claims.pwd_change ? { pwd_change: true } : {}),
        ...(claims.grants === undefined ? {} : { grants: claims.grants }),
      })
        .setProtectedHeader({ alg: 'RS256', kid, typ: ACCESS_TOKEN_TYPE })
        .setSubject(claims.sub ?? randomUUID())
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(`${claims.ttlSeconds ?? 600}s`)
        .setJti(randomUUID())
        .sign(privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
