// Пароли (SPEC AD-1): bcrypt с cost ≥ 12; политика ≥ 12 символов и ≤ 72 байт UTF-8 — это предел
// bcrypt: считаем байты, а не символы, иначе хвост длинного кириллического пароля молча отбрасывается.
import { randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/bcrypt';
import { ArtError } from '@artstore/core';

export const BCRYPT_COST = 12;
export const MIN_PASSWORD_CHARS = 12;
export const MAX_PASSWORD_BYTES = 72;

export function assertPasswordPolicy(
  password: string,
  context: { username: string; previous?: string },
): void {
  const chars = [...password].length;
  const bytes = Buffer.byteLength(password, 'utf8');
  if (chars < MIN_PASSWORD_CHARS) {
    throw new ArtError('PASSWORD_POLICY_VIOLATION', `Пароль короче ${MIN_PASSWORD_CHARS} символов`);
  }
  if (bytes > MAX_PASSWORD_BYTES) {
    throw new ArtError(
      'PASSWORD_POLICY_VIOLATION',
      `Пароль длиннее ${MAX_PASSWORD_BYTES} байт в UTF-8 (предел bcrypt)`,
    );
  }
  if (password.toLowerCase().includes(context.username.toLowerCase())) {
    throw new ArtError('PASSWORD_POLICY_VIOLATION', 'Пароль не должен содержать имя пользователя');
  }
  if (context.previous !== undefined && context.previous === password) {
    throw new ArtError('PASSWORD_POLICY_VIOLATION', 'Новый пароль совпадает с текущим');
  }
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, BCRYPT_COST);
}

/** Хеш-заглушка той же стоимости: проверка по нему занимает столько же, — время ответа не выдаёт, есть ли пользователь. */
let dummyHash: Promise<string> | undefined;

export async function verifyPassword(password: string, passwordHash: string | undefined): Promise<boolean> {
  const against = passwordHash ?? (await (dummyHash ??= hash(randomUUID(), BCRYPT_COST)));
  const ok = await verify(password, against).catch(() => false);
  return ok && passwordHash !== undefined;
}
