// Резервные коды MFA (SPEC AD-6): 10 одноразовых кодов по 80 бит случайности (16 знаков base32 в
// группах по 4). Показываются один раз; в БД — только sha256: при такой энтропии перебор по хешу
// бессмыслен, а медленный хеш не нужен (как у refresh-токенов).
import { createHash, randomBytes } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const GROUPS = 4;
const GROUP_LENGTH = 4;

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    // 256 делится на 32 без остатка: каждый знак равновероятен.
    const chars = [...randomBytes(GROUPS * GROUP_LENGTH)].map((byte) => ALPHABET[byte % ALPHABET.length]);
    return Array.from({ length: GROUPS }, (_, i) =>
      chars.slice(i * GROUP_LENGTH, (i + 1) * GROUP_LENGTH).join(''),
    ).join('-');
  });
}

/** Хеш введённого кода: регистр, дефисы и пробелы не важны — код переписывают с бумаги. */
export function hashRecoveryCode(code: string): string {
  return createHash('sha256')
    .update(code.toLowerCase().replace(/[\s-]/g, ''))
    .digest('hex');
}
