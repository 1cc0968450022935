// Режимы SE (SPEC SE-7) через HTTP: матрица операций, переходы только rw→ro→ar через API, отказ
// называет режим и операцию; в архиве выдача — если байты здесь, иначе FILE_ARCHIVED.
import assert from 'node:assert/strict';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { upload, uploadOk } from './stack.js';
import { expectProblem, startSe, type RunningSe } from './helpers.js';

describe('storage-element: режимы', () => {
  let se: RunningSe;
  let admin: string;

  before(async () => {
    se = await startSe({ mode: 'rw' });
    admin = await se.token(['admin']);
  });
  after(() => se.stop());

  const setMode = (mode: string, token = admin) =>
    fetch(`${se.url}/api/mode`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mode }),
    });
  const content = (id: string) => fetch(`${se.url}/api/files/${id}/content`, { headers: { authorization: `Bearer ${admin}` } });

  it('rw → ro → ar; запись запрещена с ясной ошибкой; чтение работает; архив без байтов — FILE_ARCHIVED', async () => {
    const kept = await uploadOk(se, 'остаётся', { token: admin, name: 'a.txt' });
    const moved = await uploadOk(se, 'уедет в холодное хранение', { token: admin, name: 'b.txt' });
    const state = (await (await fetch(`${se.url}/api/mode`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { mode: string; allowed_operations: string[] };
    assert.equal(state.mode, 'rw');
    assert.ok(!state.allowed_operations.includes('delete'));

    await expectProblem(await setMode('ro', await se.token(['uploader'])), 403, 'FORBIDDEN');
    await expectProblem(await setMode('edit'), 409, 'MODE_TRANSITION_FORBIDDEN');
    await expectProblem(await setMode('ar'), 409, 'MODE_TRANSITION_FORBIDDEN');
    assert.equal((await setMode('ro')).status, 200);

    const refused = await expectProblem(await upload(se, 'x', { token: admin, name: 'c.txt' }), 409, 'MODE_FORBIDS_OPERATION');
    assert.equal(refused.mode, 'ro');
    assert.equal(refused.operation, 'create');
    assert.match(String(refused.detail), /ro/);
    assert.equal(await (await content(kept.id)).text(), 'остаётся');

    await expectProblem(await setMode('rw'), 409, 'MODE_TRANSITION_FORBIDDEN');
    assert.equal((await setMode('ar')).status, 200);
    await expectProblem(await setMode('ro'), 409, 'MODE_TRANSITION_FORBIDDEN');

    await unlink(join(se.basePath, moved.path));
    await expectProblem(await content(moved.id), 409, 'FILE_ARCHIVED');
    assert.equal(await (await content(kept.id)).text(), 'остаётся');
    const record = await fetch(`${se.url}/api/files/${moved.id}`, { headers: { authorization: `Bearer ${admin}` } });
    assert.equal(record.status, 200, 'метаданные в архиве доступны');
    await expectProblem(await upload(se, 'x', { token: admin, name: 'd.txt' }), 409, 'MODE_FORBIDS_OPERATION');
  });
});
