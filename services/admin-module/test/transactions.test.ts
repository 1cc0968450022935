// Обзор транзакций (SPEC AD-10): admin-module собирает транзакции в работе со всех SE реестра и саги
// загрузки настоящего ingester-module; недоступный источник виден в sources; пользователь с грантом на
// один SE видит только его; без storage:manage — 403.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createInProcessCoordination, createInProcessJobQueue, createPgliteDatabase } from '@artstore/adapters';
import type { TransactionsOverview, UploadResponse } from '@artstore/contracts';
import { createLogger, loadConfig, type RunningService } from '@artstore/core';
import { CleanupStack, freePort } from '@artstore/core/testing';
import { startIngesterModule } from '@artstore/ingester-module';
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
  let ingester: RunningService;
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
    const ingesterPort = await freePort();
    admin = await startAdmin({ db, coordination, masterKey: newMasterKey(), ingesterUrl: `http://127.0.0.1:${ingesterPort}` });
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
    // Настоящий ingester со своей БД (журнал саг) и статическим списком SE.
    const ingesterDb = await createPgliteDatabase();
    cleanup.defer(() => ingesterDb.close());
    const jobs = createInProcessJobQueue();
    cleanup.defer(() => jobs.close());
    const ingesterCoordination = createInProcessCoordination();
    cleanup.defer(() => ingesterCoordination.close());
    const config = loadConfig({
      env: {},
      overrides: {
        data_dir: join(workDir, 'ingester'),
        log: { level: 'silent' },
        auth: { jwt: jwt.jwtConfig },
        services: { ingester: { host: '127.0.0.1', port: ingesterPort } },
        storage_elements: [{ id: 'se-a', url: elements['se-a']!.url }],
      },
    });
    ingester = await startIngesterModule({ config, logger: createLogger({ level: 'silent' }), db: ingesterDb, coordination: ingesterCoordination, jobs });
    cleanup.defer(() => ingester.stop());
  });
  after(() => cleanup.run());

  it('загрузка в работе видна с SE-источником; недоступный SE — в sources; после фиксации пусто', async () => {
    const empty = await overview();
    assert.deepEqual(empty.transactions, []);
    assert.deepEqual(
      empty.sources.map((s) => [s.source, s.status]).sort(),
      [
        ['ingester-module', 'ok'],
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
    assert.deepEqual(view.sources.map((s) => s.source), ['se-a', 'ingester-module']);
    await expectProblem(
      await fetch(`${admin.url}/api/transactions`, { headers: { authorization: `Bearer ${reader}` } }),
      403,
      'FORBIDDEN',
    );
  });

  it('саги загрузки ingester: завершённая видна с ?state=completed; ingester остановлен — unavailable', async () => {
    const uploaded = await fetch(`${ingester.url}/api/files?name=saga.txt`, {
      method: 'POST',
      body: 'через ingester',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'text/plain' },
    });
    assert.equal(uploaded.status, 201, await uploaded.clone().text());
    const [file] = ((await uploaded.json()) as UploadResponse).files;
    const completed = await fetch(`${admin.url}/api/transactions?state=completed`, { headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(completed.status, 200, await completed.clone().text());
    const sagas = ((await completed.json()) as TransactionsOverview).transactions.filter((tx) => tx.kind === 'saga.upload');
    assert.deepEqual(sagas.map((tx) => [tx.service, tx.state, tx.file_id]), [['ingester-module', 'completed', file!.id]]);

    await ingester.stop();
    const down = (await overview()).sources.find((s) => s.source === 'ingester-module');
    assert.equal(down?.status, 'unavailable');
    assert.ok(down?.error);
  });
});
