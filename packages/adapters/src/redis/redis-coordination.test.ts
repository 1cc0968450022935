import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { isArtError } from '@artstore/core';
import { assertTooMany, coordinationContract, freePort, rateLimitContract, startLimitedApp } from '@artstore/core/testing';
import { deleteKeysWithPrefix, testRedisUrl, uniqueTestPrefix } from '../testing/redis-test-prefix.js';
import { createRedisCoordination } from './redis-coordination.js';

const url = testRedisUrl();
const keyPrefix = uniqueTestPrefix('coord');

coordinationContract('redis', () => Promise.resolve(createRedisCoordination({ url, keyPrefix })));
rateLimitContract('redis', () => Promise.resolve(createRedisCoordination({ url, keyPrefix })));

void describe('redis coordination: особенности адаптера', () => {
  void it('кладёт ключи под keyPrefix, а ключи аренды — в один hash tag', async () => {
    const coordination = createRedisCoordination({ url, keyPrefix });
    const raw = new Redis(url);
    try {
      await coordination.set('visible', 'v');
      assert.equal(await raw.get(`${keyPrefix}kv:visible`), 'v');
      const lease = await coordination.acquireLease('slot', 'A', 5000);
      assert.ok(lease);
      assert.equal(await raw.get(`${keyPrefix}lease:{slot}`), `A|${lease.token}`);
      assert.equal(await raw.get(`${keyPrefix}lease:{slot}:epoch`), String(lease.token));
      await coordination.releaseLease(lease);
      // Счётчик выдач переживает освобождение аренды: иначе токен пошёл бы назад.
      assert.equal(await raw.get(`${keyPrefix}lease:{slot}`), null);
      assert.equal(await raw.get(`${keyPrefix}lease:{slot}:epoch`), String(lease.token));
    } finally {
      await Promise.all([coordination.close(), raw.quit()]);
    }
  });

  void it('переживает сброс кэша скриптов на сервере (как после рестарта или failover)', async () => {
    const coordination = createRedisCoordination({ url, keyPrefix });
    const raw = new Redis(url);
    try {
      const first = await coordination.acquireLease('flush', 'A', 5000);
      assert.ok(first);
      await raw.script('FLUSH');
      const renewed = await coordination.renewLease(first);
      assert.equal(renewed?.token, first.token);
      await coordination.releaseLease(first);
      const second = await coordination.acquireLease('flush', 'B', 5000);
      assert.ok(second && second.token > first.token);
      await coordination.releaseLease(second);
    } finally {
      await Promise.all([coordination.close(), raw.quit()]);
    }
  });

  void it('increment кладёт счётчик под keyPrefix рядом с обычными ключами, со сроком', async () => {
    const coordination = createRedisCoordination({ url, keyPrefix });
    const raw = new Redis(url);
    try {
      await coordination.increment('hits', 5000);
      await coordination.increment('hits', 5000);
      assert.equal(await raw.get(`${keyPrefix}kv:hits`), '2');
      const ttl = await raw.pttl(`${keyPrefix}kv:hits`);
      assert.ok(ttl > 0 && ttl <= 5000, `PTTL ${ttl}`);
    } finally {
      await Promise.all([coordination.close(), raw.quit()]);
    }
  });

  void it('Redis недоступен: ограничение частоты пропускает субъекты токенов, а адреса считает в памяти', async () => {
    // Порт, на котором никто не слушает: ioredis держит команды в очереди переподключения.
    const down = createRedisCoordination({ url: `redis://127.0.0.1:${await freePort()}`, keyPrefix, onError: () => undefined });
    const { app, hit } = await startLimitedApp(down, { maxAnonymous: 2, maxAuthenticated: 1, storeTimeoutMs: 100 });
    try {
      assert.equal((await hit({ ip: '192.0.2.5' })).statusCode, 200);
      assert.equal((await hit({ ip: '192.0.2.5' })).statusCode, 200);
      assertTooMany(await hit({ ip: '192.0.2.5' }), 'RATE_LIMITED', 60);
      for (let i = 0; i < 3; i++) assert.equal((await hit({ ip: '192.0.2.5', url: '/api/things', token: 'good-alice' })).statusCode, 200);
    } finally {
      await app.close();
      await down.close().catch(() => undefined);
    }
  });

  void it('требует ровно одно из url / cluster', () => {
    assert.throws(() => createRedisCoordination({ keyPrefix }), (e) => isArtError(e, 'CONFIG_INVALID'));
    assert.throws(
      () => createRedisCoordination({ url, cluster: [{ host: '127.0.0.1', port: 7000 }], keyPrefix }),
      (e) => isArtError(e, 'CONFIG_INVALID'),
    );
  });
});

after(async () => {
  await deleteKeysWithPrefix(url, keyPrefix);
});
