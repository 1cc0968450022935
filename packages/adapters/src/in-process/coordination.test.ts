import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { coordinationContract, rateLimitContract } from '@artstore/core/testing';
import { createInProcessCoordination, createInProcessCoordinationStore } from './coordination.js';

// Все дескрипторы набора — над одним хранилищем, как процессы над одним Redis.
const store = createInProcessCoordinationStore();
coordinationContract('in-process', () => Promise.resolve(createInProcessCoordination({ store })));
rateLimitContract('in-process', () => Promise.resolve(createInProcessCoordination({ store })));

void describe('in-process coordination: особенности реализации', () => {
  void it('дескрипторы с разными хранилищами не видят друг друга', async () => {
    const a = createInProcessCoordination();
    const b = createInProcessCoordination();
    await a.set('k', 'v');
    assert.equal(await b.get('k'), null);
    assert.ok(await a.acquireLease('l', 'A', 5000));
    assert.ok(await b.acquireLease('l', 'B', 5000));
    await Promise.all([a.close(), b.close()]);
  });

  void it('исключение обработчика уходит в onError и не мешает другим подписчикам', async () => {
    const errors: unknown[] = [];
    const coordination = createInProcessCoordination({ onError: (e) => errors.push(e) });
    const got: string[] = [];
    await coordination.subscribe('ch', () => {
      throw new Error('сбой обработчика');
    });
    await coordination.subscribe('ch', (m) => got.push(m));
    await coordination.publish('ch', 'm');
    await sleep(20);
    assert.deepEqual(got, ['m']);
    assert.equal(errors.length, 1);
    await coordination.close();
  });

  void it('close() одного дескриптора снимает только его подписки', async () => {
    const shared = createInProcessCoordinationStore();
    const [a, b] = [createInProcessCoordination({ store: shared }), createInProcessCoordination({ store: shared })];
    const got: string[] = [];
    await a.subscribe('ch', (m) => got.push(`a:${m}`));
    await b.subscribe('ch', (m) => got.push(`b:${m}`));
    await a.close();
    await b.publish('ch', 'm');
    await sleep(20);
    assert.deepEqual(got, ['b:m']);
    await b.close();
  });
});
