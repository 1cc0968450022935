// Два узла SE над одним хранилищем, одной БД и одной координацией (SPEC SE-12): пишет мастер,
// не-мастер отвечает 307 на мастера до чтения тела; мастер ушёл — роль за 1 TTL переходит ко второму,
// тот воспроизводит журнал ушедшего и пишет с новой эпохой; чтение работает на любом узле.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createInProcessCoordination, createPgliteDatabase } from '@artstore/adapters';
import { type Coordination, type Database } from '@artstore/core';
import { createTestTokenIssuer, type TestTokenIssuer } from '@artstore/core/testing';
import { createEpochStore } from '../src/store/epochs.js';
import { startTestStorageElement, uploadOk, type TestStorageElement } from './stack.js';
import { ELEMENT_ID, expectProblem, waitFor } from './helpers.js';

const LEASE_TTL = 1000;

describe('storage-element: выборы мастера над общим хранилищем', () => {
  let root: string;
  let db: Database;
  let coordination: Coordination;
  let issuer: TestTokenIssuer;
  let token: string;
  const nodes = new Map<string, TestStorageElement>();
  // fetch сам прошёл бы по 307 (и снял бы Authorization при смене источника): ответ узла смотрим как есть.

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'artstore-se-election-'));
    db = await createPgliteDatabase();
    coordination = createInProcessCoordination();
    issuer = await createTestTokenIssuer();
    token = await issuer.mint({ roles: ['admin'], name: 'admin' });
  });
  after(async () => {
    for (const node of nodes.values()) await node.close();
    await coordination.close();
    await db.close();
    await issuer.close();
    await rm(root, { recursive: true, force: true });
  });

  async function startNode(nodeId: string): Promise<TestStorageElement> {
    const node = await startTestStorageElement({
      elementId: ELEMENT_ID,
      issuer,
      // Узлы делят data_dir (ключ подписи attr) и корень хранилища, как узлы над общим NFS.
      dataDir: join(root, 'data'),
      basePath: join(root, 'store'),
      shared: { db, tablePrefix: 'se_', coordination },
      storage: { node_id: nodeId, election: { enabled: true, lease_ttl: LEASE_TTL } },
    });
    nodes.set(nodeId, node);
    return node;
  }

  /** Загрузка без перехода по 307: принимает ли запись сам этот узел. */
  const post = (node: TestStorageElement, body: string) =>
    fetch(`${node.url}/api/files`, {
      method: 'POST',
      redirect: 'manual',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'artstore-name': 'x.txt' },
      body,
    });
  const canWrite = async (node: TestStorageElement) => (await post(node, 'проба')).status === 201;

  it('пишет только мастер; не-мастер перенаправляет на него; роль переходит после ухода мастера', async () => {
    const a = await startNode('node-a');
    await waitFor('node-a стал мастером', () => canWrite(a), LEASE_TTL * 5);
    const b = await startNode('node-b');
    const epochs = createEpochStore(db, 'se_');
    const epochA = (await epochs.current()).epoch;

    const redirected = await post(b, 'тело не читается');
    await expectProblem(redirected, 307, 'SE_NOT_MASTER');
    const location = redirected.headers.get('location');
    assert.ok(location?.startsWith(`${a.url}/api/files`), `Location: ${location}`);
    const viaMaster = await fetch(location!, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'artstore-name': encodeURIComponent('Договор.txt') },
      body: 'тело по перенаправлению',
    });
    assert.equal(viaMaster.status, 201);
    const stored = (await viaMaster.json()) as { id: string };
    // Чтение — на любом узле: кеш и хранилище общие.
    const read = await fetch(`${b.url}/api/files/${stored.id}/content`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(await read.text(), 'тело по перенаправлению');
    // Правка и удаление на не-мастере тоже перенаправляются.
    const patch = await fetch(`${b.url}/api/files/${stored.id}`, {
      method: 'PATCH',
      redirect: 'manual',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'if-match': '"v1"' },
      body: JSON.stringify({ description: 'x' }),
    });
    await expectProblem(patch, 307, 'SE_NOT_MASTER');

    const leftAt = performance.now();
    await a.close();
    nodes.delete('node-a');
    await waitFor('node-b стал мастером', () => canWrite(b), LEASE_TTL * 5);
    const tookMs = performance.now() - leftAt;
    assert.ok(tookMs < LEASE_TTL * 3, `роль перешла за ${tookMs.toFixed(0)} мс`);
    assert.ok((await epochs.current()).epoch > epochA, 'у нового мастера новая эпоха');
    const later = await uploadOk(b, 'после смены мастера', { token, name: 'после.txt' });
    assert.match(later.id, /^[0-9a-f-]{36}$/);
    const first = await fetch(`${b.url}/api/files/${stored.id}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(first.status, 200, 'файл, записанный прежним мастером, на месте');
  });
});
