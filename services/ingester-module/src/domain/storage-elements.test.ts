// Клиенты SE следуют за документом обнаружения в момент выбора (SPEC IN-7, AD-8): тот же адрес — тот же
// клиент (автомат защиты не сбрасывается новой версией документа), новый адрес — новый клиент, SE исчез —
// его клиент закрыт.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '@artstore/core';
import { createStorageElementPool } from './storage-elements.js';

// Порт 9 (discard) никто не слушает: закрытый клиент отказывает сам, до соединения.
const A = { id: 'se-a', url: 'http://127.0.0.1:9/a', priority: 1 };
const B = { id: 'se-b', url: 'http://127.0.0.1:9/b', priority: 2 };

describe('createStorageElementPool', () => {
  it('тот же адрес — тот же клиент; порядок и поля элементов сохраняются', async () => {
    const pool = createStorageElementPool(createLogger({ level: 'silent' }));
    try {
      const [a1, b1] = pool.withClients([A, B]);
      const [b2, a2] = pool.withClients([B, { ...A, priority: 7 }]);
      assert.equal(a2!.client, a1!.client);
      assert.equal(b2!.client, b1!.client);
      assert.deepEqual([a2!.id, a2!.priority, a2!.client.name], ['se-a', 7, 'se-a']);
    } finally {
      await pool.close();
    }
  });

  it('сменился адрес — новый клиент, прежний закрыт; SE исчез из документа — его клиент закрыт', async () => {
    const pool = createStorageElementPool(createLogger({ level: 'silent' }));
    try {
      const [a1, b1] = pool.withClients([A, B]);
      const [a2] = pool.withClients([{ ...A, url: 'http://127.0.0.1:9/a2' }]);
      assert.notEqual(a2!.client, a1!.client);
      for (const closed of [a1!.client, b1!.client]) {
        await assert.rejects(
          closed.request('GET', '/health/live'),
          (error: Error) => /closed|destroyed/i.test(error.message),
          closed.name,
        );
      }
      const [b3] = pool.withClients([B]);
      assert.notEqual(b3!.client, b1!.client, 'вернувшийся SE получает новый клиент');
    } finally {
      await pool.close();
    }
  });
});
