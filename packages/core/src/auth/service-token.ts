// Токен сервиса для вызовов других сервисов (client_credentials, SPEC AD-3): запрашивается у
// admin-module и переиспользуется до минуты до истечения.
import { ArtError } from '../errors.js';

export interface ServiceTokenProvider {
  token(): Promise<string>;
}

export function createServiceTokenProvider(options: {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  timeoutMs?: number;
}): ServiceTokenProvider {
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function fetchToken(): Promise<string> {
    let response: Response;
    try {
      response = await fetch(options.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          grant_type: 'client_credentials',
          client_id: options.clientId,
          client_secret: options.clientSecret,
        }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
    } catch (error) {
      throw new ArtError('UPSTREAM_UNAVAILABLE', `admin-module недоступен: ${(error as Error).message}`);
    }
    if (!response.ok) {
      throw new ArtError(
        'UPSTREAM_UNAVAILABLE',
        `admin-module отказал в токене сервиса: HTTP ${response.status}`,
      );
    }
    const body = (await response.json()) as { access_token: string; expires_in: number };
    cached = { token: body.access_token, expiresAt: Date.now() + (body.expires_in - 60) * 1000 };
    return body.access_token;
  }

  return {
    async token() {
      if (cached && cached.expiresAt > Date.now()) return cached.token;
      pending ??= fetchToken().finally(() => (pending = undefined));
      return pending;
    },
  };
}
