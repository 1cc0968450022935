// Интеграционные тесты admin-module в процессе: настоящий HTTP на свободном порту, PGlite в памяти,
// bcrypt и RS256 как в работе (SPEC AD-1, AD-3, AD-4). Входов немного: bcrypt cost 12 ≈ 0,25 с на хеш.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createPgliteDatabase } from '@artstore/adapters';
import { isArtError, type Database } from '@artstore/core';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  cyrillic,
  decodeJwt,
  expectProblem,
  expectToken,
  newMasterKey,
  postJson,
  startAdmin,
  type AdminOptions,
  type RunningAdmin,
} from './helpers.js';

const SERVICE_CLIENT = {
  client_id: 'query-module',
  client_secret: 'секрет-индексатора-2026',
  roles: ['indexer'],
};
/** Сервис с правами только на одном SE (SPEC AD-5): грант без глобальных ролей. */
const SCOPED_CLIENT = {
  client_id: 'archiver-se-a',
  client_secret: 'секрет-архиватора-2026',
  roles: [],
  grants: ['uploader@se:se-a'],
};
const PRIVATE_JWK_FIELDS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

describe('admin-module: встроенный профиль', () => {
  const masterKey = newMasterKey();
  let db: Database;
  let admin: RunningAdmin | undefined;
  let url: string;
  /** Действующий пароль admin после обязательной смены. */
  const newPassword = cyrillic(36);

  const login = (username: string, password: string) =>
    postJson(`${url}/api/auth/login`, { username, password });
  const me = (token: string) =>
    fetch(`${url}/api/users/me`, { headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    db = await createPgliteDatabase();
    admin = await startAdmin({ db, masterKey, serviceClients: [SERVICE_CLIENT, SCOPED_CLIENT] });
    url = admin.url;
  });

  after(async () => {
    await admin?.stop();
    await db?.close();
  });

  it('первый вход admin/admin123: обязательная смена пароля, политика в байтах, старый пароль больше не действует', async () => {
    const first = await expectToken(await login('admin', 'admin123'));
    assert.equal(first.password_change_required, true);
    assert.equal(first.expires_in, 1800);
    const { header, payload } = decodeJwt(first.access_token);
    assert.equal(header.alg, 'RS256');
    assert.equal(header.typ, 'at+jwt');
    assert.equal(payload.pwd_change, true);
    assert.equal(payload.kind, 'user');
    assert.equal(payload.name, 'admin');
    assert.deepEqual(payload.roles, ['admin']);

    // Пока пароль не сменён, /api/users/me доступен и сообщает о требовании смены.
    const pending = await me(first.access_token);
    assert.equal(pending.status, 200);
    const pendingBody = (await pending.json()) as {
      username: string;
      password_change_required: boolean;
      permissions: string[];
    };
    assert.equal(pendingBody.username, 'admin');
    assert.equal(pendingBody.password_change_required, true);
    assert.ok(pendingBody.permissions.includes('users:manage'));

    const change = (current: string, next: string) =>
      postJson(
        `${url}/api/users/me/password`,
        { current_password: current, new_password: next },
        first.access_token,
      );
    await expectProblem(
      await change('не-тот-пароль', 'Достаточно длинный пароль 2026'),
      401,
      'AUTH_INVALID_CREDENTIALS',
    );
    await expectProblem(await change('admin123', 'Abcdefghij1'), 400, 'PASSWORD_POLICY_VIOLATION');
    // 40 символов, но 80 байт UTF-8: bcrypt молча отбросил бы хвост после 72 байт.
    const tooLong = cyrillic(40);
    assert.equal([...tooLong].length, 40);
    assert.equal(Buffer.byteLength(tooLong), 80);
    const tooLongProblem = await expectProblem(
      await change('admin123', tooLong),
      400,
      'PASSWORD_POLICY_VIOLATION',
    );
    assert.match(tooLongProblem.detail as string, /72 байт/);

    assert.equal(Buffer.byteLength(newPassword), 72);
    const changed = await expectToken(await change('admin123', newPassword));
    assert.equal(changed.password_change_required, false);
    assert.equal(decodeJwt(changed.access_token).payload.pwd_change, undefined);
    const after = (await (await me(changed.access_token)).json()) as { password_change_required: boolean };
    assert.equal(after.password_change_required, false);

    const again = await expectToken(await login('admin', newPassword));
    assert.equal(again.password_change_required, false);
    await expectProblem(await login('admin', 'admin123'), 401, 'AUTH_INVALID_CREDENTIALS');
    // Ровно 72 байта учитываются все: другая последняя буква — другой пароль.
    await expectProblem(
      await login('admin', `${newPassword.slice(0, -1)}ж`),
      401,
      'AUTH_INVALID_CREDENTIALS',
    );
  });

  it('неизвестный пользователь и неверный пароль неразличимы: один код и одно тело', async () => {
    const unknown = await expectProblem(
      await login('nobody', 'Какой-то пароль 2026'),
      401,
      'AUTH_INVALID_CREDENTIALS',
    );
    const wrong = await expectProblem(
      await login('admin', 'Какой-то пароль 2026'),
      401,
      'AUTH_INVALID_CREDENTIALS',
    );
    const strip = ({ request_id: _r, instance: _i, ...rest }: Record<string, unknown>) => rest;
    assert.notEqual(unknown.request_id, wrong.request_id);
    assert.deepEqual(strip(unknown), strip(wrong));
  });

  it('client_credentials: сервисная учётная запись из конфигурации получает токен kind=service', async () => {
    const tokenUrl = `${url}/api/auth/token`;
    const issued = await expectToken(
      await postJson(tokenUrl, { grant_type: 'client_credentials', ...pick(SERVICE_CLIENT) }),
    );
    assert.equal(issued.password_change_required, false);
    const { payload } = decodeJwt(issued.access_token);
    assert.equal(payload.kind, 'service');
    assert.deepEqual(payload.roles, ['indexer']);
    assert.equal(payload.sub, `svc:${SERVICE_CLIENT.client_id}`);
    assert.equal(payload.pwd_change, undefined);
    const scoped = decodeJwt(
      (await expectToken(await postJson(tokenUrl, { grant_type: 'client_credentials', ...pick(SCOPED_CLIENT) }))).access_token,
    ).payload;
    assert.deepEqual([scoped.roles, scoped.grants], [[], ['uploader@se:se-a']]);
    // Токен сервиса годен для проверки, но это не пользователь.
    await expectProblem(await me(issued.access_token), 403, 'FORBIDDEN');

    await expectProblem(
      await postJson(tokenUrl, {
        grant_type: 'client_credentials',
        client_id: SERVICE_CLIENT.client_id,
        client_secret: 'неверный-секрет-2026',
      }),
      401,
      'AUTH_INVALID_CREDENTIALS',
    );
    await expectProblem(
      await postJson(tokenUrl, { grant_type: 'password', ...pick(SERVICE_CLIENT) }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('JWKS: публичный, только открытые части ключа, kid токена опубликован, подпись проверяется', async () => {
    const response = await fetch(`${url}/.well-known/jwks.json`);
    assert.equal(response.status, 200);
    const jwks = (await response.json()) as JSONWebKeySet;
    assert.ok(jwks.keys.length >= 1);
    for (const key of jwks.keys) {
      assert.equal(key.kty, 'RSA');
      assert.equal(key.alg, 'RS256');
      assert.equal(key.use, 'sig');
      assert.equal(typeof key.kid, 'string');
      assert.ok(key.n && key.e);
      for (const field of PRIVATE_JWK_FIELDS)
        assert.equal(field in key, false, `закрытое поле ${field} в JWKS`);
    }
    const { access_token: token } = await expectToken(await login('admin', newPassword));
    const kid = decodeJwt(token).header.kid;
    assert.ok(
      jwks.keys.some((k) => k.kid === kid),
      'kid токена нет в JWKS',
    );
    const verified = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: 'artstore',
      audience: 'artstore',
      typ: 'at+jwt',
    });
    assert.equal(verified.payload.name, 'admin');
  });

  it('битый JSON → 400 MALFORMED_JSON; нет обязательного поля → 400 VALIDATION_FAILED', async () => {
    await expectProblem(
      await postJson(`${url}/api/auth/login`, '{"username": "admin", "password": '),
      400,
      'MALFORMED_JSON',
    );
    await expectProblem(
      await postJson(`${url}/api/auth/login`, { username: 'admin' }),
      400,
      'VALIDATION_FAILED',
    );
  });

  // Схема входа — additionalProperties: false и type: string: тело проверяется строго
  // (packages/core/src/http/validation.ts), лишнее поле не вырезается молча, число не становится строкой.
  it('лишнее поле или число вместо строки во входе → 400 VALIDATION_FAILED', async () => {
    await expectProblem(
      await postJson(`${url}/api/auth/login`, { username: 'admin', password: newPassword, role: 'admin' }),
      400,
      'VALIDATION_FAILED',
    );
    await expectProblem(
      await postJson(`${url}/api/auth/login`, { username: 'admin', password: 42 }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('перезапуск над той же БД: тот же kid, старый токен действует; ключ в БД зашифрован; чужой мастер-ключ — отказ', async () => {
    const before = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    const { access_token: oldToken } = await expectToken(await login('admin', newPassword));
    await admin!.stop();
    admin = undefined;

    const { rows } = await db.query<{ kid: string; private_key_encrypted: string }>(
      'select kid, private_key_encrypted from admin_signing_keys',
    );
    assert.equal(rows.length, 1);
    const sealed = rows[0]!.private_key_encrypted;
    assert.ok(!sealed.includes('PRIVATE KEY'), 'закрытый ключ лежит в БД открытым PEM');
    // Ни одна часть сохранённого значения не читается как ключ PKCS#8 (DER): в БД только шифротекст.
    // (Проверка подстрокой «MII» была случайной: в base64 шифротекста она встречается примерно раз на сотню.)
    for (const part of sealed.split('.')) {
      assert.throws(
        () => createPrivateKey({ key: Buffer.from(part, 'base64url'), format: 'der', type: 'pkcs8' }),
        Error,
        'часть значения в БД — закрытый ключ DER',
      );
    }
    assert.match(sealed, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);

    admin = await startAdmin({ db, masterKey, serviceClients: [SERVICE_CLIENT] });
    url = admin.url;
    const afterRestart = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    assert.deepEqual(
      afterRestart.keys.map((k) => k.kid),
      before.keys.map((k) => k.kid),
    );
    assert.equal(afterRestart.keys[0]!.n, before.keys[0]!.n);
    // Токен прежнего экземпляра проверяется новым: ключ тот же, а не только kid.
    assert.equal((await me(oldToken)).status, 200);
    await admin.stop();
    admin = undefined;

    await expectStartRejected(
      { db, masterKey: newMasterKey(), serviceClients: [SERVICE_CLIENT] },
      /master_key/,
    );
    // Отказ не испортил ключ: прежний мастер-ключ по-прежнему подходит.
    const { rows: after } = await db.query<{ kid: string }>('select kid from admin_signing_keys');
    assert.deepEqual(
      after.map((r) => r.kid),
      [rows[0]!.kid],
    );
  });
});

describe('admin-module: профиль production', () => {
  const masterKey = newMasterKey();
  let db: Database;
  let admin: RunningAdmin | undefined;

  before(async () => {
    db = await createPgliteDatabase();
  });

  after(async () => {
    await admin?.stop();
    await db?.close();
  });

  it('без auth.initial_admin_password, с admin123 или слабым паролем старт отказывает с CONFIG_INVALID', async () => {
    for (const initialAdminPassword of [undefined, 'admin123', 'Коротко1']) {
      await expectStartRejected(
        { db, masterKey, profile: 'production', initialAdminPassword },
        /initial_admin_password/,
      );
    }
    // Отказ ничего не оставил: пользователя admin нет.
    const { rows } = await db.query<{ n: number }>('select count(*)::int as n from admin_users');
    assert.equal(rows[0]!.n, 0);
  });

  it('с допустимым паролем стартует, вход этим паролем работает, admin123 — нет', async () => {
    const initial = 'Первый-пароль-2026';
    admin = await startAdmin({ db, masterKey, profile: 'production', initialAdminPassword: initial });
    const token = await expectToken(
      await postJson(`${admin.url}/api/auth/login`, { username: 'admin', password: initial }),
    );
    const me = await fetch(`${admin.url}/api/users/me`, {
      headers: { authorization: `Bearer ${token.access_token}` },
    });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { username: string }).username, 'admin');
    await expectProblem(
      await postJson(`${admin.url}/api/auth/login`, { username: 'admin', password: 'admin123' }),
      401,
      'AUTH_INVALID_CREDENTIALS',
    );
  });
});

/** Старт обязан отказать с CONFIG_INVALID; если вдруг стартовал — остановить, чтобы не оставить сервер. */
async function expectStartRejected(options: AdminOptions, message: RegExp): Promise<void> {
  let started: RunningAdmin;
  try {
    started = await startAdmin(options);
  } catch (error) {
    assert.ok(isArtError(error, 'CONFIG_INVALID'), String(error));
    assert.match(error.message, message);
    return;
  }
  await started.stop();
  assert.fail(
    `старт должен был отказать (${String(options.profile)}, ${String(options.initialAdminPassword)})`,
  );
}

function pick(client: typeof SERVICE_CLIENT): { client_id: string; client_secret: string } {
  return { client_id: client.client_id, client_secret: client.client_secret };
}
