// Шифрование закрытых ключей подписи в БД мастер-ключом (SPEC AD-4): AES-256-GCM,
// формат «v1.<iv>.<tag>.<ciphertext>» в base64url.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ArtError } from '@artstore/core';

export interface MasterKey {
  encrypt(plaintext: string): string;
  decrypt(sealed: string): string;
}

export function masterKeyFrom(encoded: string | undefined): MasterKey {
  if (encoded === undefined)
    throw new ArtError('CONFIG_INVALID', 'auth.master_key не задан (32 байта в base64)');
  const key = Buffer.from(encoded, 'base64');
  if (key.length !== 32)
    throw new ArtError('CONFIG_INVALID', 'auth.master_key: ожидается ровно 32 байта в base64');
  return {
    encrypt(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), body]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join('.');
    },
    decrypt(sealed) {
      const [version, iv, tag, body] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || !body)
        throw new Error('Неизвестный формат зашифрованного ключа');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      try {
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
          'utf8',
        );
      } catch {
        throw new ArtError(
          'CONFIG_INVALID',
          'Закрытый ключ не расшифровывается: auth.master_key не тот, которым он был зашифрован',
        );
      }
    },
  };
}
