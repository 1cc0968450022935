// Запуск настоящей системы для e2e-тестов: `artstore start …` дочерними процессами на свободных
// портах; ожидание /health/ready; остановка SIGTERM (и SIGKILL, если процесс не вышел) — всегда.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createThrowawayPostgres, deleteKeysWithPrefix, testRedisUrl, uniqueTestPrefix, type ThrowawayPostgres } from '@artstore/adapters/testing';
import { CleanupStack, freePort } from '@artstore/core/testing';
import { stringify } from 'yaml';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'apps/cli/bin/artstore.mjs');

export interface RunningSystem {
  gateway: string;
  urls: Record<string, string>;
  dataDir: string;
  workDir: string;
  /** pid процесса каждого сервиса (в режиме embedded — один процесс `all`). */
  pids: Record<string, number | undefined>;
  /** Что процессы напечатали (для диагностики упавшего теста). */
  output(): string;
  stop(): Promise<number[]>;
}

type Mode = 'embedded' | 'separate';
const SERVICES = ['admin-module', 'storage-element', 'query-module', 'ingester-module', 'gateway'] as const;
const CONFIG_KEYS: Record<(typeof SERVICES)[number], string> = {
  'admin-module': 'admin',
  'storage-element': 'storage_element',
  'query-module': 'query',
  'ingester-module': 'ingester',
  gateway: 'gateway',
};

/**
 * embedded — один процесс `artstore start all` на PGlite и in-process координации;
 * separate — пять процессов `artstore start <service>` на настоящих PostgreSQL и Redis (профиль production).
 */
export async function startSystem(mode: Mode, label: string): Promise<RunningSystem> {
  const workDir = await mkdtemp(join(tmpdir(), `artstore-e2e-${label}-`));
  const dataDir = join(workDir, 'data');
  const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [CONFIG_KEYS[s], await freePort()] as const)));
  const urls = Object.fromEntries(SERVICES.map((s) => [s, `http://127.0.0.1:${ports[CONFIG_KEYS[s]]}`]));
  const config: Record<string, unknown> = {
    data_dir: dataDir,
    log: { level: 'warn' },
    services: Object.fromEntries(Object.entries(ports).map(([key, port]) => [key, { host: '127.0.0.1', port }])),
    query: { poll_interval_ms: 500 },
  };
  const cleanup = new CleanupStack();
  cleanup.defer(() => rm(workDir, { recursive: true, force: true }));

  if (mode === 'separate') {
    const pg = await createThrowawayPostgres(label);
    cleanup.defer(() => pg.drop());
    const redisPrefix = uniqueTestPrefix(label);
    cleanup.defer(() => deleteKeysWithPrefix(testRedisUrl(), redisPrefix));
    const clientSecret = randomBytes(24).toString('base64url');
    Object.assign(config, {
      profile: 'production',
      database: databaseSection(pg),
      redis: { url: testRedisUrl(), key_prefix: redisPrefix },
      auth: {
        master_key: randomBytes(32).toString('base64'),
        initial_admin_password: 'Первый-пароль-2026',
        client: { client_id: 'query-module', client_secret: clientSecret },
        service_clients: [{ client_id: 'query-module', client_secret: clientSecret, roles: ['indexer'] }],
      },
      storage: { element_id: 'se-e2e' },
      storage_elements: [{ id: 'se-e2e', url: urls['storage-element'] }],
    });
  }
  const configFile = join(workDir, 'artstore.yaml');
  await writeFile(configFile, stringify(config));

  const children: ChildProcess[] = [];
  const pids: Record<string, number | undefined> = {};
  let output = '';
  const spawnOne = (target: string) => {
    const child = spawn(process.execPath, [CLI, 'start', target, '--config', configFile], {
      cwd: workDir,
      env: { ...process.env, ARTSTORE_CONFIG: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    children.push(child);
    pids[target] = child.pid;
  };

  const stop = async (): Promise<number[]> => {
    const codes = await Promise.all(children.reverse().map((child) => stopChild(child)));
    await cleanup.run();
    return codes;
  };

  try {
    if (mode === 'embedded') {
      spawnOne('all');
      for (const url of Object.values(urls)) await waitReady(url, children, () => output);
    } else {
      // Порядок как во встроенном режиме: admin — источник JWKS и токенов сервисов.
      for (const service of SERVICES) {
        spawnOne(service);
        await waitReady(urls[service]!, children, () => output);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { gateway: urls.gateway!, urls, dataDir, workDir, pids, output: () => output, stop };
}

/** Ждёт /health/ready; процесс, который уже вышел (например, на ошибке конфигурации), — сразу ошибка. */
async function waitReady(url: string, children: readonly ChildProcess[], output: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const exited = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (exited) throw new Error(`процесс ${exited.spawnargs.slice(2).join(' ')} завершился (${exited.exitCode ?? exited.signalCode})\n--- вывод процессов ---\n${output()}`);
    try {
      const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2000) });
      last = `${response.status} ${await response.text()}`;
      if (response.ok) return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} не готов за ${timeoutMs} мс: ${last}\n--- вывод процессов ---\n${output()}`);
}

/**
 * Останавливает дочерний процесс: SIGTERM, а если за graceMs не вышел — SIGKILL. Возвращает код выхода
 * (128, если процесс убит сигналом). Уже завершившийся процесс — сразу его код.
 */
export function stopChild(child: ChildProcess, graceMs = 15_000): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(128);
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      resolve(code ?? (signal ? 128 : 0));
    });
    child.kill('SIGTERM');
  });
}

/** Секция database конфигурации ArtStore для одноразовой базы теста. */
export function databaseSection(pg: ThrowawayPostgres): Record<string, unknown> {
  return {
    host: pg.options.host,
    port: pg.options.port,
    username: pg.options.user,
    ...(pg.options.password === undefined ? {} : { password: pg.options.password }),
    database: pg.options.database,
  };
}

/** Отдельный процесс `artstore start <service>` (тесты отказов: kill -9, SIGSTOP). */
export interface ServiceProcess {
  child: ChildProcess;
  /** Всё, что процесс напечатал (stdout и stderr). */
  output(): string;
  /** Промис выхода: код или сигнал. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Запускает `artstore start <service> --config <file>`; ARTSTORE_CONFIG и ARTSTORE_TEST_FAULTS из
 * окружения теста не наследуются (только явно переданные в env). Остановка зарегистрирована в cleanup.
 */
export function spawnService(
  service: string,
  configFile: string,
  options: { cwd: string; cleanup: CleanupStack; env?: Record<string, string>; logLevel?: string },
): ServiceProcess {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.ARTSTORE_CONFIG;
  delete env.ARTSTORE_TEST_FAULTS;
  Object.assign(env, options.env);
  if (options.logLevel !== undefined) env.ARTSTORE_LOG__LEVEL = options.logLevel;
  const child = spawn(process.execPath, [CLI, 'start', service, '--config', configFile], {
    cwd: options.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  options.cleanup.defer(() => stopChild(child, 5_000));
  return { child, output: () => output, exited };
}

/** Ждёт /health/ready процесса; вышедший процесс — сразу ошибка с его выводом. */
export function waitServiceReady(url: string, service: ServiceProcess, timeoutMs = 60_000): Promise<void> {
  return waitReady(url, [service.child], () => service.output(), timeoutMs);
}

