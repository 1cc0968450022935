// Обнаружение SE (SPEC AD-8): лидер admin-module публикует документ с версией в координацию и
// уведомляет канал; клиент (ingester, query) следует за ним, сохраняет в файл и не уходит назад по
// версии. PGlite с координацией в процессе, PostgreSQL с настоящим Redis и с Redis Cluster; два
// экземпляра admin — публикует ровно один.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createInProcessCoordination,
  createPgliteDatabase,
  createPostgresDatabase,
  createRedisCoordination,
} from '@artstore/adapters';
import {
  createThrowawayPostgres,
  deleteKeysWithPrefix,
  startTestRedisCluster,
  testRedisUrl,
  uniqueTestPrefix,
  type RedisNodeAddress,
} from '@artstore/adapters/testing';
import {
  createDiscoveryClient,
  createLogger,
  createServiceMetrics,
  DISCOVERY_CHANNEL,
  DISCOVERY_KEY,
  parseDiscoveryDocument,
  publishDiscoveryDocument,
  publishedDiscoveryVersion,
  type Coordination,
  type Database,
  type DiscoveryClient,
  type DiscoveryDocument,
} from '@artstore/core';
import { CleanupStack, waitFor } from '@artstore/core/testing';
import { startTestStorageElement, type TestStorageElement } from '@artstore/storage-element/testing';
import { activateAdmin, cyrillic, newMasterKey, type RunningAdmin, startAdmin, trustAdmin } from './helpers.js';

const silent = createLogger({ level: 'silent' });
const STATIC = [{ id: 'se-static', url: 'http://127.0.0.1:9', priority: 1 }];


interface Backend {
  db: Database;
  /** Координация admin-module и отдельный дескриптор для клиента — как у другого процесса. */
  coordination: Coordination;
  clientCoordination: Coordination;
}

const backends: [string, (cleanup: CleanupStack) => Promise<Backend>][] = [
  [
    'PGlite, координация в процессе',
    async (cleanup) => {
      const db = await createPgliteDatabase();
      cleanup.defer(() => db.close());
      const coordination = createInProcessCoordination();
      cleanup.defer(() => coordination.close());
      return { db, coordination, clientCoordination: coordination };
    },
  ],
  ['PostgreSQL, Redis', (cleanup) => postgresWithRedis(cleanup, testRedisUrl())],
  [
    // SPEC HA-5: уведомление идёт сегментированным pub/sub по слоту канала, документ — в другом слоте.
    'PostgreSQL, Redis Cluster',
    async (cleanup) => {
      const cluster = await startTestRedisCluster();
      cleanup.defer(() => cluster.stop());
      return postgresWithRedis(cleanup, cluster.nodes);
    },
  ],
];

/** PostgreSQL и два дескриптора координации над одним Redis: URL standalone или узлы кластера. */
async function postgresWithRedis(
  cleanup: CleanupStack,
  redis: string | RedisNodeAddress[],
): Promise<Backend> {
  const pg = await createThrowawayPostgres('admin_discovery');
  cleanup.defer(() => pg.drop());
  const db = createPostgresDatabase(pg.options);
  cleanup.defer(() => db.close());
  const keyPrefix = uniqueTestPrefix('discovery');
  cleanup.defer(() => deleteKeysWithPrefix(redis, keyPrefix));
  const connection = typeof redis === 'string' ? { url: redis } : { cluster: redis };
  const coordination = createRedisCoordination({ ...connection, keyPrefix });
  cleanup.defer(() => coordination.close());
  const clientCoordination = createRedisCoordination({ ...connection, keyPrefix });
  cleanup.defer(() => clientCoordination.close());
  return { db, coordination, clientCoordination };
}

for (const [name, open] of backends) {
  describe(`обнаружение SE: публикация и клиент (${name})`, () => {
    const cleanup = new CleanupStack();
    let backend: Backend;
    let admin: RunningAdmin;
    let token: string;
    let se: TestStorageElement;
    let client: DiscoveryClient;
    let cacheFile: string;
    const adopted: number[] = [];

    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${admin.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    before(async () => {
      const workDir = await mkdtemp(join(tmpdir(), 'artstore-discovery-'));
      cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
      backend = await open(cleanup);
      admin = await startAdmin({
        db: backend.db,
        coordination: backend.coordination,
        masterKey: newMasterKey(),
        discovery: { poll_interval: 200 },
      });
      cleanup.defer(() => admin.stop());
      ({ token } = await activateAdmin(admin, 'admin', 'admin123', cyrillic(30)));
      const jwt = trustAdmin(admin);
      se = await startTestStorageElement({
        elementId: 'se-d',
        issuer: jwt,
        dataDir: workDir,
        basePath: join(workDir, 'se'),
        mode: 'rw',
      });
      cleanup.defer(() => se.close());
      cacheFile = join(workDir, 'cache', 'ingester-module.json');
      // Перечитывание по таймеру — редкое: документ должен приходить по уведомлению.
      client = createDiscoveryClient({
        coordination: backend.clientCoordination,
        cacheFile,
        staticElements: STATIC,
        logger: silent,
        refreshIntervalMs: 60_000,
      });
      client.onChange((document) => adopted.push(document.version));
      await client.start();
      cleanup.defer(() => client.close());
    });
    after(() => cleanup.run());

    it('пока реестр пуст и ничего не опубликовано — статическая конфигурация', () => {
      assert.deepEqual(client.status(), { source: 'static', version: 0, storage_elements: 1 });
      assert.equal(client.current().storage_elements[0]!.id, 'se-static');
    });

    it('регистрация и смена режима: новые версии приходят уведомлением, сохраняются в файл, только вперёд', async () => {
      assert.equal(
        (await call('POST', '/api/storage-elements', { id: 'se-d', url: se.url, priority: 3 })).status,
        201,
      );
      const registered = await waitFor(
        'документ с se-d',
        () => client.current(),
        (d) => d.storage_elements.some((e) => e.id === 'se-d'),
      );
      assert.equal(client.source, 'coordination');
      assert.deepEqual(
        registered.storage_elements.map(({ id, url, priority, mode, health }) => ({
          id,
          url,
          priority,
          mode,
          health,
        })),
        [{ id: 'se-d', url: se.url, priority: 3, mode: 'rw', health: 'up' }],
      );
      assert.ok(registered.storage_elements[0]!.capacity!.max_bytes > 0);

      assert.equal((await call('POST', '/api/storage-elements/se-d/mode', { mode: 'ro' })).status, 200);
      const changed = await waitFor(
        'режим ro в документе',
        () => client.current(),
        (d) => d.storage_elements[0]?.mode === 'ro',
      );
      assert.ok(changed.version > registered.version);
      await client.refresh(); // дождаться записи файла: она идёт после принятия документа в память
      const saved = parseDiscoveryDocument(await readFile(cacheFile, 'utf8'));
      assert.deepEqual(saved, changed, 'в файле — последний принятый документ');
      assert.deepEqual(
        adopted,
        [...adopted].sort((a, b) => a - b),
      );
      assert.equal(new Set(adopted).size, adopted.length, 'каждая версия принята один раз');
    });

    it('в координации оказалась старая версия (устаревший лидер): лидер переписывает ключ своей', async () => {
      const current = client.current();
      await publishDiscoveryDocument(backend.coordination, { ...current, version: 1, storage_elements: [] });
      await waitFor(
        'лидер восстановил ключ',
        () => publishedDiscoveryVersion(backend.coordination),
        (v) => v === current.version,
      );
      await client.refresh();
      assert.deepEqual(client.current(), current, 'версия у клиента не пошла назад');
      assert.equal(client.source, 'coordination');
    });

    it('клиент, запущенный заново, сразу берёт сохранённый документ', async () => {
      // Пустая координация: документа там нет, действует сохранённый.
      const empty = createInProcessCoordination();
      const again = createDiscoveryClient({
        coordination: empty,
        cacheFile,
        staticElements: STATIC,
        logger: silent,
        refreshIntervalMs: 60_000,
      });
      try {
        await again.start();
        assert.deepEqual(again.status(), {
          source: 'file',
          version: client.current().version,
          storage_elements: 1,
        });
      } finally {
        await again.close();
        await empty.close();
      }
    });
  });
}

describe('обнаружение SE: клиент', () => {
  it('версия не идёт назад: старый документ не принимается, источник — сохранённый файл; новее — принимается', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'artstore-discovery-client-'));
    const coordination = createInProcessCoordination();
    const { registry } = createServiceMetrics('discovery-test');
    const client = createDiscoveryClient({
      coordination,
      cacheFile: join(workDir, 'doc.json'),
      staticElements: STATIC,
      logger: silent,
      refreshIntervalMs: 60_000,
      registry,
    });
    const document = (version: number, id: string): DiscoveryDocument => ({
      version,
      published_at: new Date().toISOString(),
      storage_elements: [
        { id, name: id, url: `http://${id}:8010`, priority: 1, mode: 'rw', health: 'up', capacity: null },
      ],
    });
    try {
      await client.start();
      await publishDiscoveryDocument(coordination, document(5, 'se-five'));
      await waitFor(
        'версия 5',
        () => client.current().version,
        (v) => v === 5,
      );
      await publishDiscoveryDocument(coordination, document(3, 'se-three'));
      await client.refresh();
      assert.deepEqual(client.status(), { source: 'file', version: 5, storage_elements: 1 });
      const metrics = await registry.metrics();
      assert.match(metrics, /^artstore_discovery_version\{[^}]*\} 5$/m);
      assert.match(metrics, /^artstore_discovery_source\{source="file"[^}]*\} 1$/m);
      assert.match(metrics, /^artstore_discovery_source\{source="coordination"[^}]*\} 0$/m);
      assert.equal(client.current().storage_elements[0]!.id, 'se-five');
      await coordination.set(DISCOVERY_KEY, '{"version": "не число"}');
      await client.refresh();
      assert.equal(client.current().version, 5, 'мусор в ключе не заменяет документ');
      await publishDiscoveryDocument(coordination, document(6, 'se-six'));
      await waitFor(
        'версия 6',
        () => client.current().version,
        (v) => v === 6,
      );
      await client.refresh();
      assert.equal(client.source, 'coordination');
      assert.equal(parseDiscoveryDocument(await readFile(join(workDir, 'doc.json'), 'utf8'))?.version, 6);
    } finally {
      await client.close();
      await coordination.close();
      await rm(workDir, { recursive: true, force: true });
    }
  });
});

describe('обнаружение SE: два экземпляра admin-module', () => {
  const cleanup = new CleanupStack();
  after(() => cleanup.run());

  it('публикует ровно один — лидер; изменение на другом экземпляре будит его; после остановки лидера публикует второй', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'artstore-discovery-two-'));
    cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
    const db = await createPgliteDatabase();
    cleanup.defer(() => db.close());
    const coordination = createInProcessCoordination();
    cleanup.defer(() => coordination.close());
    const masterKey = newMasterKey();
    // Опрос редкий: публикации в этом тесте вызывают только изменения реестра.
    const options = { db, coordination, masterKey, discovery: { poll_interval: 60_000 } };
    const first = await startAdmin(options);
    cleanup.defer(() => first.stop());
    const second = await startAdmin(options);
    cleanup.defer(() => second.stop());
    const published: number[] = [];
    const unsubscribe = await coordination.subscribe(DISCOVERY_CHANNEL, (message) => {
      published.push((JSON.parse(message) as { version: number }).version);
    });
    cleanup.defer(unsubscribe);

    const role = async (admin: RunningAdmin) => {
      const body = (await (await fetch(`${admin.url}/health/ready`)).json()) as {
        checks: { leadership: { detail: { role: string } } };
      };
      return body.checks.leadership.detail.role;
    };
    const [leader, follower] = await waitFor(
      'ровно один лидер',
      async () => {
        const roles = await Promise.all([role(first), role(second)]);
        return roles[0] === 'leader' ? [first, second] : roles[1] === 'leader' ? [second, first] : [];
      },
      (pair) => pair.length === 2,
    );
    assert.notEqual(await role(follower!), 'leader');

    const { token } = await activateAdmin(follower!, 'admin', 'admin123', cyrillic(30));
    const jwt = trustAdmin(follower!);
    const se = await startTestStorageElement({
      elementId: 'se-two',
      issuer: jwt,
      dataDir: workDir,
      basePath: join(workDir, 'se'),
    });
    cleanup.defer(() => se.close());
    const register = (admin: RunningAdmin, id: string) =>
      fetch(`${admin.url}/api/storage-elements`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id, url: se.url }),
      });
    // Регистрация через не-лидера: документ публикует лидер, разбуженный внутренним сообщением.
    assert.equal((await register(follower!, 'se-two')).status, 201);
    const firstVersion = (await waitFor(
      'публикация',
      () => published.at(-1),
      (v) => v !== undefined,
    ))!;
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(published, [firstVersion], 'одна версия — одна публикация');

    await leader!.stop();
    await waitFor(
      'второй экземпляр — лидер',
      () => role(follower!),
      (r) => r === 'leader',
    );
    // Второй SE с тем же адресом под другим id не пройдёт пробу — новую версию даёт правка имени.
    const renamed = await fetch(`${follower!.url}/api/storage-elements/se-two`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'После смены лидера' }),
    });
    assert.equal(renamed.status, 200, await renamed.clone().text());
    await waitFor(
      'публикация нового лидера',
      () => published.length,
      (n) => n === 2,
    );
    assert.ok(published[1]! > firstVersion);
    assert.equal(new Set(published).size, published.length);
  });
});
