// Реестр элементов хранения (SPEC AD-7) на PGlite и PostgreSQL: регистрация только отвечающего SE со
// своим element_id, правка и удаление, права storage:manage, объявленные в конфигурации SE (BY-7),
// смена режима на настоящем SE по правилам SE-7 с записью в аудит, опрос — down и снова up.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createInProcessCoordination,
  createPgliteDatabase,
  createPostgresDatabase,
} from '@artstore/adapters';
import { createThrowawayPostgres } from '@artstore/adapters/testing';
import type { StorageElementView } from '@artstore/contracts';
import type { Database } from '@artstore/core';
import { CleanupStack, freePort, waitFor } from '@artstore/core/testing';
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

const POLL_MS = 200;

/** TCP-посредник перед SE: «выключить» и «включить» SE на том же адресе, не трогая сам SE. */
interface SwitchableProxy {
  url: string;
  off(): Promise<void>;
  on(): Promise<void>;
}

async function startProxy(target: string, cleanup: CleanupStack): Promise<SwitchableProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket
        .on('error', () => socket.destroy())
        .on('close', () => {
          sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
    }
    client.pipe(upstream).pipe(client);
  });
  const own = await freePort();
  const listen = () => new Promise<void>((resolve) => server.listen(own, '127.0.0.1', resolve));
  const off = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  await listen();
  cleanup.defer(() => (server.listening ? off() : undefined));
  return { url: `http://127.0.0.1:${own}`, off, on: listen };
}


const backends: [string, (cleanup: CleanupStack) => Promise<Database>][] = [
  ['PGlite', async () => createPgliteDatabase()],
  [
    'PostgreSQL',
    async (cleanup) => {
      const pg = await createThrowawayPostgres('admin_se');
      cleanup.defer(() => pg.drop());
      return createPostgresDatabase(pg.options);
    },
  ],
];

for (const [backend, openDb] of backends) {
  describe(`admin-module: реестр элементов хранения (${backend})`, () => {
    const cleanup = new CleanupStack();
    let db: Database;
    let admin: RunningAdmin;
    let token: string;
    let seRw: TestStorageElement;
    let seEdit: TestStorageElement;
    let workDir: string;

    const call = (
      method: string,
      path: string,
      body?: unknown,
      as = token,
      headers: Record<string, string> = {},
    ) =>
      fetch(`${admin.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${as}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    async function ok<T>(response: Response, status = 200): Promise<T> {
      const text = await response.text();
      assert.equal(response.status, status, text);
      return JSON.parse(text) as T;
    }
    const view = async (id: string) =>
      ok<StorageElementView>(await call('GET', `/api/storage-elements/${id}`));

    before(async () => {
      workDir = await mkdtemp(join(tmpdir(), 'artstore-se-registry-'));
      cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
      db = await openDb(cleanup);
      cleanup.defer(() => db.close());
      // Координация — своя: один экземпляр admin, он и лидер.
      const coordination = createInProcessCoordination();
      cleanup.defer(() => coordination.close());
      admin = await startAdmin({
        db,
        coordination,
        masterKey: newMasterKey(),
        // Объявлен в конфигурации и ещё не запущен: заносится без пробы, опрос покажет down.
        storageElements: [{ id: 'se-cfg', url: 'http://127.0.0.1:9', priority: 5 }],
        discovery: { poll_interval: POLL_MS },
        // 127.0.0.1 — и разрешённая сеть, и доверенный прокси: X-Forwarded-For подставляет чужой адрес.
        adminNetworks: ['127.0.0.1/32'],
      });
      cleanup.defer(() => admin.stop());
      ({ token } = await activateAdmin(admin, 'admin', 'admin123', cyrillic(30)));
      // SE проверяют токены по JWKS этого admin-module — как в установке.
      const jwt = trustAdmin(admin);
      seRw = await startTestStorageElement({
        elementId: 'se-rw',
        issuer: jwt,
        dataDir: workDir,
        basePath: join(workDir, 'rw'),
        mode: 'rw',
        retention: '7y',
      });
      cleanup.defer(() => seRw.close());
      seEdit = await startTestStorageElement({
        elementId: 'se-edit',
        issuer: jwt,
        dataDir: workDir,
        basePath: join(workDir, 'edit'),
      });
      cleanup.defer(() => seEdit.close());
    });
    after(() => cleanup.run());

    it('регистрация: SE опрошен по адресу; чужой element_id и недоступный адрес отвергнуты; повтор id — 409', async () => {
      const created = await ok<StorageElementView>(
        await call('POST', '/api/storage-elements', {
          id: 'se-rw',
          url: `${seRw.url}/`,
          name: 'Оперативный',
          priority: 10,
        }),
        201,
      );
      assert.deepEqual(
        [
          created.url,
          created.name,
          created.priority,
          created.managed_by,
          created.health,
          created.mode,
          created.allowed_transitions,
          created.retention,
        ],
        [seRw.url, 'Оперативный', 10, 'api', 'up', 'rw', ['ro'], '7y'],
      );
      assert.ok(created.capacity && created.capacity.max_bytes > 0, JSON.stringify(created));
      await expectProblem(
        await call('POST', '/api/storage-elements', { id: 'se-rw', url: seRw.url }),
        409,
        'SE_ALREADY_REGISTERED',
      );
      const mismatch = await expectProblem(
        await call('POST', '/api/storage-elements', { id: 'se-other', url: seEdit.url }),
        422,
        'SE_ID_MISMATCH',
      );
      assert.deepEqual([mismatch.expected, mismatch.actual], ['se-other', 'se-edit']);
      const dead = `http://127.0.0.1:${await freePort()}`;
      await expectProblem(
        await call('POST', '/api/storage-elements', { id: 'se-dead', url: dead }),
        422,
        'SE_UNREACHABLE',
      );
      await expectProblem(
        await call('POST', '/api/storage-elements', { id: 'Se_Bad', url: seRw.url }),
        400,
        'VALIDATION_FAILED',
      );
      await expectProblem(
        await call('POST', '/api/storage-elements', { id: 'se-ftp', url: 'ftp://x/y' }),
        400,
        'VALIDATION_FAILED',
      );
      await expectProblem(await call('GET', '/api/storage-elements/se-dead'), 404, 'SE_NOT_REGISTERED');
      const { storage_elements: list } = await ok<{ storage_elements: StorageElementView[] }>(
        await call('GET', '/api/storage-elements'),
      );
      assert.deepEqual(
        list.map((e) => e.id),
        ['se-cfg', 'se-rw'],
        'по приоритету; отвергнутые не зарегистрированы',
      );
    });

    it('правка и удаление: новый адрес сначала опрашивается; удалённый SE — 404', async () => {
      await ok(await call('POST', '/api/storage-elements', { id: 'se-edit', url: seEdit.url }), 201);
      const renamed = await ok<StorageElementView>(
        await call('PATCH', '/api/storage-elements/se-edit', { name: 'Правка', priority: 7 }),
      );
      assert.deepEqual([renamed.name, renamed.priority, renamed.url], ['Правка', 7, seEdit.url]);
      await expectProblem(
        await call('PATCH', '/api/storage-elements/se-edit', { url: seRw.url }),
        422,
        'SE_ID_MISMATCH',
      );
      assert.equal((await view('se-edit')).url, seEdit.url, 'отвергнутый адрес не сохранён');
      await expectProblem(await call('PATCH', '/api/storage-elements/se-edit', {}), 400, 'VALIDATION_FAILED');
      assert.equal((await call('DELETE', '/api/storage-elements/se-edit')).status, 204);
      await expectProblem(await call('GET', '/api/storage-elements/se-edit'), 404, 'SE_NOT_REGISTERED');
      await expectProblem(await call('DELETE', '/api/storage-elements/se-edit'), 404, 'SE_NOT_REGISTERED');
      await ok(await call('POST', '/api/storage-elements', { id: 'se-edit', url: seEdit.url }), 201);
    });

    it('объявленный в конфигурации SE: адрес, приоритет и удаление — только конфигурацией (409), имя — можно', async () => {
      const declared = await view('se-cfg');
      assert.deepEqual(
        [declared.managed_by, declared.priority, declared.url],
        ['config', 5, 'http://127.0.0.1:9'],
      );
      await expectProblem(
        await call('PATCH', '/api/storage-elements/se-cfg', { priority: 1 }),
        409,
        'SE_MANAGED_BY_CONFIG',
      );
      await expectProblem(await call('DELETE', '/api/storage-elements/se-cfg'), 409, 'SE_MANAGED_BY_CONFIG');
      assert.equal(
        (
          await ok<StorageElementView>(
            await call('PATCH', '/api/storage-elements/se-cfg', { name: 'Из конфигурации' }),
          )
        ).name,
        'Из конфигурации',
      );
      const down = await waitFor(
        'опрос объявленного SE',
        () => view('se-cfg'),
        (e) => e.health === 'down',
      );
      assert.ok(
        down.health_error && down.last_polled_at !== null && down.last_seen_at === null,
        JSON.stringify(down),
      );
    });

    it('права: без storage:manage — 403 FORBIDDEN, без токена — 401, из чужой сети — 403 ADMIN_NETWORK_DENIED', async () => {
      await ok(
        await call('POST', '/api/users', {
          username: 'reader1',
          password: 'временный-пароль-1',
          roles: ['reader'],
        }),
        201,
      );
      const { token: reader } = await activateUser(admin, 'reader1', 'временный-пароль-1', cyrillic(24));
      await expectProblem(await call('GET', '/api/storage-elements', undefined, reader), 403, 'FORBIDDEN');
      await expectProblem(
        await call('GET', '/api/storage-elements/se-rw', undefined, reader),
        403,
        'FORBIDDEN',
      );
      await expectProblem(
        await call('POST', '/api/storage-elements', { id: 'se-x', url: seRw.url }, reader),
        403,
        'FORBIDDEN',
      );
      await expectProblem(
        await call('POST', '/api/storage-elements/se-rw/mode', { mode: 'ro' }, reader),
        403,
        'FORBIDDEN',
      );
      await expectProblem(
        await call('DELETE', '/api/storage-elements/se-rw', undefined, reader),
        403,
        'FORBIDDEN',
      );
      await expectProblem(
        await postJson(`${admin.url}/api/storage-elements`, { id: 'se-x', url: seRw.url }),
        401,
        'AUTH_TOKEN_MISSING',
      );
      await expectProblem(
        await call('GET', '/api/storage-elements', undefined, token, { 'x-forwarded-for': '203.0.113.9' }),
        403,
        'ADMIN_NETWORK_DENIED',
      );
    });

    it('смена режима на самом SE: rw→ro и ro→ar проходят, ro→rw и edit→ro — MODE_TRANSITION_FORBIDDEN; всё в аудите', async () => {
      const changed = await ok<StorageElementView & { from: string }>(
        await call('POST', '/api/storage-elements/se-rw/mode', { mode: 'ro' }),
      );
      assert.deepEqual([changed.from, changed.mode, changed.allowed_transitions], ['rw', 'ro', ['ar']]);
      const onSe = await ok<{ mode: string }>(
        await fetch(`${seRw.url}/api/mode`, { headers: { authorization: `Bearer ${token}` } }),
      );
      assert.equal(onSe.mode, 'ro', 'режим сменён на самом SE');
      const back = await expectProblem(
        await call('POST', '/api/storage-elements/se-rw/mode', { mode: 'rw' }),
        409,
        'MODE_TRANSITION_FORBIDDEN',
      );
      assert.deepEqual([back.from, back.to], ['ro', 'rw']);
      await expectProblem(
        await call('POST', '/api/storage-elements/se-edit/mode', { mode: 'ro' }),
        409,
        'MODE_TRANSITION_FORBIDDEN',
      );
      await expectProblem(
        await call('POST', '/api/storage-elements/se-rw/mode', { mode: 'xx' }),
        400,
        'VALIDATION_FAILED',
      );
      await expectProblem(
        await call('POST', '/api/storage-elements/se-none/mode', { mode: 'ro' }),
        404,
        'SE_NOT_REGISTERED',
      );
      const archived = await ok<StorageElementView>(
        await call('POST', '/api/storage-elements/se-rw/mode', { mode: 'ar' }),
      );
      assert.deepEqual(
        [archived.mode, archived.allowed_transitions],
        ['ar', []],
        'из ar — только конфигурацией',
      );
      const { records } = await ok<{
        records: { action: string; target: string | null; details: Record<string, unknown> }[];
      }>(await call('GET', '/api/audit?limit=1000'));
      const modeEvents = records
        .filter((r) => r.action.startsWith('se.mode.'))
        .map((r) => [r.action, r.target, r.details.from, r.details.to]);
      assert.deepEqual(modeEvents, [
        ['se.mode.changed', 'se-rw', 'rw', 'ro'],
        ['se.mode.change_refused', 'se-rw', 'ro', 'rw'],
        ['se.mode.change_refused', 'se-edit', 'edit', 'ro'],
        ['se.mode.changed', 'se-rw', 'ro', 'ar'],
      ]);
      assert.ok(records.some((r) => r.action === 'se.registered' && r.target === 'se-rw'));
    });

    it('опрос: SE за выключенным адресом — down с причиной, снова включённый — up', async () => {
      const proxy = await startProxy(seEdit.url, cleanup);
      // Тот же SE через посредника: новый адрес принят после пробы.
      assert.equal(
        (
          await ok<StorageElementView>(
            await call('PATCH', '/api/storage-elements/se-edit', { url: proxy.url }),
          )
        ).url,
        proxy.url,
      );
      await proxy.off();
      const down = await waitFor(
        'SE down',
        () => view('se-edit'),
        (e) => e.health === 'down',
      );
      assert.match(down.health_error ?? '', /нет соединения|ECONNREFUSED|не ответил/);
      await proxy.on();
      const up = await waitFor(
        'SE снова up',
        () => view('se-edit'),
        (e) => e.health === 'up',
      );
      assert.equal(up.health_error, null);
      assert.ok(up.last_seen_at !== null && up.last_seen_at >= down.last_polled_at!);
    });
  });
}
