// Подпись и проверка токена временной ссылки (SPEC QR-6). Токен — base64url(payload) '.' base64url(HMAC-SHA256
// над первой частью), как у JWS, но payload двоичный: путь /api/links/<token> укладывается в предел длины
// параметра маршрута (200 символов), а JSON с двумя UUID и kid — едва. Состояния у многоразовой ссылки нет:
// её проверяет любой экземпляр query с общим ключом.
//
// payload: [длина kid:1][kid: ASCII][id ссылки:16][id файла:16][срок, мс от эпохи: uint48 BE][флаги:1, бит 0 — одноразовая]
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ArtError } from '@artstore/core';
import type { LinkSigningKey } from '../store/link-store.js';

export interface LinkClaims {
  /** Идентификатор ссылки (UUID). */
  id: string;
  fileId: string;
  expiresAt: Date;
  singleUse: boolean;
}

export interface LinkSigner {
  sign(claims: LinkClaims): string;
  /** Проверенные данные ссылки; подделка или порча — LINK_INVALID (401), истёкшая — LINK_EXPIRED (410). */
  open(token: string, now?: Date): LinkClaims;
}

const UUID_BYTES = 16;
const EXPIRES_BYTES = 6;
const SIGNATURE_BYTES = 32;
const SINGLE_USE = 0b1;
const TOKEN_SHAPE = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;

const uuidToBytes = (uuid: string) => Buffer.from(uuid.replaceAll('-', ''), 'hex');

function bytesToUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const invalid = () => new ArtError('LINK_INVALID', 'Ссылка подделана или повреждена');

/** keys — ключи подписи, первый — действующий (им подписываются новые ссылки). */
export function createLinkSigner(keys: readonly LinkSigningKey[]): LinkSigner {
  const current = keys[0];
  if (!current) throw new ArtError('CONFIG_INVALID', 'Нет ключа подписи временных ссылок');
  const byKid = new Map(keys.map((key) => [key.kid, key.secret]));
  const mac = (secret: Buffer, encodedPayload: string) =>
    createHmac('sha256', secret).update(encodedPayload).digest();

  return {
    sign(claims) {
      const kid = Buffer.from(current.kid, 'ascii');
      const payload = Buffer.alloc(1 + kid.length + 2 * UUID_BYTES + EXPIRES_BYTES + 1);
      let offset = payload.writeUInt8(kid.length, 0);
      offset += kid.copy(payload, offset);
      offset += uuidToBytes(claims.id).copy(payload, offset);
      offset += uuidToBytes(claims.fileId).copy(payload, offset);
      offset = payload.writeUIntBE(claims.expiresAt.getTime(), offset, EXPIRES_BYTES);
      payload.writeUInt8(claims.singleUse ? SINGLE_USE : 0, offset);
      const encoded = payload.toString('base64url');
      return `${encoded}.${mac(current.secret, encoded).toString('base64url')}`;
    },

    open(token, now = new Date()) {
      const parts = TOKEN_SHAPE.exec(token);
      if (!parts) throw invalid();
      const [, encoded, signature] = parts as unknown as [string, string, string];
      const payload = Buffer.from(encoded, 'base64url');
      const kidLength = payload[0] ?? 0;
      if (payload.length !== 1 + kidLength + 2 * UUID_BYTES + EXPIRES_BYTES + 1) throw invalid();
      const secret = byKid.get(payload.subarray(1, 1 + kidLength).toString('ascii'));
      const given = Buffer.from(signature, 'base64url');
      // Подпись сравнивается за постоянное время: по времени ответа не подобрать её побайтно. Запись подписи —
      // только каноническая: иначе у одной ссылки было бы несколько адресов (и записей в кеше CDN).
      if (!secret || given.length !== SIGNATURE_BYTES || given.toString('base64url') !== signature)
        throw invalid();
      if (!timingSafeEqual(given, mac(secret, encoded))) throw invalid();
      let offset = 1 + kidLength;
      const id = bytesToUuid(payload.subarray(offset, (offset += UUID_BYTES)));
      const fileId = bytesToUuid(payload.subarray(offset, (offset += UUID_BYTES)));
      const expiresAt = new Date(payload.readUIntBE(offset, EXPIRES_BYTES));
      const singleUse = (payload.readUInt8(offset + EXPIRES_BYTES) & SINGLE_USE) !== 0;
      // Срок — после подписи: 410 получает только настоящая ссылка, подделка всегда 401.
      if (expiresAt.getTime() <= now.getTime()) {
        throw new ArtError('LINK_EXPIRED', `Срок ссылки истёк ${expiresAt.toISOString()}`, {
          extra: { expired_at: expiresAt.toISOString() },
        });
      }
      return { id, fileId, expiresAt, singleUse };
    },
  };
}
