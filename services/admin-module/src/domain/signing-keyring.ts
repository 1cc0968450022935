// Ключи подписи в памяти экземпляра admin-module (SPEC AD-4). Подписывает новейший ключ, чей
// activates_at наступил: смена ключа — по времени из БД, без согласования экземпляров; следующий ключ
// опубликован заранее (prepublish), поэтому каждый экземпляр успевает его загрузить до начала подписи.
import { importPKCS8, type CryptoKey, type JWK } from 'jose';
import type { MasterKey } from './master-key.js';
import type { SigningKeyRow, SigningKeyStore } from '../store/signing-keys.js';

export interface SigningKeyring {
  /** Ключ, которым подписывать в момент now. */
  current(): Promise<{ kid: string; privateKey: CryptoKey }>;
  /** Опубликованные ключи (JWKS): следующий, действующий и ещё не выведенные прежние. */
  jwks(): { keys: JWK[] };
  /** Перечитать ключи из БД (по расписанию и по уведомлению о ротации). */
  reload(): Promise<void>;
}

export async function createSigningKeyring(options: {
  store: SigningKeyStore;
  masterKey: MasterKey;
  now: () => Date;
}): Promise<SigningKeyring> {
  let rows: SigningKeyRow[] = [];
  /** Расшифрованные закрытые ключи по kid: расшифровка — один раз на ключ. */
  const decrypted = new Map<string, Promise<CryptoKey>>();

  async function reload(): Promise<void> {
    rows = await options.store.published();
    for (const kid of decrypted.keys()) if (!rows.some((row) => row.kid === kid)) decrypted.delete(kid);
  }
  await reload();

  return {
    async current() {
      const at = options.now().getTime();
      const row = rows.find((candidate) => new Date(candidate.activates_at).getTime() <= at);
      if (!row) throw new Error('Нет ключа подписи, срок которого наступил: ключи не созданы');
      let key = decrypted.get(row.kid);
      if (!key) {
        key = importPKCS8(options.masterKey.decrypt(row.private_key_encrypted), 'RS256');
        decrypted.set(row.kid, key);
      }
      return { kid: row.kid, privateKey: await key };
    },
    jwks() {
      return { keys: rows.map((row) => ({ ...row.public_jwk, kid: row.kid, alg: 'RS256', use: 'sig' })) };
    },
    reload,
  };
}
