// Удаление на SE (SPEC SE-9, BY-4, IN-5): срок хранения соблюдается, досрочно — только администратор
// с явным override; удаление оставляет подписанное надгробие, байты стирает фоновая очистка.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyAttrSignature } from '../src/domain/attr-signing.js';
import type { LayoutDescription } from '../src/domain/layout.js';
import { changes, uploadOk } from './stack.js';
import { expectProblem, startSe, waitFor, type RunningSe } from './helpers.js';

describe('storage-element: удаление и срок хранения', () => {
  let se: RunningSe;
  before(async () => {
    se = await startSe({ retention: '30d' });
  });
  after(() => se.stop());

  const remove = async (id: string, roles: string[], query: string) =>
    fetch(`${se.url}/api/files/${id}${query}`, { method: 'DELETE', headers: { authorization: `Bearer ${await se.token(roles, { name: roles.join('-') })}` } });

  it('до срока — отказ; досрочно — только администратор; надгробие подписано; байты стираются очисткой', async () => {
    const admin = await se.token(['admin']);
    const file = await uploadOk(se, 'секретный договор', { token: admin, name: 'Договор.pdf' });
    const days = (Date.parse(file.retention_until!) - Date.parse(file.created_at)) / 86_400_000;
    assert.equal(days, 30);

    await expectProblem(await remove(file.id, ['admin'], ''), 400, 'VALIDATION_FAILED');
    await expectProblem(await remove(file.id, ['uploader'], '?reason=x'), 403, 'FORBIDDEN');
    const retained = await expectProblem(await remove(file.id, ['operator'], '?reason=x'), 409, 'RETENTION_ACTIVE');
    assert.equal(retained.retention_until, file.retention_until);
    await expectProblem(await remove(file.id, ['operator'], '?reason=x&override_retention=true'), 403, 'FORBIDDEN');

    const deleted = await remove(file.id, ['admin'], `?reason=${encodeURIComponent('ошибочная загрузка')}&override_retention=true`);
    assert.equal(deleted.status, 200, await deleted.clone().text());
    const tombstone = (await deleted.json()) as { status: string; version: number; deletion: { by: string; reason: string; sha256: string; retention_overridden: boolean } };
    assert.equal(tombstone.status, 'deleted');
    assert.equal(tombstone.version, 2);
    assert.deepEqual(
      { by: tombstone.deletion.by, reason: tombstone.deletion.reason, sha256: tombstone.deletion.sha256, overridden: tombstone.deletion.retention_overridden },
      { by: 'admin', reason: 'ошибочная загрузка', sha256: file.sha256, overridden: true },
    );
    const content = await fetch(`${se.url}/api/files/${file.id}/content`, { headers: { authorization: `Bearer ${admin}` } });
    await expectProblem(content, 404, 'FILE_NOT_FOUND');
    await expectProblem(await remove(file.id, ['admin'], '?reason=again&override_retention=true'), 404, 'FILE_NOT_FOUND');

    const dataPath = join(se.basePath, file.path);
    await waitFor('очистка байтов', async () => !(await stat(dataPath).then(() => true, () => false)));
    type Tombstone = { status: string; deletion: { purged_at: string | null } };
    const readTombstone = async () => JSON.parse(await readFile(`${dataPath}.attr.json`, 'utf8')) as Tombstone;
    await waitFor('отметка purged_at', async () => (await readTombstone()).deletion.purged_at !== null);
    const final = await readTombstone();
    const layout = JSON.parse(await readFile(join(se.basePath, 'artstore_layout.json'), 'utf8')) as LayoutDescription;
    assert.equal(verifyAttrSignature(final, layout.signing_keys), 'valid');
    assert.equal(final.status, 'deleted');

    const feed = await changes(se, admin, 'after=0');
    assert.equal(feed.changes.find((c) => c.record.id === file.id)?.record.status, 'deleted', 'надгробие в ленте изменений');
  });
});
