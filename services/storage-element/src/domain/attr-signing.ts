// Подпись attr-файлов (SPEC SE-2, BY-8): Ed25519 над каноническим JSON всех полей, кроме integrity;
// key_id — первые 16 байт sha256 открытого ключа (hex). Закрытый ключ лежит вне корня SE (по умолчанию
// <data_dir>/keys/), открытые ключи — в корне (artstore_layout.json), чтобы подпись можно было проверить
// по одной копии данных без ArtStore (BY-1).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { canonicalJson } from './canonical-json.js';

export const ATTR_SIGNATURE_ALG = 'Ed25519';

export interface AttrIntegrity {
  alg: typeof ATTR_SIGNATURE_ALG;
  key_id: string;
  /** base64url подписи. */
  signature: string;
}

export interface PublicSigningKey {
  key_id: string;
  alg: typeof ATTR_SIGNATURE_ALG;
  /** Открытый ключ SPKI в PEM. */
  public_key: string;
}

export type SignatureVerdict = 'valid' | 'invalid' | 'unknown_key' | 'unsigned';

export interface AttrSigner {
  readonly publicKey: PublicSigningKey;
  sign<T extends { integrity?: AttrIntegrity }>(attr: Omit<T, 'integrity'>): T;
}

function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 32);
}

function unsignedBytes(attr: object): Buffer {
  const { integrity: _ignored, ...rest } = attr as { integrity?: unknown };
  return Buffer.from(canonicalJson(rest), 'utf8');
}

/** Загружает закрытый ключ или создаёт новый (права 0600) при первом старте SE. */
export async function loadOrCreateAttrSigner(privateKeyPath: string): Promise<AttrSigner> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(await readFile(privateKeyPath));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    privateKey = generateKeyPairSync('ed25519').privateKey;
    await mkdir(dirname(privateKeyPath), { recursive: true, mode: 0o700 });
    await writeFile(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${privateKeyPath}: ожидается ключ Ed25519`);
  const publicKey = createPublicKey(privateKey);
  const description: PublicSigningKey = {
    key_id: keyIdOf(publicKey),
    alg: ATTR_SIGNATURE_ALG,
    public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
  return {
    publicKey: description,
    sign<T extends { integrity?: AttrIntegrity }>(attr: Omit<T, 'integrity'>): T {
      const signature = sign(null, unsignedBytes(attr), privateKey).toString('base64url');
      return { ...attr, integrity: { alg: ATTR_SIGNATURE_ALG, key_id: description.key_id, signature } } as T;
    },
  };
}

/** attr — любой разобранный JSON: поле integrity проверяется здесь, а не типом. */
export function verifyAttrSignature(attr: object, keys: readonly PublicSigningKey[]): SignatureVerdict {
  const integrity = (attr as { integrity?: AttrIntegrity }).integrity;
  if (!integrity) return 'unsigned';
  const key = keys.find((k) => k.key_id === integrity.key_id && k.alg === integrity.alg);
  if (!key) return 'unknown_key';
  try {
    const ok = verify(null, unsignedBytes(attr), createPublicKey(key.public_key), Buffer.from(integrity.signature, 'base64url'));
    return ok ? 'valid' : 'invalid';
  } catch {
    return 'invalid';
  }
}
