// Обвязка интеграционных тестов admin-module: сервис в процессе на свободном порту поверх переданной
// БД (её закрывает тест — так проверяется перезапуск над той же БД), координация и очередь в процессе.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createInProcessCoordination, createInProcessJobQueue } from '@artstore/adapters';
import { createLogger, loadConfig, type Coordination, type Database, type JobQueue, type Logger } from '@artstore/core';
import { expectProblemWith, freePort } from '@artstore/core/testing';
import { generate } from 'otplib';
import { startAdminModule } from '../src/index.js';

export interface ServiceClientConfig {
  client_id: string;
  client_secret: string;
  roles: string[];
  grants?: string[];
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
  /** Журнал сервиса (например, createMemoryLogger — проверить событие); по умолчанию молчит. */
  logger?: Logger;
  /** Очередь задач (события аудита других сервисов, SPEC AD-9); переданную закрывает владелец. */
  jobs?: JobQueue;
  /** Секция audit (контрольные точки, SPEC AD-9). */
  audit?: { checkpoint_interval?: number; checkpoint_every?: number };
  /** Координация (несколько экземпляров admin, документ обнаружения SPEC AD-8); переданную закрывает владелец. */
  coordination?: Coordination;
  /** storage_elements — SE, объявленные в конфигурации (SPEC BY-7). */
  storageElements?: { id: string; url: string; priority?: number }[];
  /** Секция discovery (опрос SE, SPEC AD-7). */
  discovery?: { poll_interval?: number };
  /** Адрес ingester-module (источник саг в GET /api/transactions, SPEC AD-10). */
  ingesterUrl?: string;
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
  const coordination = options.coordination ?? createInProcessCoordination();
  const ownCoordination = options.coordination === undefined ? coordination : undefined;
  const jobs = options.jobs ?? createInProcessJobQueue();
  const ownJobs = options.jobs === undefined ? jobs : undefined;
  const release = async () => {
    await ownJobs?.close().catch(() => undefined);
    await ownCoordination?.close().catch(() => undefined);
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
        services: {
          admin: { host: '127.0.0.1', port },
          ...(options.ingesterUrl === undefined ? {} : { ingester: { url: options.ingesterUrl } }),
        },
        auth: {
          master_key: options.masterKey,
          ...(options.initialAdminPassword === undefined
            ? {}
            : { initial_admin_password: options.initialAdminPassword }),
          service_clients: options.serviceClients ?? [],
          ...(options.lockout === undefined ? {} : { lockout: options.lockout }),
          ...(options.adminNetworks === undefined ? {} : { admin_networks: options.adminNetworks }),
        },
        ...(options.audit === undefined ? {} : { audit: options.audit }),
        ...(options.storageElements === undefined ? {} : { storage_elements: options.storageElements }),
        ...(options.discovery === undefined ? {} : { discovery: options.discovery }),
      },
    });
    const service = await startAdminModule({
      config,
      logger: options.logger ?? createLogger({ level: 'silent' }),
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
  mfa_enrolment_required: boolean;
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
 * токен без требования смены и id пользователя. Если роль требует MFA (admin), токен ещё требует её
 * подключения — для полного доступа activateAdmin.
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

const TOTP_STEP_MS = 30_000;
/** Последний шаг времени, код которого выдан по секрету: сервер принимает код один раз (SPEC AD-6). */
const usedSteps = new Map<string, number>();

/**
 * Код TOTP, которого сервер ещё не видел: шаг текущий или, если он уже использован, следующий (сервер
 * допускает шаг вперёд). Если и следующий занят — ждём смены шага, как ждал бы человек.
 */
export async function totpCode(secret: string): Promise<string> {
  const current = Math.floor(Date.now() / TOTP_STEP_MS);
  const step = Math.max(current, (usedSteps.get(secret) ?? current - 1) + 1);
  if (step > current + 1) await sleep((step - 1) * TOTP_STEP_MS - Date.now() + 50);
  usedSteps.set(secret, step);
  return generate({ secret, epoch: step * (TOTP_STEP_MS / 1000) });
}

export interface MfaChallengeBody {
  mfa_required: true;
  mfa_token: string;
  expires_in: number;
}

/** Ответ входа пользователя с MFA: пароль принят, нужен второй шаг. */
export async function expectMfaChallenge(response: Response): Promise<MfaChallengeBody> {
  const text = await response.text();
  assert.equal(response.status, 200, text);
  const body = JSON.parse(text) as MfaChallengeBody;
  assert.equal(body.mfa_required, true, text);
  assert.match(body.mfa_token, /^mfa_/);
  return body;
}

export interface MfaSession {
  token: string;
  secret: string;
  recoveryCodes: string[];
}

/** Подключение TOTP владельцем токена: секрет, подтверждение первым кодом, токен без mfa_enrol. */
export async function enrolMfa(admin: Pick<RunningAdmin, 'url'>, token: string): Promise<MfaSession> {
  const enrol = await postJson(`${admin.url}/api/auth/mfa/enrol`, {}, token);
  assert.equal(enrol.status, 200, await enrol.clone().text());
  const { secret } = (await enrol.json()) as { secret: string };
  const confirmed = await postJson(`${admin.url}/api/auth/mfa/confirm`, { code: await totpCode(secret) }, token);
  const body = (await expectToken(confirmed)) as TokenBody & { recovery_codes: string[] };
  assert.equal(body.mfa_enrolment_required, false);
  return { token: body.access_token, secret, recoveryCodes: body.recovery_codes };
}

/**
 * Администратор (роль требует MFA — auth.mfa.required_roles): первый вход со сменой пароля и
 * подключение TOTP. Токен годен для всего; secret — для следующих входов (loginWithMfa).
 */
export async function activateAdmin(
  admin: Pick<RunningAdmin, 'url'>,
  username: string,
  temporary: string,
  permanent: string,
): Promise<MfaSession & { id: string }> {
  const { token, id } = await activateUser(admin, username, temporary, permanent);
  return { id, ...(await enrolMfa(admin, token)) };
}

/** Вход с MFA: пароль, затем код TOTP к mfa_token. */
export async function loginWithMfa(
  admin: Pick<RunningAdmin, 'url'>,
  username: string,
  password: string,
  secret: string,
): Promise<TokenBody> {
  const { mfa_token } = await expectMfaChallenge(
    await postJson(`${admin.url}/api/auth/login`, { username, password }),
  );
  return expectToken(
    await postJson(`${admin.url}/api/auth/mfa/verify`, { mfa_token, code: await totpCode(secret) }),
  );
}

/** Проверка токенов сервисом по JWKS этого admin-module — как в установке (параметр issuer тестовых SE). */
export function trustAdmin(admin: Pick<RunningAdmin, 'url'>): { jwtConfig: { jwks_url: string; issuer: string; audience: string } } {
  return { jwtConfig: { jwks_url: `${admin.url}/.well-known/jwks.json`, issuer: 'artstore', audience: 'artstore' } };
}
