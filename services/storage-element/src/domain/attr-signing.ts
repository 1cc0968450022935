// Подпись attr-файлов (SPEC SE-2, BY-8): Ed25519 над каноническим JSON всех полей, кроме integrity;
// key_id — первые 16 байт sha256 открытого ключа (hex). Закрытый ключ лежит вне корня SE (по умолчанию
// <data_dir>/keys/), открытые ключи — в корне (artstore_layout.json), чтобы подпись можно было проверить
// по одной копии данных без ArtStore (BY-1).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ArtError, canonicalJson, type Logger } from '@artstore/core';

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

// Разобранные открытые ключи: подпись проверяется на каждом чтении записи (SPEC SE-2), а разбор PEM
// стоит больше самой проверки Ed25519. Ключей единицы (текущий и прежние после ротации) — кеш не растёт.
const parsedKeys = new Map<string, KeyObject>();

function publicKeyObject(pem: string): KeyObject {
  let key = parsedKeys.get(pem);
  if (!key) {
    key = createPublicKey(pem);
    parsedKeys.set(pem, key);
  }
  return key;
}

/** attr — любой разобранный JSON: поле integrity проверяется здесь, а не типом. */
export function verifyAttrSignature(attr: object, keys: readonly PublicSigningKey[]): SignatureVerdict {
  const integrity = (attr as { integrity?: AttrIntegrity }).integrity;
  if (!integrity) return 'unsigned';
  const key = keys.find((k) => k.key_id === integrity.key_id && k.alg === integrity.alg);
  if (!key) return 'unknown_key';
  try {
    const ok = verify(null, unsignedBytes(attr), publicKeyObject(key.public_key), Buffer.from(integrity.signature, 'base64url'));
    return ok ? 'valid' : 'invalid';
  } catch {
    return 'invalid';
  }
}

/**
 * Запись о файле выдаётся или меняется, только если её подпись верна (SPEC SE-2 «проверка на путях
 * чтения», BY-8): подделанная строка кеша не выдаётся как настоящая и не переподписывается правкой.
 * Отказ — событие attr_signature_invalid уровня error: это повреждение, а не ошибка клиента.
 */
export function assertAttrSignature(attr: { id: string }, keys: readonly PublicSigningKey[], logger: Pick<Logger, 'error'>): void {
  const verdict = verifyAttrSignature(attr, keys);
  if (verdict !== 'valid') {
    logger.error({ file_id: attr.id, signature: verdict }, 'attr_signature_invalid');
    throw new ArtError('ATTR_SIGNATURE_INVALID', `Запись о файле ${attr.id} не проходит проверку подписи (${verdict})`, {
      extra: { signature: verdict },
    });
  }
}
