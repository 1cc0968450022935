// Управление пользователями (SPEC AD-1, AD-5): создание с временным паролем, роли, гранты с областью,
// отключение, политика паролей в байтах; системный администратор меняется только с одобрения второго
// администратора.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPgliteDatabase } from '@artstore/adapters';
import { testDatabaseBackends } from '@artstore/adapters/testing';
import { createJwtVerifier, isArtError, requirePermission, type Database } from '@artstore/core';
import {
  activateAdmin,
  activateUser,
  cyrillic,
  decodeJwt,
  expectMfaChallenge,
  expectProblem,
  expectToken,
  newMasterKey,
  postJson,
  type RunningAdmin,
  startAdmin,
} from './helpers.js';

/** Вызов API admin-module с токеном и, если есть, JSON-телом. */
function callAdmin(admin: RunningAdmin, method: string, path: string, token: string, body?: unknown) {
  return fetch(`${admin.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

interface UserView {
  id: string;
  username: string;
  roles: string[];
  grants: { role: string; scope: string }[];
  disabled: boolean;
  password_change_required: boolean;
}

describe('admin-module: пользователи', () => {
  let db: Database;
  let admin: RunningAdmin;
  let adminToken: string;
  let adminId: string;
  const PASSWORD = cyrillic(30);

  const login = (username: string, password: string) =>
    postJson(`${admin.url}/api/auth/login`, { username, password });
  const call = (method: string, path: string, token: string, body?: unknown) =>
    callAdmin(admin, method, path, token, body);
  const activate = (username: string, temporary: string, permanent: string) =>
    activateUser(admin, username, temporary, permanent);
  async function createUser(username: string, roles: string[], password: string): Promise<UserView> {
    const response = await call('POST', '/api/users', adminToken, { username, password, roles });
    assert.equal(response.status, 201, await response.clone().text());
    return (await response.json()) as UserView;
  }

  before(async () => {
    db = await createPgliteDatabase();
    admin = await startAdmin({ db, masterKey: newMasterKey() });
    ({ token: adminToken, id: adminId } = await activateAdmin(admin, 'admin', 'admin123', PASSWORD));
  });
  after(async () => {
    await admin.stop();
    await db.close();
  });

  it('создание: временный пароль, имя без учёта регистра уникально, роли из списка, пароль по политике в байтах', async () => {
    const alice = await createUser('alice', ['uploader'], 'временный-пароль-1');
    assert.deepEqual(
      [alice.username, alice.roles, alice.password_change_required, alice.disabled],
      ['alice', ['uploader'], true, false],
    );
    assert.ok(!('password_hash' in alice));
    await expectProblem(
      await call('POST', '/api/users', adminToken, {
        username: 'ALICE',
        password: 'временный-пароль-2',
        roles: ['reader'],
      }),
      409,
      'USERNAME_TAKEN',
    );
    await expectProblem(
      await call('POST', '/api/users', adminToken, {
        username: 'x1',
        password: 'временный-пароль-2',
        roles: ['superuser'],
      }),
      400,
      'VALIDATION_FAILED',
    );
    // 40 кириллических символов — 80 байт: больше предела bcrypt, ясный отказ, а не молча обрезанный пароль.
    const tooLong = await expectProblem(
      await call('POST', '/api/users', adminToken, {
        username: 'x2',
        password: cyrillic(40),
        roles: ['reader'],
      }),
      400,
      'PASSWORD_POLICY_VIOLATION',
    );
    assert.match(tooLong.detail ?? '', /72 байт/);
    await expectProblem(
      await call('POST', '/api/users', adminToken, {
        username: 'x3',
        password: 'короткий',
        roles: ['reader'],
      }),
      400,
      'PASSWORD_POLICY_VIOLATION',
    );
    const listed = (await (await call('GET', '/api/users', adminToken)).json()) as { users: UserView[] };
    assert.deepEqual(listed.users.map((u) => u.username).sort(), ['admin', 'alice']);
  });

  it('без users:manage — 403; смена ролей; отключение закрывает вход и отзывает сессии', async () => {
    const bobUser = await createUser('bob', ['uploader'], 'временный-пароль-3');
    const bob = await activate('bob', 'временный-пароль-3', 'постоянный-пароль-боба');
    await expectProblem(await call('GET', '/api/users', bob.token), 403, 'FORBIDDEN');
    const session = await expectToken(await login('bob', 'постоянный-пароль-боба'));
    const patched = (await (
      await call('PATCH', `/api/users/${bobUser.id}`, adminToken, { roles: ['reader', 'auditor'] })
    ).json()) as UserView;
    assert.deepEqual(patched.roles, ['reader', 'auditor']);
    const disabled = await call('PATCH', `/api/users/${bobUser.id}`, adminToken, { disabled: true });
    assert.equal(disabled.status, 200);
    await expectProblem(await login('bob', 'постоянный-пароль-боба'), 403, 'AUTH_ACCOUNT_DISABLED');
    await expectProblem(
      await postJson(`${admin.url}/api/auth/refresh`, { refresh_token: session.refresh_token }),
      401,
      'AUTH_REFRESH_INVALID',
    );
    await expectProblem(
      await call('PATCH', '/api/users/01900000-0000-7000-8000-000000000000', adminToken, { disabled: true }),
      404,
      'USER_NOT_FOUND',
    );
  });

  it('временный пароль от администратора: старый не действует, новый требует смены', async () => {
    const carolUser = await createUser('carol', ['reader'], 'временный-пароль-4');
    await activate('carol', 'временный-пароль-4', 'постоянный-пароль-кэрол');
    const reset = await call('POST', `/api/users/${carolUser.id}/password`, adminToken, {
      password: 'сброшенный-пароль-5',
    });
    assert.equal(reset.status, 200);
    await expectProblem(await login('carol', 'постоянный-пароль-кэрол'), 401, 'AUTH_INVALID_CREDENTIALS');
    assert.equal(
      (await expectToken(await login('carol', 'сброшенный-пароль-5'))).password_change_required,
      true,
    );
  });

  it('системный администратор: изменение другим администратором ждёт одобрения второго', async () => {
    await createUser('dave', ['admin'], 'временный-пароль-6');
    const dave = await activateAdmin(admin, 'dave', 'временный-пароль-6', 'постоянный-пароль-дэйва');
    await createUser('erin', ['admin'], 'временный-пароль-7');
    const erin = await activateAdmin(admin, 'erin', 'временный-пароль-7', 'постоянный-пароль-эрин');

    const request = await call('PATCH', `/api/users/${adminId}`, dave.token, { disabled: true });
    assert.equal(request.status, 202);
    const { change_id: changeId, status } = (await request.json()) as { change_id: string; status: string };
    assert.equal(status, 'pending');
    await expectMfaChallenge(await login('admin', PASSWORD));
    const pending = (await (await call('GET', '/api/users/changes', erin.token)).json()) as {
      changes: { change_id: string; disabled?: boolean }[];
    };
    assert.deepEqual(
      pending.changes.map((c) => [c.change_id, c.disabled]),
      [[changeId, true]],
    );

    const decide = (token: string, approve: boolean) =>
      call('POST', `/api/users/changes/${changeId}/decision`, token, { approve });
    await expectProblem(await decide(dave.token, true), 409, 'USER_CHANGE_SELF_APPROVAL');
    const approved = await decide(erin.token, true);
    assert.equal(approved.status, 200);
    assert.equal(((await approved.json()) as { user: UserView }).user.disabled, true);
    await expectProblem(await login('admin', PASSWORD), 403, 'AUTH_ACCOUNT_DISABLED');
    await expectProblem(await decide(erin.token, true), 404, 'USER_CHANGE_NOT_FOUND');

    // Сброс пароля системного администратора — тоже через одобрение; отклонённый не применяется.
    const resetRequest = await call('POST', `/api/users/${adminId}/password`, erin.token, {
      password: 'чужой-пароль-админа-8',
    });
    assert.equal(resetRequest.status, 202);
    const resetId = ((await resetRequest.json()) as { change_id: string }).change_id;
    const rejected = await call('POST', `/api/users/changes/${resetId}/decision`, dave.token, {
      approve: false,
    });
    assert.deepEqual(await rejected.json(), { status: 'rejected' });
    // Включаем обратно (с одобрением) — вход прежним паролем работает: сброс не применён.
    const enable = (await (
      await call('PATCH', `/api/users/${adminId}`, dave.token, { disabled: false })
    ).json()) as { change_id: string };
    assert.equal(
      (await call('POST', `/api/users/changes/${enable.change_id}/decision`, erin.token, { approve: true }))
        .status,
      200,
    );
    await expectMfaChallenge(await login('admin', PASSWORD));
  });
});

function grantsSuite(name: string, open: () => Promise<{ db: Database; close: () => Promise<void> }>) {
  describe(`admin-module: гранты с областью (SPEC AD-5), ${name}`, () => {
    let close: () => Promise<void>;
    let admin: RunningAdmin;
    let adminToken: string;
    let adminId: string;
    const call = (method: string, path: string, token: string, body?: unknown) =>
      callAdmin(admin, method, path, token, body);
    const login = async (username: string, password: string) =>
      (await expectToken(await postJson(`${admin.url}/api/auth/login`, { username, password }))).access_token;

    before(async () => {
      const opened = await open();
      close = opened.close;
      admin = await startAdmin({ db: opened.db, masterKey: newMasterKey() });
      ({ token: adminToken, id: adminId } = await activateAdmin(admin, 'admin', 'admin123', cyrillic(30)));
    });
    after(async () => {
      await admin.stop();
      await close();
    });

    it('строгая проверка, гранты в ответе API и в claim grants токена, изменения — в аудите', async () => {
      const grants = [
        { role: 'uploader', scope: 'se:se-a' },
        { role: 'reader', scope: 'se:se-b' },
      ];
      const created = await call('POST', '/api/users', adminToken, {
        username: 'gina',
        password: 'временный-пароль-1',
        roles: [],
        grants,
      });
      assert.equal(created.status, 201, await created.clone().text());
      const gina = (await created.json()) as UserView;
      assert.deepEqual([gina.roles, gina.grants], [[], grants]);

      for (const bad of [
        [{ role: 'reader', scope: 'se:SE-A' }],
        [{ role: 'reader', scope: 'bucket:se-a' }],
        [{ role: 'reader', scope: 'se:' }],
        [{ role: 'reader', scope: 'se:se-a\n' }],
        [{ role: 'superuser', scope: 'se:se-a' }],
        [{ role: '__proto__', scope: 'se:se-a' }],
        [{ role: 'constructor', scope: 'se:se-a' }],
        [{ role: 'reader', scope: 'se:se-a', until: 'never' }],
        [
          { role: 'reader', scope: 'se:se-a' },
          { role: 'reader', scope: 'se:se-a' },
        ],
        ['reader@se:se-a'],
        'reader@se:se-a',
      ]) {
        await expectProblem(
          await call('PATCH', `/api/users/${gina.id}`, adminToken, { grants: bad }),
          400,
          'VALIDATION_FAILED',
        );
      }

      const token = (await activateUser(admin, 'gina', 'временный-пароль-1', 'постоянный-пароль-джины'))
        .token;
      assert.deepEqual(decodeJwt(token).payload.grants, ['uploader@se:se-a', 'reader@se:se-b']);
      // Токен admin-module проходит проверку любого сервиса: гранты действуют только в своей области.
      const verifier = createJwtVerifier({
        jwksUrl: `${admin.url}/.well-known/jwks.json`,
        issuer: 'artstore',
        audience: 'artstore',
        cooldownMs: 0,
        clockToleranceSeconds: 5,
      });
      const principal = await verifier.verify(token);
      assert.equal(requirePermission(principal, 'files:write', { se: 'se-a' }), principal);
      assert.equal(requirePermission(principal, 'files:read', { se: 'se-b' }), principal);
      assert.throws(
        () => requirePermission(principal, 'files:write', { se: 'se-b' }),
        (e) => isArtError(e, 'FORBIDDEN') && e.extra?.permission === 'files:write',
      );

      const patched = await call('PATCH', `/api/users/${gina.id}`, adminToken, {
        grants: [{ role: 'operator', scope: 'se:se-b' }],
      });
      assert.deepEqual(((await patched.json()) as UserView).grants, [{ role: 'operator', scope: 'se:se-b' }]);
      assert.deepEqual(decodeJwt(await login('gina', 'постоянный-пароль-джины')).payload.grants, [
        'operator@se:se-b',
      ]);
      const cleared = await call('PATCH', `/api/users/${gina.id}`, adminToken, { grants: [] });
      assert.deepEqual(((await cleared.json()) as UserView).grants, []);
      assert.ok(!('grants' in decodeJwt(await login('gina', 'постоянный-пароль-джины')).payload));

      const audit = (await (await call('GET', '/api/audit?limit=1000', adminToken)).json()) as {
        records: { action: string; target: string | null; details: { grants?: string[] } }[];
      };
      const ofGina = audit.records.filter((r) => r.target === gina.id && r.action.startsWith('user.'));
      assert.deepEqual(
        ofGina.map((r) => [r.action, r.details.grants]),
        [
          ['user.created', ['uploader@se:se-a', 'reader@se:se-b']],
          ['user.changed', ['operator@se:se-b']],
          ['user.changed', []],
        ],
      );
    });

    it('гранты системного администратора меняет только одобрение второго администратора', async () => {
      const hankCreated = await call('POST', '/api/users', adminToken, {
        username: 'hank',
        password: 'временный-пароль-2',
        roles: ['admin'],
      });
      assert.equal(hankCreated.status, 201);
      const hank = await activateAdmin(admin, 'hank', 'временный-пароль-2', 'постоянный-пароль-хэнка');
      const grants = [{ role: 'reader', scope: 'se:se-x' }];
      const request = await call('PATCH', `/api/users/${adminId}`, hank.token, { grants });
      assert.equal(request.status, 202);
      const { change_id: changeId } = (await request.json()) as { change_id: string };
      const pending = (await (await call('GET', '/api/users/changes', adminToken)).json()) as {
        changes: { change_id: string; grants?: UserView['grants'] }[];
      };
      assert.deepEqual(
        pending.changes.map((c) => [c.change_id, c.grants]),
        [[changeId, grants]],
      );
      const before = (await (await call('GET', `/api/users/${adminId}`, adminToken)).json()) as UserView;
      assert.deepEqual(before.grants, [], 'до одобрения гранты не применены');
      const approved = await call('POST', `/api/users/changes/${changeId}/decision`, adminToken, {
        approve: true,
      });
      assert.equal(approved.status, 200);
      assert.deepEqual(((await approved.json()) as { user: UserView }).user.grants, grants);
    });
  });
}

for (const backend of testDatabaseBackends('admin_grants')) grantsSuite(backend.name, () => backend.open());
