// Токен admin-module для его собственных вызовов SE — опроса и пробы при регистрации (SPEC AD-7).
// admin сам выпускает токены, поэтому client_credentials к самому себе не нужен. Роль reader: опросу
// нужно только files:read (GET /api/mode, /api/capacity). Смену режима admin выполняет токеном
// администратора, заказавшего её (ADR 0011): SE сам проверяет storage:manage и видит, кто это был.
import type { TokenIssuer } from './token-issuer.js';

export const ADMIN_SERVICE_SUBJECT = 'svc:admin-module';

export function createSelfTokenProvider(issuer: Pick<TokenIssuer, 'issue'>, now: () => number = Date.now) {
  let cached: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  async function mint(): Promise<string> {
    const { token, expiresIn } = await issuer.issue({
      subject: ADMIN_SERVICE_SUBJECT,
      name: 'admin-module',
      kind: 'service',
      roles: ['reader'],
      mustChangePassword: false,
    });
    // Новый токен — за минуту до истечения (или на половине срока, если он короче двух минут).
    cached = { token, renewAt: now() + Math.max(expiresIn / 2, expiresIn - 60) * 1000 };
    return token;
  }
  return {
    token(): Promise<string> {
      if (cached && cached.renewAt > now()) return Promise.resolve(cached.token);
      pending ??= mint().finally(() => (pending = undefined));
      return pending;
    },
  };
}
