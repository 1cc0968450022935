// Транзакции записи в работе (SPEC AD-10): пока загрузка идёт, её intent в WAL виден в
// GET /api/transactions; после фиксации — пропадает; смотреть — storage:manage на этом SE.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SourceTransactions } from '@artstore/contracts';
import { ELEMENT_ID, expectProblem, getJson, startSe, streamUpload, waitFor, type RunningSe } from './helpers.js';

describe('storage-element: транзакции в работе', () => {
  let se: RunningSe;
  let admin: string;

  before(async () => {
    se = await startSe();
    admin = await se.token(['admin']);
  });
  after(() => se.stop());

  const list = () => getJson<SourceTransactions>(se, '/api/transactions', admin);

  it('незавершённая загрузка видна с файлом и временем начала; после фиксации список пуст', async () => {
    assert.deepEqual((await list()).transactions, []);
    let release!: () => void;
    const paused = new Promise<void>((resolve) => (release = resolve));
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.from('первая половина ');
      await paused;
      yield Buffer.from('вторая половина');
    }
    const uploading = streamUpload(se, admin, 'долгий.txt', body());

    let open: SourceTransactions['transactions'] = [];
    await waitFor('intent загрузки в WAL', async () => {
      open = (await list()).transactions;
      return open.length === 1;
    });
    const [tx] = open;
    assert.equal(tx!.kind, 'se.put');
    assert.equal(tx!.service, 'storage-element');
    assert.equal(tx!.source, ELEMENT_ID);
    assert.equal(tx!.state, 'in_progress');
    assert.ok(Math.abs(Date.parse(tx!.started_at) - Date.now()) < 60_000);

    release();
    const result = await uploading;
    assert.equal(result.status, 201, result.body);
    const stored = JSON.parse(result.body) as { id: string };
    assert.equal(tx!.file_id, stored.id);
    assert.deepEqual((await list()).transactions, []);
  });

  it('без storage:manage на этом SE — 403: роль uploader и грант operator на другой SE не помогают', async () => {
    const uploader = await se.token(['uploader']);
    const otherSe = await se.issuer.mint({ roles: [], grants: ['operator@se:se-other'] });
    const thisSe = await se.issuer.mint({ roles: [], grants: [`operator@se:${ELEMENT_ID}`] });
    for (const token of [uploader, otherSe]) {
      await expectProblem(
        await fetch(`${se.url}/api/transactions`, { headers: { authorization: `Bearer ${token}` } }),
        403,
        'FORBIDDEN',
      );
    }
    assert.equal((await fetch(`${se.url}/api/transactions`, { headers: { authorization: `Bearer ${thisSe}` } })).status, 200);
  });
});
