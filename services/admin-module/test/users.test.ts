// Управление пользователями (SPEC AD-1): создание с временным паролем, роли, отключение, политика
// паролей в байтах; системный администратор меняется только с одобрения второго администратора.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPgliteDatabase } from '@artstore/adapters';
import type { Database } from '@artstore/core';
import {
  activateUser,
  cyrillic,
  expectProblem,
  expectToken,
  newMasterKey,
  postJson,
  type RunningAdmin,
  startAdmin,
} from './helpers.js';

interface UserView {
  id: string;
  username: string;
  roles: string[];
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
    fetch(`${admin.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
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
    ({ token: adminToken, id: adminId } = await activate('admin', 'admin123', PASSWORD));
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
    const dave = await activate('dave', 'временный-пароль-6', 'постоянный-пароль-дэйва');
    await createUser('erin', ['admin'], 'временный-пароль-7');
    const erin = await activate('erin', 'временный-пароль-7', 'постоянный-пароль-эрин');

    const request = await call('PATCH', `/api/users/${adminId}`, dave.token, { disabled: true });
    assert.equal(request.status, 202);
    const { change_id: changeId, status } = (await request.json()) as { change_id: string; status: string };
    assert.equal(status, 'pending');
    await expectToken(await login('admin', PASSWORD));
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
    await expectToken(await login('admin', PASSWORD));
  });
});
