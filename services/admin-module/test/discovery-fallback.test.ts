// Обнаружение SE без Redis (SPEC AD-8): собственный redis-server (без сохранения на диск) убивается
// посреди работы. Клиент продолжает служить последним документом и сообщает источник; новый клиент при
// мёртвом Redis берёт сохранённый файл, без файла — статическую конфигурацию; вернувшийся Redis с новой
// версией документа клиент подхватывает сам.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createRedisCoordination } from '@artstore/adapters';
import { uniqueTestPrefix } from '@artstore/adapters/testing';
import {
  createDiscoveryClient,
  createLogger,
  publishDiscoveryDocument,
  type Coordination,
  type DiscoveryClient,
  type DiscoveryDocument,
} from '@artstore/core';
import { CleanupStack, freePort, waitFor } from '@artstore/core/testing';

const STATIC = [{ id: 'se-static', url: 'http://127.0.0.1:9', priority: 1 }];

function document(version: number, id: string): DiscoveryDocument {
  return {
    version,
    published_at: new Date().toISOString(),
    storage_elements: [
      {
        id,
        name: id,
        url: `http://${id}.internal:8010`,
        priority: 10,
        mode: 'rw',
        health: 'up',
        capacity: null,
      },
    ],
  };
}


/** Отвечает ли Redis на PING — без клиента с переподключениями. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  await waitFor('redis-server отвечает', () => pings(port), Boolean, { timeoutMs: 10_000 });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('обнаружение SE: Redis недоступен', () => {
  const cleanup = new CleanupStack();
  after(() => cleanup.run());

  it('убитый Redis: последний документ из памяти, затем файл, затем статическая конфигурация; вернувшийся Redis — новая версия', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'artstore-discovery-fallback-'));
    cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
    const port = await freePort();
    let redis = await startRedis(port);
    cleanup.defer(() => kill(redis));
    const url = `redis://127.0.0.1:${port}`;
    const keyPrefix = uniqueTestPrefix('fallback');
    // Каждый клиент — со своим соединением, как отдельный процесс ingester или query.
    const connectRedis = (): Coordination => {
      const coordination = createRedisCoordination({ url, keyPrefix, onError: () => undefined });
      // Закрываются в конце, когда Redis снова жив: QUIT к мёртвому серверу ждал бы переподключения.
      cleanup.defer(() => coordination.close());
      return coordination;
    };
    const cacheFile = join(workDir, 'discovery', 'query-module.json');
    const startClient = async (): Promise<DiscoveryClient> => {
      const client = createDiscoveryClient({
        coordination: connectRedis(),
        cacheFile,
        staticElements: STATIC,
        logger: createLogger({ level: 'silent' }),
        refreshIntervalMs: 200,
        timeoutMs: 500,
      });
      cleanup.defer(() => client.close());
      await client.start();
      return client;
    };
    const publisher = connectRedis();

    const following = await startClient();
    await publishDiscoveryDocument(publisher, document(1, 'se-one'));
    await waitFor(
      'версия 1 из Redis',
      () => following.status(),
      (s) => s.version === 1 && s.source === 'coordination',
      { timeoutMs: 15_000 },
    );

    await kill(redis);
    await following.refresh();
    const stale = following.status();
    assert.deepEqual([stale.source, stale.version], ['file', 1], JSON.stringify(stale));
    assert.match(stale.coordination_error ?? '', /нет ответа/);
    assert.equal(following.current().storage_elements[0]!.id, 'se-one', 'служит последним документом');
    await following.close();

    const started = performance.now();
    const fromFile = await startClient();
    const startMs = performance.now() - started;
    assert.deepEqual([fromFile.source, fromFile.current().version], ['file', 1]);
    assert.ok(startMs < 5000, `старт без Redis не должен ждать его: ${startMs.toFixed(0)} мс`);
    await fromFile.close();

    await rm(cacheFile);
    const fromConfig = await startClient();
    assert.deepEqual(fromConfig.status().source, 'static');
    assert.deepEqual(
      fromConfig.current().storage_elements.map((e) => e.id),
      ['se-static'],
    );

    redis = await startRedis(port);
    // Redis без сохранения вернулся пустым; лидер admin публикует заново — здесь это делает тест.
    await publishDiscoveryDocument(publisher, document(2, 'se-two'));
    const resumed = await waitFor(
      'версия 2 после возврата Redis',
      () => fromConfig.status(),
      (s) => s.version === 2 && s.source === 'coordination',
      { timeoutMs: 15_000 },
    );
    assert.equal(resumed.coordination_error, undefined);
    assert.equal(fromConfig.current().storage_elements[0]!.id, 'se-two');
  });
});
