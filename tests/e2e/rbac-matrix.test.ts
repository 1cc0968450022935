// Матрица RBAC (SPEC AD-5): каждая роль × каждый класс операций и гранты с областью одного SE — против
// настоящих сервисов: admin-module, два элемента хранения (se-a, se-b), ingester и query в процессе
// теста, как в `artstore start all`, на встроенных портах (PGlite, координация и очередь в процессе) и на
// производственных (PostgreSQL, Redis) — их выбирает та же функция, что и CLI. Процессы здесь не нужны:
// разделимость сервисов доказывает walking skeleton, а матрице нужны сотни запросов, а не запуски.
//
// Токены выдаёт сам admin-module, поэтому проверяется весь путь claim roles/grants: роли — сервисным
// учётным записям (client_credentials), гранты и «без роли» — пользователям, созданным через API.
// Ожидания — только из литералов ROLE_MATRIX и SCOPED ниже, не из permissions.ts: иначе тест
// повторял бы проверяемую таблицу и не мог бы упасть.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAdminModule } from '@artstore/admin-module';
import {
  createThrowawayPostgres,
  deleteKeysWithPrefix,
  testRedisUrl,
  uniqueTestPrefix,
} from '@artstore/adapters/testing';
import type { UploadResponse } from '@artstore/contracts';
import { loadConfig } from '@artstore/core';
import { buildWithCleanup, createMemoryLogger, expectProblemWith, freePort } from '@artstore/core/testing';
import { startIngesterModule } from '@artstore/ingester-module';
import { startQueryModule } from '@artstore/query-module';
import { lastSeq, startTestStorageElement, upload } from '@artstore/storage-element/testing';
import { createBackends } from '../../apps/cli/src/backends.js';
import { activateUser } from '../../services/admin-module/test/helpers.js';
import { databaseSection } from './harness.js';

const TIMEOUT = { timeout: 180_000 };
const expectProblem = expectProblemWith({ type: true });

const ELEMENTS = ['se-a', 'se-b'] as const;
type Element = (typeof ELEMENTS)[number];

/** Классы операций: над файлами и хранилищем — на конкретном SE; users и audit — глобальные. */
const SE_OPERATIONS = [
  'read',
  'write',
  'metadata',
  'delete',
  'purge',
  'changes',
  'storage',
  'mode',
  'retention',
] as const;
const GLOBAL_OPERATIONS = ['users', 'audit'] as const;
type SeOperation = (typeof SE_OPERATIONS)[number];
type Operation = SeOperation | (typeof GLOBAL_OPERATIONS)[number];

/** Разрешение, которое называет отказ 403 FORBIDDEN. */
const PERMISSION: Record<Operation, string> = {
  read: 'files:read',
  write: 'files:write',
  metadata: 'files:write',
  delete: 'files:delete',
  purge: 'files:purge',
  changes: 'changes:read',
  storage: 'storage:manage',
  mode: 'storage:manage',
  retention: 'retention:read',
  users: 'users:manage',
  audit: 'audit:read',
};

/** Ожидаемая матрица SPEC AD-5 (docs/security.md): что роль может; всё остальное — 403. */
const ROLE_MATRIX: Record<string, readonly Operation[]> = {
  admin: [
    'read',
    'write',
    'metadata',
    'delete',
    'purge',
    'changes',
    'storage',
    'mode',
    'retention',
    'users',
    'audit',
  ],
  operator: ['read', 'write', 'metadata', 'delete', 'storage', 'mode', 'retention'],
  uploader: ['read', 'write', 'metadata'],
  reader: ['read'],
  auditor: ['read', 'retention', 'audit'],
  indexer: ['read', 'changes'],
  'без роли': [],
};

/** Пользователи только с грантами: что можно на каждом SE; глобальные операции им не даются никогда. */
const SCOPED: Record<
  string,
  { grants: { role: string; scope: string }[]; allowed: Record<Element, readonly SeOperation[]> }
> = {
  alice: {
    grants: [
      { role: 'uploader', scope: 'se:se-a' },
      { role: 'reader', scope: 'se:se-b' },
    ],
    allowed: { 'se-a': ['read', 'write', 'metadata'], 'se-b': ['read'] },
  },
  bob: {
    grants: [{ role: 'admin', scope: 'se:se-b' }],
    allowed: {
      'se-a': [],
      'se-b': ['read', 'write', 'metadata', 'delete', 'purge', 'changes', 'storage', 'mode', 'retention'],
    },
  },
};

interface Stack {
  adminUrl: string;
  ingesterUrl: string;
  queryUrl: string;
  seUrls: Record<Element, string>;
  /** Токены admin-module по имени строки матрицы (роль, «без роли», alice, bob). */
  tokens: Record<string, string>;
  /** Файл на каждом SE, уже попавший в индекс query. */
  files: Record<Element, string>;
  logs(): string;
  close(): Promise<void>;
}

const PASSWORD = 'постоянный-пароль-rbac';

async function startStack(kind: 'embedded' | 'production'): Promise<Stack> {
  const workDir = await mkdtemp(join(tmpdir(), `artstore-rbac-${kind}-`));
  return buildWithCleanup(async (cleanup) => {
    cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
    const { logger, text } = createMemoryLogger('warn');
    const production: Record<string, unknown> = {};
    if (kind === 'production') {
      const pg = await createThrowawayPostgres('rbac_matrix');
      cleanup.defer(() => pg.drop());
      const keyPrefix = uniqueTestPrefix('rbac-matrix');
      cleanup.defer(() => deleteKeysWithPrefix(testRedisUrl(), keyPrefix));
      Object.assign(production, {
        database: databaseSection(pg),
        redis: { url: testRedisUrl(), key_prefix: keyPrefix },
      });
    }
    const secret = (role: string) => `секрет-${role}-${randomBytes(8).toString('hex')}`;
    const clients = Object.keys(ROLE_MATRIX)
      .filter((role) => ROLE_MATRIX[role]!.length > 0)
      .map((role) => ({ client_id: `rbac-${role}`, client_secret: secret(role), roles: [role] }));
    const indexer = clients.find((c) => c.roles[0] === 'indexer')!;
    const adminPort = await freePort();
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    const base = {
      data_dir: workDir,
      log: { level: 'warn' },
      http: { shutdown_grace_ms: 1000 },
      ...production,
    };
    const adminConfig = loadConfig({
      env: {},
      overrides: {
        ...base,
        services: { admin: { host: '127.0.0.1', port: adminPort } },
        auth: { master_key: randomBytes(32).toString('base64'), service_clients: clients },
      },
    });
    // Одни порты на все сервисы, как в `start all`; выбирает их функция CLI по секциям database/redis.
    const backends = await createBackends(adminConfig, 'rbac', logger);
    cleanup.defer(() => backends.close());
    const admin = await startAdminModule({ config: adminConfig, logger, ...backends });
    cleanup.defer(() => admin.stop());

    const jwtConfig = {
      jwks_url: `${adminUrl}/.well-known/jwks.json`,
      issuer: 'artstore',
      audience: 'artstore',
    };
    const seUrls = {} as Record<Element, string>;
    for (const id of ELEMENTS) {
      const se = await startTestStorageElement({
        elementId: id,
        issuer: { jwtConfig },
        dataDir: join(workDir, id),
        basePath: join(workDir, id, 'store'),
        logger,
        shared: {
          db: backends.db,
          tablePrefix: `${id.replace('-', '_')}_`,
          coordination: backends.coordination,
        },
      });
      cleanup.defer(() => se.close());
      seUrls[id] = se.url;
    }
    // se-b первым по приоритету: выбор ingester без грантов ушёл бы на него.
    const storageElements = [
      { id: 'se-b', url: seUrls['se-b'], priority: 1 },
      { id: 'se-a', url: seUrls['se-a'], priority: 2 },
    ];
    const serviceConfig = (services: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      loadConfig({
        env: {},
        overrides: {
          ...base,
          services: { ...services, admin: { url: adminUrl } },
          auth: { jwt: jwtConfig },
          storage_elements: storageElements,
          ...extra,
        },
      });
    const query = await startQueryModule({
      config: serviceConfig(
        { query: { host: '127.0.0.1', port: 0 } },
        {
          auth: {
            jwt: jwtConfig,
            client: { client_id: indexer.client_id, client_secret: indexer.client_secret },
          },
          query: { poll_interval_ms: 200 },
        },
      ),
      logger,
      ...backends,
    });
    cleanup.defer(() => query.stop());
    const ingester = await startIngesterModule({
      config: serviceConfig({ ingester: { host: '127.0.0.1', port: 0 } }),
      logger,
      ...backends,
    });
    cleanup.defer(() => ingester.stop());

    const tokens: Record<string, string> = {};
    for (const client of clients) {
      const response = await fetch(`${adminUrl}/api/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          grant_type: 'client_credentials',
          client_id: client.client_id,
          client_secret: client.client_secret,
        }),
      });
      assert.equal(response.status, 200, await response.clone().text());
      tokens[client.roles[0]!] = ((await response.json()) as { access_token: string }).access_token;
    }
    const users: Record<string, { grants: { role: string; scope: string }[] }> = {
      'без роли': { grants: [] },
      ...SCOPED,
    };
    for (const [name, { grants }] of Object.entries(users)) {
      const username = name === 'без роли' ? 'nobody' : name;
      const created = await fetch(`${adminUrl}/api/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: 'временный-пароль-rbac', roles: [], grants }),
      });
      assert.equal(created.status, 201, await created.clone().text());
      tokens[name] = (
        await activateUser({ url: adminUrl }, username, 'временный-пароль-rbac', PASSWORD)
      ).token;
    }

    const stack: Stack = {
      adminUrl,
      ingesterUrl: ingester.url,
      queryUrl: query.url,
      seUrls,
      tokens,
      files: {} as Record<Element, string>,
      logs: text,
      close: () => cleanup.run(),
    };
    for (const id of ELEMENTS) {
      stack.files[id] = await uploadVia(stack, tokens.admin!, id);
      await waitIndexed(stack, stack.files[id]);
    }
    return stack;
  });
}

function bearer(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...extra };
}

/** Загрузка через ingester; без element — SE выбирает ingester. Ответ — как есть. */
function postUpload(stack: Stack, token: string, element?: Element): Promise<Response> {
  const query = new URLSearchParams({ name: 'rbac.txt', ...(element ? { storage_element: element } : {}) });
  return fetch(`${stack.ingesterUrl}/api/files?${query.toString()}`, {
    method: 'POST',
    headers: bearer(token, { 'content-type': 'text/plain' }),
    body: `матрица прав ${randomBytes(4).toString('hex')}`,
  });
}

async function uploadedFile(response: Response): Promise<UploadResponse['files'][number]> {
  const text = await response.text();
  assert.equal(response.status, 201, text);
  return (JSON.parse(text) as UploadResponse).files[0]!;
}

async function uploadVia(stack: Stack, token: string, element: Element): Promise<string> {
  const file = await uploadedFile(await postUpload(stack, token, element));
  assert.equal(file.storage_element, element);
  return file.id;
}

async function waitIndexed(stack: Stack, id: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (
    (await fetch(`${stack.queryUrl}/api/files/${id}`, { headers: bearer(stack.tokens.admin!) })).status !==
    200
  ) {
    if (Date.now() > deadline) assert.fail(`query не проиндексировал ${id} за 15 с\n${stack.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Одна операция класса на SE; успех — этот статус (mode: правило SE-7 отказывает уже после RBAC). */
const RUN: Record<
  SeOperation,
  { ok: number; run: (stack: Stack, token: string, se: Element) => Promise<Response> }
> = {
  read: {
    ok: 200,
    run: (s, t, se) => fetch(`${s.queryUrl}/api/files/${s.files[se]}/content`, { headers: bearer(t) }),
  },
  write: { ok: 201, run: (s, t, se) => postUpload(s, t, se) },
  metadata: {
    ok: 200,
    async run(s, t, se) {
      const current = await fetch(`${s.seUrls[se]}/api/files/${s.files[se]}`, {
        headers: bearer(s.tokens.admin!),
      });
      assert.equal(current.status, 200);
      return fetch(`${s.seUrls[se]}/api/files/${s.files[se]}`, {
        method: 'PATCH',
        headers: bearer(t, { 'content-type': 'application/json', 'if-match': current.headers.get('etag')! }),
        body: JSON.stringify({ description: 'правка по матрице прав' }),
      });
    },
  },
  delete: {
    ok: 200,
    run: async (s, t, se) =>
      fetch(`${s.seUrls[se]}/api/files/${await uploadVia(s, s.tokens.admin!, se)}?reason=rbac`, {
        method: 'DELETE',
        headers: bearer(t),
      }),
  },
  purge: {
    ok: 200,
    run: async (s, t, se) =>
      fetch(
        `${s.seUrls[se]}/api/files/${await uploadVia(s, s.tokens.admin!, se)}?reason=rbac&override_retention=true`,
        {
          method: 'DELETE',
          headers: bearer(t),
        },
      ),
  },
  changes: {
    ok: 200,
    run: (s, t, se) => fetch(`${s.seUrls[se]}/api/changes?after=0&limit=1`, { headers: bearer(t) }),
  },
  storage: {
    ok: 200,
    run: (s, t, se) => fetch(`${s.seUrls[se]}/api/maintenance/report`, { headers: bearer(t) }),
  },
  mode: {
    ok: 409,
    run: (s, t, se) =>
      fetch(`${s.seUrls[se]}/api/mode`, {
        method: 'POST',
        headers: bearer(t, { 'content-type': 'application/json' }),
        body: JSON.stringify({ mode: 'ro' }),
      }),
  },
  retention: {
    ok: 200,
    run: (s, t, se) => fetch(`${s.seUrls[se]}/api/retention/expired`, { headers: bearer(t) }),
  },
};

const RUN_GLOBAL: Record<
  (typeof GLOBAL_OPERATIONS)[number],
  (stack: Stack, token: string) => Promise<Response>
> = {
  users: (s, t) => fetch(`${s.adminUrl}/api/users`, { headers: bearer(t) }),
  audit: (s, t) => fetch(`${s.adminUrl}/api/audit?limit=1`, { headers: bearer(t) }),
};

/** Разрешено — ожидаемый успех; запрещено — 403 FORBIDDEN с именем разрешения. */
async function expectOutcome(
  response: Response,
  allowed: boolean,
  operation: Operation,
  ok: number,
  who: string,
): Promise<void> {
  const what = `${who}: ${operation}`;
  if (!allowed) {
    const problem = await expectProblem(response, 403, 'FORBIDDEN');
    assert.equal(problem.permission, PERMISSION[operation], what);
    return;
  }
  const text = await response.text();
  assert.equal(response.status, ok, `${what}: ${text}`);
  if (operation === 'mode') assert.match(text, /MODE_TRANSITION_FORBIDDEN/, what);
}

for (const kind of ['embedded', 'production'] as const) {
  describe(`RBAC: роль × класс операций и гранты на один SE (${kind})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(kind);
    });
    after(() => stack?.close());

    for (const [role, allowed] of Object.entries(ROLE_MATRIX)) {
      it(`${role}: ${allowed.length === 0 ? 'ничего' : allowed.join(', ')}`, TIMEOUT, async () => {
        const token = stack.tokens[role]!;
        for (const operation of SE_OPERATIONS) {
          const { ok, run } = RUN[operation];
          await expectOutcome(
            await run(stack, token, 'se-a'),
            allowed.includes(operation),
            operation,
            ok,
            role,
          );
        }
        for (const operation of GLOBAL_OPERATIONS) {
          await expectOutcome(
            await RUN_GLOBAL[operation](stack, token),
            allowed.includes(operation),
            operation,
            200,
            role,
          );
        }
      });
    }

    for (const [name, { grants, allowed }] of Object.entries(SCOPED)) {
      const label = grants.map((g) => `${g.role}@${g.scope}`).join(', ');
      it(`${name} (${label}): права только на своих SE, глобальных нет`, TIMEOUT, async () => {
        const token = stack.tokens[name]!;
        for (const se of ELEMENTS) {
          for (const operation of SE_OPERATIONS) {
            const { ok, run } = RUN[operation];
            await expectOutcome(
              await run(stack, token, se),
              allowed[se].includes(operation),
              operation,
              ok,
              `${name} на ${se}`,
            );
          }
        }
        for (const operation of GLOBAL_OPERATIONS) {
          await expectOutcome(await RUN_GLOBAL[operation](stack, token), false, operation, 200, name);
        }
      });
    }

    it(
      'uploader@se:se-a: без выбора SE загрузка идёт на se-a, хотя se-b первый по приоритету; на se-b ни байта',
      TIMEOUT,
      async () => {
        const admin = stack.tokens.admin!;
        assert.equal((await uploadedFile(await postUpload(stack, admin))).storage_element, 'se-b');
        assert.equal(
          (await uploadedFile(await postUpload(stack, stack.tokens.alice!))).storage_element,
          'se-a',
        );

        const seB = { url: stack.seUrls['se-b'] };
        const before = await lastSeq(seB, admin);
        const viaIngester = await expectProblem(
          await postUpload(stack, stack.tokens.alice!, 'se-b'),
          403,
          'FORBIDDEN',
        );
        assert.deepEqual([viaIngester.permission, viaIngester.scope], ['files:write', 'se:se-b']);
        // Мимо ingester SE проверяет сам: грант на se-a здесь ничего не даёт.
        const direct = await expectProblem(
          await upload(seB, 'в обход', { token: stack.tokens.alice!, name: 'обход.txt' }),
          403,
          'FORBIDDEN',
        );
        assert.equal(direct.permission, 'files:write');
        assert.equal(await lastSeq(seB, admin), before, 'в ленте se-b появилось изменение');
      },
    );
  });
}
