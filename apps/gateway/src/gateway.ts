// Единая точка входа встроенного режима (порт 4200): потоковый обратный прокси к сервисам и
// страница админки. Токены проверяют сами сервисы — шлюз ничего не решает за них.
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  ArtError,
  createServer,
  createServiceClient,
  listen,
  serverOptionsFrom,
  serviceUrl,
  type Config,
  type HttpMethod,
  type Logger,
  type RunningService,
  type ServiceClient,
} from '@artstore/core';
import { upstreamFor, type Upstream } from './routes.js';

export const GATEWAY = 'gateway';

/** Заголовки соединения (RFC 9110 §7.6.1) не пересылаются через прокси. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);
const PROXIED_METHODS: HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const INDEX_HTML = fileURLToPath(new URL('../public/index.html', import.meta.url));

export async function startGateway(options: { config: Config; logger: Logger }): Promise<RunningService> {
  const { config } = options;
  const logger = options.logger.child({ service: GATEWAY });
  const upstreams = new Map<Upstream, ServiceClient>(
    (['admin', 'ingester', 'query'] as const).map((name) => [
      name,
      // Долгие загрузки и выдачи: срок ожидания заголовков велик, автомат защиты — свой на каждый сервис.
      createServiceClient({ baseUrl: serviceUrl(config, name), name, headersTimeoutMs: 300_000, bodyTimeoutMs: 300_000 }),
    ]),
  );
  const { app } = await createServer({
    service: GATEWAY,
    description: 'Шлюз: маршрутизация /api к сервисам ArtStore',
    logger,
    readiness: Object.fromEntries(
      [...upstreams].map(([name, client]) => [name, async () => {
        const response = await client.request('GET', '/health/live', { timeoutMs: 2000 });
        response.body.resume();
        if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      }]),
    ),
    ...serverOptionsFrom(config),
  });

  const page = await readFile(INDEX_HTML, 'utf8');
  app.get('/', { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
      .send(page),
  );

  await app.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    const proxy = async (request: FastifyRequest, reply: FastifyReply) => {
      const path = request.url.split('?')[0]!;
      const target = upstreamFor(request.method, path);
      if (!target) throw new ArtError('NOT_FOUND', `Маршрут ${request.method} ${path} не существует`);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (value === undefined || HOP_BY_HOP.has(name)) continue;
        headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      headers['x-forwarded-for'] = request.ip;
      const upstream = await upstreams.get(target)!.request(request.method as HttpMethod, request.url, {
        headers,
        body: request.body as Readable | undefined,
        requestId: request.id,
      });
      void reply.code(upstream.status);
      for (const [name, value] of Object.entries(upstream.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) void reply.header(name, value);
      }
      return reply.send(upstream.body);
    };
    for (const url of ['/api/*', '/.well-known/jwks.json']) {
      scope.route({ method: PROXIED_METHODS, url, config: { public: true }, schema: { hide: true }, handler: proxy });
    }
    done();
  });

  return listen(GATEWAY, app, config.services.gateway, async () => {
    await Promise.all([...upstreams.values()].map((c) => c.close()));
  });
}
