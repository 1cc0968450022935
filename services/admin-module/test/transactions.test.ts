// Обзор транзакций (SPEC AD-10): admin-module собирает транзакции в работе со всех SE реестра;
// недоступный SE виден в sources; пользователь с грантом на один SE видит только его; без
// storage:manage — 403.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createInProcessCoordination, createPgliteDatabase } from '@artstore/adapters';
import type { TransactionsOverview } from '@artstore/contracts';
import { CleanupStack } from '@artstore/core/testing';
import { startTestStorageElement, type TestStorageElement } from '@artstore/storage-element/testing';
import {
  activateAdmin,
  activateUser,
  cyrillic,
  expectProblem,
  newMasterKey,
  postJson,
  type RunningAdmin,
  startAdmin,
  trustAdmin,
} from './helpers.js';

/** Загрузка на SE, тело которой пришло наполовину: её intent в WAL, commit ещё нет. */
function pausedUpload(seUrl: string, token: string): { finish(): Promise<number> } {
  const req = request(`${seUrl}/api/files`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/octet-stream',
      'artstore-name': encodeURIComponent('в-работе.txt'),
    },
  });
  const status = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
  req.write('первая половина ');
  return {
    finish() {
      req.end('вторая половина');
      return status;
    },
  };
}

describe('admin-module: обзор транзакций со всех SE', () => {
  const cleanup = new CleanupStack();
  let admin: RunningAdmin;
  let adminToken: string;
  const elements: Record<string, TestStorageElement> = {};
  const overview = async (token = adminToken) => {
    const response = await fetch(`${admin.url}/api/transactions`, { headers: { authorization: `Bearer ${token}` } });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return JSON.parse(text) as TransactionsOverview;
  };

  before(async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'artstore-admin-tx-'));
    cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
    const db = await createPgliteDatabase();
    cleanup.defer(() => db.close());
    const coordination = createInProcessCoordination();
    cleanup.defer(() => coordination.close());
    // Адреса SE известны только после их старта, а SE проверяют токены по JWKS admin: сначала admin
    // без SE, затем SE, затем регистрация через API.
    admin = await startAdmin({ db, coordination, masterKey: newMasterKey() });
    cleanup.defer(() => admin.stop());
    ({ token: adminToken } = await activateAdmin(admin, 'admin', 'admin123', cyrillic(30)));
    const jwt = trustAdmin(admin);
    for (const id of ['se-a', 'se-b']) {
      const se = await startTestStorageElement({ elementId: id, issuer: jwt, dataDir: join(workDir, id), basePath: join(workDir, id, 'store') });
      cleanup.defer(() => se.close());
      elements[id] = se;
      const registered = await postJson(`${admin.url}/api/storage-elements`, { id, url: se.url, priority: 1 }, adminToken);
      assert.equal(registered.status, 201, await registered.text());
    }
  });
  after(() => cleanup.run());

  it('загрузка в работе видна с SE-источником; недоступный SE — в sources; после фиксации пусто', async () => {
    const empty = await overview();
    assert.deepEqual(empty.transactions, []);
    assert.deepEqual(
      empty.sources.map((s) => [s.source, s.status]).sort(),
      [
        ['se-a', 'ok'],
        ['se-b', 'ok'],
      ],
    );

    const upload = pausedUpload(elements['se-a']!.url, adminToken);
    let seen: TransactionsOverview | undefined;
    for (let i = 0; i < 200; i++) {
      seen = await overview();
      if (seen.transactions.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(seen?.transactions.length, 1);
    assert.equal(seen.transactions[0]!.kind, 'se.put');
    assert.equal(seen.transactions[0]!.source, 'se-a');

    await elements['se-b']!.stop();
    const partial = await overview();
    assert.equal(partial.transactions.length, 1, 'остальные источники по-прежнему видны');
    const down = partial.sources.find((s) => s.source === 'se-b');
    assert.equal(down?.status, 'unavailable');
    assert.ok(down?.error);

    assert.equal(await upload.finish(), 201);
    assert.deepEqual((await overview()).transactions, []);
  });

  it('грант operator на один SE — только его транзакции; без storage:manage — 403', async () => {
    const create = async (username: string, body: Record<string, unknown>) => {
      const response = await postJson(`${admin.url}/api/users`, { username, password: 'временный-пароль-1', ...body }, adminToken);
      assert.equal(response.status, 201, await response.text());
      return (await activateUser(admin, username, 'временный-пароль-1', cyrillic(24))).token;
    };
    const scoped = await create('operator-a', { roles: [], grants: [{ role: 'operator', scope: 'se:se-a' }] });
    const reader = await create('reader', { roles: ['reader'] });
    const view = await overview(scoped);
    assert.deepEqual(view.sources.map((s) => s.source), ['se-a']);
    await expectProblem(
      await fetch(`${admin.url}/api/transactions`, { headers: { authorization: `Bearer ${reader}` } }),
      403,
      'FORBIDDEN',
    );
  });
});
