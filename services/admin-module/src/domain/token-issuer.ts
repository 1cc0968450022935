// Выпуск access-токенов RS256 (SPEC AD-3, AD-4): kid, iss, aud, typ=at+jwt, jti.
// Ротация ключей по расписанию — задача admin-module AD-4; здесь — действующий ключ и JWKS.
import { randomUUID } from 'node:crypto';
import { ACCESS_TOKEN_TYPE } from '@artstore/core';
import {
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importPKCS8,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import type { MasterKey } from './master-key.js';
import type { SigningKeyStore } from '../store/signing-keys.js';

export interface TokenSubject {
  subject: string;
  name: string;
  kind: 'user' | 'service';
  roles: string[];
  mustChangePassword: boolean;
}

export interface TokenIssuer {
  issue(subject: TokenSubject): Promise<{ token: string; expiresIn: number }>;
  jwks(): Promise<{ keys: JWK[] }>;
}

export async function createTokenIssuer(options: {
  keys: SigningKeyStore;
  masterKey: MasterKey;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
}): Promise<TokenIssuer> {
  const signing = await ensureSigningKey(options.keys, options.masterKey);
  return {
    async issue(subject) {
      const token = await new SignJWT({
        name: subject.name,
        kind: subject.kind,
        roles: subject.roles,
        ...(subject.mustChangePassword ? { pwd_change: true } : {}),
      })
        .setProtectedHeader({ alg: 'RS256', kid: signing.kid, typ: ACCESS_TOKEN_TYPE })
        .setSubject(subject.subject)
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime(`${options.accessTtlSeconds}s`)
        .setJti(randomUUID())
        .sign(signing.privateKey);
      return { token, expiresIn: options.accessTtlSeconds };
    },
    async jwks() {
      const rows = await options.keys.active();
      return { keys: rows.map((row) => ({ ...row.public_jwk, kid: row.kid, alg: 'RS256', use: 'sig' })) };
    },
  };
}

/** Берёт новейший действующий ключ или создаёт первый. */
async function ensureSigningKey(
  store: SigningKeyStore,
  masterKey: MasterKey,
): Promise<{ kid: string; privateKey: CryptoKey }> {
  let [current] = await store.active();
  if (!current) {
    const { publicKey, privateKey } = await generateKeyPair('RS256', {
      modulusLength: 2048,
      extractable: true,
    });
    const kid = randomUUID().replaceAll('-', '');
    await store.insert({
      kid,
      algorithm: 'RS256',
      public_jwk: await exportJWK(publicKey),
      private_key_encrypted: masterKey.encrypt(await exportPKCS8(privateKey)),
      created_at: new Date(),
    });
    // Если два экземпляра admin стартовали одновременно, подписываем самым новым из сохранённых.
    [current] = await store.active();
  }
  if (!current) throw new Error('Ключ подписи не сохранился');
  return {
    kid: current.kid,
    privateKey: await importPKCS8(masterKey.decrypt(current.private_key_encrypted), 'RS256'),
  };
}
