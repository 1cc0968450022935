// Координация поверх настоящего Redis Cluster (SPEC HA-5: 3 мастера + 3 реплики): те же контрактные
// наборы, что для standalone, и то, что бывает только в кластере, — слоты, failover шарда, уборка
// ключей по всем мастерам. Кластер свой на файл, останавливается после.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, describe, it } from 'node:test';
import type { Coordination } from '@artstore/core';
import { coordinationContract, rateLimitContract, waitFor } from '@artstore/core/testing';
import { startTestRedisCluster } from '../testing/redis-cluster.js';
import { deleteKeysWithPrefix, uniqueTestPrefix } from '../testing/redis-test-prefix.js';
import { createRedisCoordination } from './redis-coordination.js';

const cluster = await startTestRedisCluster();
after(() => cluster.stop());
const keyPrefix = uniqueTestPrefix('coord-cluster');
const factory = (): Promise<Coordination> =>
  Promise.resolve(createRedisCoordination({ cluster: cluster.nodes, keyPrefix }));

coordinationContract('redis cluster', factory);
rateLimitContract('redis cluster', factory);

void describe('redis coordination в Redis Cluster', () => {
  const opened: Coordination[] = [];
  const open = async (): Promise<Coordination> => {
    const handle = await factory();
    opened.push(handle);
    return handle;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((handle) => handle.close()));
  });

  void it('failover шарда: подписка, аренда с её скриптами и счётчиком продолжают работать на новом мастере', async () => {
    const [publisher, subscriber] = [await open(), await open()];
    const lease = `lease-${randomUUID()}`;
    // Канал с hash tag имени аренды — в том же слоте, что её ключи: один failover проверяет и то и другое.
    const channel = `{${lease}}`;
    const got: string[] = [];
    await subscriber.subscribe(channel, (message) => got.push(message));
    const held = await publisher.acquireLease(lease, 'A', 60_000);
    assert.ok(held);
    await publisher.publish(channel, 'до');
    await waitFor(
      'сообщение до failover',
      () => got.length,
      (n) => n === 1,
    );

    await cluster.failover(`${keyPrefix}lease:{${lease}}`);
    // Новый мастер не видел скриптов (реплика получает их действия, а не EVAL): работает запасной EVAL.
    const renewed = await publisher.renewLease(held);
    assert.equal(renewed?.token, held.token, 'аренда пережила failover с прежним токеном');
    assert.equal(await subscriber.acquireLease(lease, 'B', 5000), null, 'занятая аренда не выдаётся другому');
    await publisher.releaseLease(held);
    const next = await subscriber.acquireLease(lease, 'B', 5000);
    assert.ok(next && next.token > held.token, 'счётчик выдач перешёл на новый мастер');
    // Сообщение в момент переключения может потеряться (см. redis-coordination.ts) — публикуем, пока не
    // дойдёт, и требуем, чтобы после первого дошедшего доходили все и по порядку. Подписку у нового
    // мастера ioredis восстанавливает после обновления карты слотов; на загруженной машине CI это однажды
    // заняло больше 10 с — срок 30 с.
    await waitFor(
      'сообщение после failover',
      async () => {
        await publisher.publish(channel, 'после');
        return got.includes('после');
      },
      Boolean,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const sent = Array.from({ length: 20 }, (_, i) => `ещё ${i}`);
    for (const message of sent) await publisher.publish(channel, message);
    await waitFor(
      'сообщения после failover',
      () => got.slice(-sent.length),
      (tail) => tail.length === sent.length && tail.every((m, i) => m === sent[i]),
    );
    await subscriber.releaseLease(next);
  });

  void it("имя аренды, начинающееся с '}', отвергается: пустой hash tag развёл бы её ключи по слотам", async () => {
    const coordination = await open();
    await assert.rejects(coordination.acquireLease('}leader', 'A', 1000), RangeError);
    const ok = await coordination.acquireLease('leader}', 'A', 1000);
    assert.ok(ok);
    await coordination.releaseLease(ok);
  });

  void it('deleteKeysWithPrefix обходит все мастера и удаляет ключи из разных слотов', async () => {
    const prefix = uniqueTestPrefix('cleanup');
    const coordination = createRedisCoordination({ cluster: cluster.nodes, keyPrefix: prefix });
    opened.push(coordination);
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((key) => coordination.set(key, 'v')));
    assert.equal(await deleteKeysWithPrefix(cluster.nodes, prefix), keys.length);
    assert.deepEqual(
      await Promise.all(keys.map((key) => coordination.get(key))),
      keys.map(() => null),
    );
  });
});
