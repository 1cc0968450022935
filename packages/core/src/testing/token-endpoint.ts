// Конечный пункт client_credentials admin-module (SPEC §9 POST /api/auth/token, ADR 0011) для стендов, где
// настоящего admin-module нет: проверяет client_id/client_secret и выдаёт токен тестового издателя. Сервис
// проходит весь свой путь (запрос токена, кеш, Bearer к SE), а SE проверяет подпись по JWKS издателя.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestTokenIssuer } from './token-fixture.js';

export interface TokenEndpointOptions {
  clientId: string;
  clientSecret: string;
  /** Роли выдаваемого сервисного токена. */
  roles: string[];
  /** Вызывается на каждый запрос токена (тесты считают, сколько раз сервис его просил). */
  onRequest?: () => void;
}

export interface TokenEndpoint {
  /** Адрес для `services.admin.url`. */
  url: string;
  close(): Promise<void>;
}

export async function startTokenEndpoint(
  issuer: TestTokenIssuer,
  options: TokenEndpointOptions,
): Promise<TokenEndpoint> {
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/api/auth/token') {
        response.writeHead(404).end();
        return;
      }
      options.onRequest?.();
      let credentials: Record<string, unknown> = {};
      try {
        credentials = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // Разбор не удался — ниже ответим 401 как на неверные учётные данные.
      }
      if (
        credentials.grant_type !== 'client_credentials' ||
        credentials.client_id !== options.clientId ||
        credentials.client_secret !== options.clientSecret
      ) {
        response
          .writeHead(401, { 'content-type': 'application/problem+json' })
          .end('{"code":"AUTH_INVALID_CREDENTIALS"}');
        return;
      }
      issuer
        .mint({ sub: options.clientId, name: options.clientId, kind: 'service', roles: options.roles })
        .then(
          (token) =>
            response
              .writeHead(200, { 'content-type': 'application/json' })
              .end(
                JSON.stringify({
                  access_token: token,
                  token_type: 'Bearer',
                  expires_in: 600,
                  password_change_required: false,
                }),
              ),
          () => response.writeHead(500).end(),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
