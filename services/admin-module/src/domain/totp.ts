// TOTP по RFC 6238 (SPEC AD-6) поверх otplib: SHA-1, 6 цифр, шаг 30 с — то, что понимают все
// приложения-аутентификаторы. Допуск — один шаг в обе стороны (RFC 6238 §5.2: задержка сети и
// расхождение часов телефона); повтор кода отсекает вызывающий по возвращённому шагу.
import { generateSecret, generateURI, verify } from 'otplib';

const STEP_SECONDS = 30;
const CODE = /^\d{6}$/;

export function isTotpCode(code: string): boolean {
  return CODE.test(code);
}

/** Новый секрет: 160 бит (рекомендация RFC 4226 §4), base32 — как его вводят в приложение. */
export function newTotpSecret(): string {
  return generateSecret();
}

/** otpauth://totp/<issuer>:<label>?secret=…&issuer=… — для QR-кода (формат Google Authenticator). */
export function otpauthUri(issuer: string, label: string, secret: string): string {
  return generateURI({ issuer, label, secret });
}

/** Шаг времени, которому соответствует код, или undefined — код неверен. */
export async function matchTotp(secret: string, code: string): Promise<number | undefined> {
  if (!isTotpCode(code)) return undefined;
  const result = await verify({ secret, token: code, period: STEP_SECONDS, epochTolerance: STEP_SECONDS });
  // Результат общий для TOTP и HOTP; шаг времени есть только у TOTP.
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}
