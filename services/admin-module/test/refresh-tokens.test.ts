// Refresh-токены (SPEC AD-3): ротация при каждом предъявлении; повтор использованного отзывает всё
// семейство; выход и смена пароля отзывают; истёкший и отключённый пользователь — отказ.
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
  type TokenBody,
} from './helpers.js';

const PASSWORD = cyrillic(30);

describe('admin-module: refresh-токены', () => {
  let db: Database;
  let admin: RunningAdmin;
  const refresh = (token: string) => postJson(`${admin.url}/api/auth/refresh`, { refresh_token: token });
  const login = async (password = PASSWORD) =>
    expectToken(await postJson(`${admin.url}/api/auth/login`, { username: 'admin', password }));

  before(async () => {
    db = await createPgliteDatabase();
    admin = await startAdmin({ db, masterKey: newMasterKey() });
    await activateUser(admin, 'admin', 'admin123', PASSWORD);
  });
  after(async () => {
    await admin.stop();
    await db.close();
  });

  it('вход выдаёт refresh-токен; предъявление — новую пару, старый больше не годится', async () => {
    const session = await login();
    assert.match(session.refresh_token ?? '', /^rt_[A-Za-z0-9_-]{43}$/);
    assert.equal(session.refresh_expires_in, 7 * 86_400);
    const next = await expectToken(await refresh(session.refresh_token!));
    assert.notEqual(next.refresh_token, session.refresh_token);
    assert.notEqual(next.access_token, session.access_token);
    const me = await fetch(`${admin.url}/api/users/me`, {
      headers: { authorization: `Bearer ${next.access_token}` },
    });
    assert.equal(me.status, 200);
    // В БД — только хеш: самого токена там нет.
    const { rows } = await db.query<{ n: number }>(
      `select count(*)::int as n from admin_refresh_tokens where token_hash = $1`,
      [next.refresh_token],
    );
    assert.equal(rows[0]!.n, 0);
  });

  it('повтор использованного токена отзывает всё семейство, включая выданный взамен; другие входы не затронуты', async () => {
    const stolen = await login();
    const other = await login();
    const rotated = await expectToken(await refresh(stolen.refresh_token!));
    await expectProblem(await refresh(stolen.refresh_token!), 401, 'AUTH_REFRESH_INVALID');
    await expectProblem(await refresh(rotated.refresh_token!), 401, 'AUTH_REFRESH_INVALID');
    await expectToken(await refresh(other.refresh_token!));
    const { rows } = await db.query<{ n: number }>(
      `select count(*)::int as n from admin_audit_log where action = 'auth.refresh.reuse_detected'`,
    );
    assert.equal(rows[0]!.n, 1, 'повтор записан в журнал аудита');
  });

  it('одновременное предъявление одного токена: выигрывает не больше одного', async () => {
    const session = await login();
    const answers = await Promise.all(Array.from({ length: 4 }, () => refresh(session.refresh_token!)));
    assert.ok(answers.filter((r) => r.status === 200).length <= 1, answers.map((r) => r.status).join(','));
    for (const answer of answers) await answer.body?.cancel();
  });

  it('выход отзывает семейство предъявленного токена, без токена — все сессии', async () => {
    const a = await login();
    const b = await login();
    const logout = (token: TokenBody, body: unknown) =>
      fetch(`${admin.url}/api/auth/logout`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await logout(a, { refresh_token: a.refresh_token })).status, 204);
    await expectProblem(await refresh(a.refresh_token!), 401, 'AUTH_REFRESH_INVALID');
    const bNext = await expectToken(await refresh(b.refresh_token!));
    assert.equal((await logout(bNext, {})).status, 204);
    await expectProblem(await refresh(bNext.refresh_token!), 401, 'AUTH_REFRESH_INVALID');
  });

  it('смена пароля отзывает прежние сессии; истёкший, поддельный и не того типа токен — отказ', async () => {
    const before = await login();
    const changed = await expectToken(
      await postJson(
        `${admin.url}/api/users/me/password`,
        { current_password: PASSWORD, new_password: `${PASSWORD}-2` },
        before.access_token,
      ),
    );
    await expectProblem(await refresh(before.refresh_token!), 401, 'AUTH_REFRESH_INVALID');
    await expectToken(await refresh(changed.refresh_token!));
    const expiring = await expectToken(
      await postJson(`${admin.url}/api/auth/login`, { username: 'admin', password: `${PASSWORD}-2` }),
    );
    await db.query(
      `update admin_refresh_tokens set expires_at = now() - interval '1 second' where revoked_at is null and used_at is null`,
    );
    await expectProblem(await refresh(expiring.refresh_token!), 401, 'AUTH_REFRESH_INVALID');
    await expectProblem(await refresh('rt_поддельный'), 401, 'AUTH_REFRESH_INVALID');
    // Не тот тип токена ни в одну сторону: access-токен вместо refresh и refresh-токен вместо access.
    await expectProblem(await refresh(expiring.access_token), 400, 'VALIDATION_FAILED');
    const asBearer = await fetch(`${admin.url}/api/users/me`, {
      headers: { authorization: `Bearer ${changed.refresh_token!}` },
    });
    await expectProblem(asBearer, 401, 'AUTH_TOKEN_INVALID');
  });
});
