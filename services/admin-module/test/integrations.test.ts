// Токены интеграций (SPEC AD-3): администратор создаёт учётную запись внешней системы со сроком;
// секрет показывается один раз; access-токен не переживает срок интеграции; отзыв и истечение
// закрывают выдачу; роль admin интеграции не выдаётся; всё — под users:manage и в журнале аудита.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPgliteDatabase } from '@artstore/adapters';
import type { Database } from '@artstore/core';
import {
  activateAdmin,
  cyrillic,
  decodeJwt,
  expectProblem,
  expectToken,
  newMasterKey,
  postJson,
  type RunningAdmin,
  startAdmin,
} from './helpers.js';

interface Created {
  client_id: string;
  client_secret: string;
  roles: string[];
  grants: string[];
  expires_at: string;
}

describe('admin-module: токены интеграций', () => {
  let db: Database;
  let admin: RunningAdmin;
  let adminToken: string;
  const exchange = (client_id: string, client_secret: string) =>
    postJson(`${admin.url}/api/auth/token`, { grant_type: 'client_credentials', client_id, client_secret });
  const create = (body: unknown, token = adminToken) => postJson(`${admin.url}/api/integrations`, body, token);

  before(async () => {
    db = await createPgliteDatabase();
    admin = await startAdmin({ db, masterKey: newMasterKey() });
    ({ token: adminToken } = await activateAdmin(admin, 'admin', 'admin123', cyrillic(30)));
  });
  after(async () => {
    await admin.stop();
    await db.close();
  });

  it('создание → секрет один раз; обмен на токен с ролями и грантами; список без секрета', async () => {
    const response = await create({
      description: 'Выгрузка из 1С',
      roles: ['reader'],
      grants: [{ role: 'uploader', scope: 'se:se-a' }],
      ttl_days: 30,
    });
    assert.equal(response.status, 201);
    const created = (await response.json()) as Created;
    assert.match(created.client_id, /^int-[\w-]{12}$/);
    assert.ok(created.client_secret.length >= 40);
    const days = (Date.parse(created.expires_at) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `срок ${days} дней`);

    const token = await expectToken(await exchange(created.client_id, created.client_secret));
    const { payload } = decodeJwt(token.access_token);
    assert.equal(payload.kind, 'service');
    assert.deepEqual(payload.roles, ['reader']);
    assert.deepEqual(payload.grants, ['uploader@se:se-a']);
    assert.ok(token.expires_in <= 1800);

    const list = (await (
      await fetch(`${admin.url}/api/integrations`, { headers: { authorization: `Bearer ${adminToken}` } })
    ).json()) as { integrations: Record<string, unknown>[] };
    const listed = list.integrations.find((i) => i.client_id === created.client_id);
    assert.ok(listed);
    assert.equal(listed.description, 'Выгрузка из 1С');
    for (const field of ['client_secret', 'secret_hash']) assert.equal(field in listed, false, field);
  });

  it('токен не живёт дольше интеграции; истёкшая и отозванная интеграция — 401', async () => {
    const created = (await (await create({ description: 'ЭДО', roles: ['uploader'], ttl_days: 1 })).json()) as Created;
    await db.query(`update admin_service_accounts set expires_at = now() + interval '100 seconds' where client_id = $1`, [
      created.client_id,
    ]);
    const short = await expectToken(await exchange(created.client_id, created.client_secret));
    assert.ok(short.expires_in <= 100 && short.expires_in > 90, `expires_in ${short.expires_in}`);
    const { payload } = decodeJwt(short.access_token);
    assert.ok((payload.exp as number) - (payload.iat as number) <= 100);

    await db.query(`update admin_service_accounts set expires_at = now() - interval '1 second' where client_id = $1`, [
      created.client_id,
    ]);
    await expectProblem(await exchange(created.client_id, created.client_secret), 401, 'AUTH_INVALID_CREDENTIALS');

    const revoked = (await (await create({ description: 'Архив', roles: ['reader'], ttl_days: 7 })).json()) as Created;
    await expectToken(await exchange(revoked.client_id, revoked.client_secret));
    const deleted = await fetch(`${admin.url}/api/integrations/${revoked.client_id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.equal(deleted.status, 204);
    await expectProblem(await exchange(revoked.client_id, revoked.client_secret), 401, 'AUTH_INVALID_CREDENTIALS');
    await expectProblem(
      await fetch(`${admin.url}/api/integrations/int-AAAAAAAAAAAA`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${adminToken}` },
      }),
      404,
      'INTEGRATION_NOT_FOUND',
    );
    const { rows } = await db.query<{ action: string }>(
      "select action from admin_audit_log where action like 'integration.%' order by seq",
    );
    assert.deepEqual(
      rows.map((r) => r.action),
      ['integration.created', 'integration.created', 'integration.created', 'integration.revoked'],
    );
  });

  it('роль admin, срок сверх предела, ни ролей ни грантов, чужой секрет — отказ', async () => {
    await expectProblem(await create({ description: 'x', roles: ['admin'], ttl_days: 1 }), 400, 'INTEGRATION_ROLE_FORBIDDEN');
    await expectProblem(
      await create({ description: 'x', grants: [{ role: 'admin', scope: 'se:se-a' }], ttl_days: 1 }),
      400,
      'INTEGRATION_ROLE_FORBIDDEN',
    );
    await expectProblem(await create({ description: 'x', roles: ['reader'], ttl_days: 366 }), 400, 'VALIDATION_FAILED');
    await expectProblem(await create({ description: 'x', ttl_days: 1 }), 400, 'VALIDATION_FAILED');
    await expectProblem(await create({ description: 'x', roles: [], ttl_days: 1 }), 400, 'VALIDATION_FAILED');
    const created = (await (await create({ description: 'y', roles: ['reader'], ttl_days: 1 })).json()) as Created;
    await expectProblem(await exchange(created.client_id, `${created.client_secret}x`), 401, 'AUTH_INVALID_CREDENTIALS');
  });

  it('без users:manage — 403; сервисный токен интеграции не создаёт интеграций', async () => {
    const created = (await (await create({ description: 'z', roles: ['uploader'], ttl_days: 1 })).json()) as Created;
    const { access_token } = await expectToken(await exchange(created.client_id, created.client_secret));
    await expectProblem(await create({ description: 'w', roles: ['reader'], ttl_days: 1 }, access_token), 403, 'FORBIDDEN');
  });
});
