// Онлайн-сверка кеша SE с attr-файлами (SPEC SE-6, BY-2): POST /api/maintenance/rebuild.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { changes, uploadOk } from './stack.js';
import { expectProblem, startSe, type RunningSe } from './helpers.js';

describe('storage-element: сверка кеша с attr-файлами', () => {
  let se: RunningSe;
  let admin: string;

  before(async () => {
    se = await startSe();
    admin = await se.token(['admin']);
  });
  after(() => se.stop());

  const rebuild = (query: string, token = admin) =>
    fetch(`${se.url}/api/maintenance/rebuild${query}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

  it('кеш очищен: dry-run показывает разницу и ничего не меняет, применение возвращает записи', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await uploadOk(se, `данные ${i}`, { token: admin, name: `Акт ${i}.txt` })).id);
    const before = (await changes(se, admin, 'after=0')).changes.map((c) => JSON.stringify(c.record)).sort();
    await se.db.query('delete from se_files');

    const dry = await rebuild('');
    assert.equal(dry.status, 200);
    const plan = (await dry.json()) as { dry_run: boolean; missing: number; diff: { missing: string[] } };
    assert.equal(plan.dry_run, true);
    assert.equal(plan.missing, 3);
    assert.deepEqual([...plan.diff.missing].sort(), [...ids].sort());
    assert.equal((await changes(se, admin, 'after=0')).changes.length, 0);

    const applied = (await (await rebuild('?dry_run=false')).json()) as { dry_run: boolean; missing: number };
    assert.deepEqual([applied.dry_run, applied.missing], [false, 3]);
    const afterRebuild = (await changes(se, admin, 'after=0')).changes.map((c) => JSON.stringify(c.record)).sort();
    assert.deepEqual(afterRebuild, before);
  });

  it('только storage:manage', async () => {
    await expectProblem(await rebuild('', await se.token(['uploader'])), 403, 'FORBIDDEN');
  });
});
