// query-module отдельным процессом `artstore start query-module` на PostgreSQL и Redis (профиль production)
// для бенчмарков search и query: клиент бенчмарка не делит с ним цикл событий, RSS виден отдельно.
// Сервисный токен для лент SE query получает по client_credentials (SPEC §9 POST /api/auth/token) у
// маленького конечного пункта здесь же — как в services/query-module/test/harness.ts: настоящий
// admin-module добавил бы процесс и bcrypt, а замер касается query-module.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  deleteKeysWithPrefix,
  testRedisUrl,
  uniqueTestPrefix,
  type ThrowawayPostgres,
} from '@artstore/adapters/testing';
import {
  freePort,
  startTokenEndpoint,
  type CleanupStack,
  type TestTokenIssuer,
} from '@artstore/core/testing';
import { stringify } from 'yaml';
import {
  databaseSection,
  spawnService,
  waitServiceReady,
  type ServiceProcess,
} from '../../tests/e2e/harness.js';

const CLIENT_ID = 'query-module';

export interface QueryProcessOptions {
  workDir: string;
  issuer: TestTokenIssuer;
  pg: ThrowawayPostgres;
  storageElements: { id: string; url: string }[];
  cleanup: CleanupStack;
  pollIntervalMs?: number;
  /** Префикс ключей Redis; общий с SE — события его ленты будят query (SPEC QR-1). По умолчанию свой. */
  keyPrefix?: string;
  /** Готовность: по умолчанию /health/ready; с SE-заглушкой готовность честно 503 — тогда /health/live. */
  readiness?: 'ready' | 'live';
}

export interface QueryProcess {
  url: string;
  pid: number | undefined;
  service: ServiceProcess;
  /** Время от запуска процесса до готовности, с. */
  startSeconds: number;
}

export async function startQueryProcess(options: QueryProcessOptions): Promise<QueryProcess> {
  const { workDir, issuer, pg, cleanup } = options;
  const secret = randomBytes(24).toString('base64url');
  const tokens = await startTokenEndpoint(issuer, {
    clientId: CLIENT_ID,
    clientSecret: secret,
    roles: ['indexer'],
  });
  cleanup.defer(() => tokens.close());
  const tokenUrl = tokens.url;
  const keyPrefix = options.keyPrefix ?? uniqueTestPrefix('bench_query');
  if (options.keyPrefix === undefined) cleanup.defer(() => deleteKeysWithPrefix(testRedisUrl(), keyPrefix));
  const port = await freePort();
  const configFile = join(workDir, 'query.yaml');
  await writeFile(
    configFile,
    stringify({
      data_dir: join(workDir, 'query-data'),
      log: { level: 'warn' },
      database: databaseSection(pg),
      redis: { url: testRedisUrl(), key_prefix: keyPrefix },
      auth: { jwt: options.issuer.jwtConfig, client: { client_id: CLIENT_ID, client_secret: secret } },
      services: { query: { host: '127.0.0.1', port }, admin: { url: tokenUrl } },
      storage_elements: options.storageElements,
      ...(options.pollIntervalMs === undefined
        ? {}
        : { query: { poll_interval_ms: options.pollIntervalMs } }),
    }),
  );
  const started = performance.now();
  const service = spawnService('query-module', configFile, { cwd: workDir, cleanup });
  const url = `http://127.0.0.1:${port}`;
  if (options.readiness === 'live') await waitLive(url, service);
  else await waitServiceReady(url, service, 120_000);
  return { url, pid: service.child.pid, service, startSeconds: (performance.now() - started) / 1000 };
}

async function waitLive(url: string, service: ServiceProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (service.child.exitCode !== null)
      throw new Error(`query-module завершился (${service.child.exitCode}):\n${service.output()}`);
    if (
      await fetch(`${url}/health/live`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline) throw new Error(`query-module не ожил за 120 с:\n${service.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Позиции индекса по SE из /health/ready (SPEC QR-1): { <element_id>: last_seq }. */
export async function indexPositions(url: string): Promise<Record<string, number>> {
  const response = await fetch(`${url}/health/ready`);
  const body = (await response.json()) as {
    checks?: { index?: { detail?: Record<string, { last_seq: number }> } };
  };
  return Object.fromEntries(
    Object.entries(body.checks?.index?.detail ?? {}).map(([id, v]) => [id, v.last_seq]),
  );
}
