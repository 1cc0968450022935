// Ключ подписи контрольных точек аудита (SPEC AD-9, BY-8): Ed25519, отдельный от ключей JWT (AD-4),
// закрытый — в БД под мастер-ключом. Открытые ключи отдаются наружу (GET /api/audit/public-key,
// `artstore audit public-key`): проверяющему закрытый ключ не нужен.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { AuditKeyRow, AuditKeyStore } from '../store/audit-keys.js';
import type { MasterKey } from './master-key.js';

export interface AuditSigner {
  kid: string;
  sign(payload: string): string;
}

/** Открытый ключ в том виде, в каком его хранят вне системы и передают `--public-key`. */
export interface AuditPublicKey {
  kid: string;
  algorithm: 'Ed25519';
  created_at: string;
  public_key_pem: string;
}

export type AuditKeyring = ReadonlyMap<string, KeyObject>;

export const publicKeysOf = (rows: readonly AuditKeyRow[]): AuditPublicKey[] =>
  rows.map((row) => ({ kid: row.kid, algorithm: row.algorithm, created_at: row.created_at, public_key_pem: row.public_key }));

export function keyringOf(keys: readonly Pick<AuditPublicKey, 'kid' | 'public_key_pem'>[]): AuditKeyring {
  return new Map(keys.map((key) => [key.kid, createPublicKey(key.public_key_pem)]));
}

export function verifyAuditSignature(keyring: AuditKeyring, kid: string, payload: string, signature: string): boolean {
  const key = keyring.get(kid);
  if (key === undefined) return false;
  try {
    return verify(null, Buffer.from(payload), key, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/** Новейший ключ или, если ключей ещё нет, новый. Два экземпляра, стартовавшие вместе, подпишут новейшим. */
export async function ensureAuditSigner(store: AuditKeyStore, masterKey: MasterKey): Promise<AuditSigner> {
  let [current] = await store.all();
  if (current === undefined) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    await store.insert({
      kid: `audit-${randomUUID().replaceAll('-', '')}`,
      algorithm: 'Ed25519',
      public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      private_key_encrypted: masterKey.encrypt(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
      created_at: new Date().toISOString(),
    });
    [current] = await store.all();
  }
  if (current === undefined) throw new Error('Ключ подписи аудита не сохранился');
  const privateKey = createPrivateKey(masterKey.decrypt(current.private_key_encrypted));
  const kid = current.kid;
  return { kid, sign: (payload) => sign(null, Buffer.from(payload), privateKey).toString('base64url') };
}
