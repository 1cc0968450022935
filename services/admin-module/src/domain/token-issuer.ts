// Выпуск access-токенов RS256 (SPEC AD-3, AD-4): kid, iss, aud, typ=at+jwt, jti. Ключ подписи и
// JWKS — из связки ключей (signing-keyring.ts), которую меняет ротация (key-rotation.ts).
import { randomUUID } from 'node:crypto';
import { ACCESS_TOKEN_TYPE } from '@artstore/core';
import { SignJWT, type JWK } from 'jose';
import type { SigningKeyring } from './signing-keyring.js';

export interface TokenSubject {
  subject: string;
  name: string;
  kind: 'user' | 'service';
  roles: string[];
  /** Гранты с областью «роль@se:<id>» (SPEC AD-5) — в токене claim grants, только непустой. */
  grants?: string[];
  mustChangePassword: boolean;
  /** Роль требует MFA, а она не подключена (SPEC AD-6) — claim mfa_enrol. */
  mustEnrolMfa?: boolean;
}

export interface TokenIssuer {
  /** ttlSeconds — короче обычного срока (токен интеграции, чей допуск истекает раньше). */
  issue(subject: TokenSubject, options?: { ttlSeconds?: number }): Promise<{ token: string; expiresIn: number }>;
  jwks(): { keys: JWK[] };
}

export function createTokenIssuer(options: {
  keyring: SigningKeyring;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  now: () => Date;
}): TokenIssuer {
  return {
    async issue(subject, issueOptions) {
      const signing = await options.keyring.current();
      const ttl = Math.min(options.accessTtlSeconds, issueOptions?.ttlSeconds ?? options.accessTtlSeconds);
      const iat = Math.floor(options.now().getTime() / 1000);
      const token = await new SignJWT({
        name: subject.name,
        kind: subject.kind,
        roles: subject.roles,
        ...(subject.grants?.length ? { grants: subject.grants } : {}),
        ...(subject.mustChangePassword ? { pwd_change: true } : {}),
        ...(subject.mustEnrolMfa ? { mfa_enrol: true } : {}),
      })
        .setProtectedHeader({ alg: 'RS256', kid: signing.kid, typ: ACCESS_TOKEN_TYPE })
        .setSubject(subject.subject)
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(iat + ttl)
        .setJti(randomUUID())
        .sign(signing.privateKey);
      return { token, expiresIn: ttl };
    },
    jwks: () => options.keyring.jwks(),
  };
}
