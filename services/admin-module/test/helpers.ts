// Обвязка интеграционных тестов admin-module: сервис в процессе на свободном порту поверх переданной
// БД (её закрывает тест — так проверяется перезапуск над той же БД), координация и очередь в процессе.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInProcessCoordination, createInProcessJobQueue } from '@artstore/adapters';
import { createLogger, loadConfig, type Database } from '@artstore/core';
import { expectProblemWith, freePort } from '@artstore/core/testing';
import { startAdminModule } from '../src/index.js';

export interface ServiceClientConfig {
  client_id: string;
  client_secret: string;
  roles: string[];
}

const CYRILLIC = 'абвгдеёжзийклмнопрстуфхцчшщъыьэюя';
/** n кириллических букв (2 байта UTF-8 каждая), без повторов подряд. */
export const cyrillic = (n: number) => CYRILLIC.repeat(Math.ceil(n / CYRILLIC.length)).slice(0, n);

export const newMasterKey = () => randomBytes(32).toString('base64');

export interface AdminOptions {
  db: Database;
  masterKey: string;
  profile?: 'embedded' | 'production';
  initialAdminPassword?: string;
  serviceClients?: ServiceClientConfig[];
  /** auth.lockout (SPEC AD-2); по умолчанию — значения конфигурации. */
  lockout?: { account_failures?: number; ip_failures?: number; window?: number };
  /** auth.admin_networks (SPEC AD-11). */
  adminNetworks?: string[];
}

export interface RunningAdmin {
  url: string;
  stop(): Promise<void>;
}

/**
 * Запуск admin-module. Порт выбирается заранее и попадает в конфигурацию: admin проверяет свои же
 * токены по своему JWKS (services.admin → /.well-known/jwks.json). Если старт отказал — всё, что
 * успели создать, закрывается, а ошибка пробрасывается как есть.
 */
export async function startAdmin(options: AdminOptions): Promise<RunningAdmin> {
  const dataDir = await mkdtemp(join(tmpdir(), 'artstore-admin-it-'));
  const coordination = createInProcessCoordination();
  const jobs = createInProcessJobQueue();
  const release = async () => {
    await jobs.close().catch(() => undefined);
    await coordination.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const config = loadConfig({
      env: {},
      overrides: {
        profile: options.profile ?? 'embedded',
        data_dir: dataDir,
        log: { level: 'silent' },
        services: { admin: { host: '127.0.0.1', port } },
        auth: {
          master_key: options.masterKey,
          ...(options.initialAdminPassword === undefined
            ? {}
            : { initial_admin_password: options.initialAdminPassword }),
          service_clients: options.serviceClients ?? [],
          ...(options.lockout === undefined ? {} : { lockout: options.lockout }),
          ...(options.adminNetworks === undefined ? {} : { admin_networks: options.adminNetworks }),
        },
      },
    });
    const service = await startAdminModule({
      config,
      logger: createLogger({ level: 'silent' }),
      db: options.db,
      coordination,
      jobs,
    });
    return {
      url: service.url,
      stop: async () => {
        await service.stop();
        await release();
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}

export async function postJson(url: string, body: unknown, token?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  password_change_required: boolean;
  refresh_token?: string;
  refresh_expires_in?: number;
}

export async function expectToken(response: Response): Promise<TokenBody> {
  const text = await response.text();
  assert.equal(response.status, 200, text);
  const body = JSON.parse(text) as TokenBody;
  assert.equal(body.token_type, 'Bearer');
  assert.equal(typeof body.access_token, 'string');
  return body;
}

/** Ошибки admin-module — problem+json со строковым detail; type здесь не проверяется. */
export const expectProblem = expectProblemWith({ detail: true });

/** Заголовок и полезная нагрузка JWT без проверки подписи (подпись проверяется отдельно по JWKS). */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [header, payload] = token.split('.');
  assert.ok(header && payload, 'не JWT');
  const part = (s: string) =>
    JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: part(header), payload: part(payload) };
}

/**
 * Первый вход с временным паролем (у admin — admin123) и обязательная смена на постоянный:
 * токен без требования смены и id пользователя.
 */
export async function activateUser(
  admin: Pick<RunningAdmin, 'url'>,
  username: string,
  temporary: string,
  permanent: string,
): Promise<{ token: string; id: string }> {
  const first = await expectToken(
    await postJson(`${admin.url}/api/auth/login`, { username, password: temporary }),
  );
  assert.equal(first.password_change_required, true, `${username}: временный пароль требует смены`);
  const changed = await expectToken(
    await postJson(
      `${admin.url}/api/users/me/password`,
      { current_password: temporary, new_password: permanent },
      first.access_token,
    ),
  );
  const me = (await (
    await fetch(`${admin.url}/api/users/me`, { headers: { authorization: `Bearer ${changed.access_token}` } })
  ).json()) as { id: string };
  return { token: changed.access_token, id: me.id };
}
