// Правка метаданных на SE (SPEC IN-8, SE-2): If-Match по версии, 412 при гонке — ровно одна правка
// из одновременных побеждает; attr на диске всегда целиком старый или новый и подписан.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyAttrSignature } from '../src/domain/attr-signing.js';
import type { LayoutDescription } from '../src/domain/layout.js';
import { changes, uploadOk } from './stack.js';
import { expectProblem, startSe, type RunningSe } from './helpers.js';

describe('storage-element: правка метаданных', () => {
  let se: RunningSe;
  let token: string;

  before(async () => {
    se = await startSe();
    token = await se.token(['uploader', 'indexer']);
  });
  after(() => se.stop());

  const patch = (id: string, body: unknown, ifMatch?: string) =>
    fetch(`${se.url}/api/files/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(ifMatch ? { 'if-match': ifMatch } : {}) },
      body: JSON.stringify(body),
    });

  async function attrOnDisk(path: string) {
    const attr = JSON.parse(await readFile(join(se.basePath, `${path}.attr.json`), 'utf8')) as { version: number; vector_clock: Record<string, number>; metadata: { description: string; tags: string[] } };
    const layout = JSON.parse(await readFile(join(se.basePath, 'artstore_layout.json'), 'utf8')) as LayoutDescription;
    assert.equal(verifyAttrSignature(attr, layout.signing_keys), 'valid');
    return attr;
  }

  it('ETag версии, 428 без If-Match, правка с версией, 412 на устаревшей', async () => {
    const file = await uploadOk(se, 'текст', { token, name: 'Договор.txt', metadata: { description: 'старое', tags: ['a'] } });
    const record = await fetch(`${se.url}/api/files/${file.id}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(record.headers.get('etag'), '"v1"');

    await expectProblem(await patch(file.id, { description: 'новое' }), 428, 'PRECONDITION_REQUIRED');
    const ok = await patch(file.id, { description: 'новое' }, '"v1"');
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal(ok.headers.get('etag'), '"v2"');
    const updated = (await ok.json()) as { version: number; metadata: { description: string; tags: string[] } };
    assert.equal(updated.version, 2);
    assert.deepEqual(updated.metadata.tags, ['a'], 'непереданные поля сохраняются');
    assert.equal(updated.metadata.description, 'новое');

    const onDisk = await attrOnDisk(file.path);
    assert.equal(onDisk.version, 2);
    assert.deepEqual(onDisk.vector_clock, { 'se-test': 2 });

    const stale = await expectProblem(await patch(file.id, { tags: ['b'] }, '"v1"'), 412, 'PRECONDITION_FAILED');
    assert.equal(stale.current_version, 2);
    await expectProblem(await patch(file.id, { unknown: 1 }, '"v2"'), 400, 'VALIDATION_FAILED');
    const feed = await changes(se, token, 'after=0');
    assert.equal(feed.changes.find((c) => c.record.id === file.id)?.record.version, 2, 'лента отдаёт новую версию');
  });

  it('10 одновременных правок одной версии: ровно одна 200, остальные 412; attr целый', async () => {
    const file = await uploadOk(se, 'x', { token, name: 'Гонка.txt' });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => patch(file.id, { description: `правка ${i}` }, '"v1"')),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, ...Array<number>(9).fill(412)]);
    const winner = (await results.find((r) => r.status === 200)!.json()) as { metadata: { description: string } };
    const onDisk = await attrOnDisk(file.path);
    assert.equal(onDisk.version, 2);
    assert.equal(onDisk.metadata.description, winner.metadata.description);
  });
});
