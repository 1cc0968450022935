// Проверка целостности по запросу (SPEC QR-7) и проверка подписи на путях чтения (SPEC SE-2, BY-8).
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { uploadOk } from './stack.js';
import { expectProblem, startSe, type RunningSe } from './helpers.js';
import { flipByte, readStoredAttr, verify, verifyOk, writeStoredAttr } from './integrity-fixture.js';

describe('storage-element: проверка целостности', () => {
  let se: RunningSe;
  let admin: string;
  let reader: string;

  before(async () => {
    se = await startSe({ storage: { scrub: { enabled: false }, reconcile: { enabled: false } } });
    admin = await se.token(['admin']);
    reader = await se.token(['reader']);
  });
  after(() => se.stop());

  const failedChecks = (report: { checks: Array<{ name: string; ok: boolean }> }) =>
    report.checks.filter((c) => !c.ok).map((c) => c.name).sort();

  it('целый файл: ok, все проверки пройдены; хватает права files:read', async () => {
    const file = await uploadOk(se, 'целый', { token: admin, name: 'ok.txt' });
    const report = await verifyOk(se, file.id, reader);
    assert.equal(report.verdict, 'ok');
    assert.equal(report.id, file.id);
    assert.equal(report.status, 'active');
    assert.deepEqual(report.checks.map((c) => c.name).sort(), ['attr_file', 'attr_signature', 'cache_row', 'cache_signature', 'data_file', 'sha256', 'size']);
    assert.deepEqual(failedChecks(report), []);
    assert.ok(Date.parse(report.checked_at) > 0);
  });

  it('перевёрнутый байт — corrupted: sha256 не совпал, размер тот же', async () => {
    const file = await uploadOk(se, 'будет испорчен', { token: admin, name: 'flip.txt' });
    await flipByte(se, file.path);
    const report = await verifyOk(se, file.id, reader);
    assert.equal(report.verdict, 'corrupted');
    assert.deepEqual(failedChecks(report), ['sha256']);
    const sha = report.checks.find((c) => c.name === 'sha256')!;
    assert.equal(sha.expected, file.sha256);
    assert.notEqual(sha.actual, file.sha256);
  });

  it('нет байтов — missing', async () => {
    const file = await uploadOk(se, 'пропадёт', { token: admin, name: 'gone.txt' });
    await rm(join(se.basePath, file.path));
    const report = await verifyOk(se, file.id, reader);
    assert.equal(report.verdict, 'missing');
    assert.deepEqual(failedChecks(report), ['data_file']);
  });

  it('изменённый attr-файл — signature_invalid и расхождение с кешем; выдача записи из кеша не затронута', async () => {
    const file = await uploadOk(se, 'attr подделают', { token: admin, name: 'attr.txt' });
    const attr = await readStoredAttr(se, file.path);
    await writeStoredAttr(se, { ...attr, retention_until: '2000-01-01T00:00:00.000Z' });
    const report = await verifyOk(se, file.id, reader);
    assert.equal(report.verdict, 'signature_invalid');
    assert.deepEqual(failedChecks(report), ['attr_signature', 'cache_row']);
    assert.equal(report.checks.find((c) => c.name === 'attr_signature')!.actual, 'invalid');
    const metadata = await fetch(`${se.url}/api/files/${file.id}`, { headers: { authorization: `Bearer ${reader}` } });
    assert.equal(metadata.status, 200);
  });

  it('подделанная строка кеша: метаданные, байты и правка отказывают ATTR_SIGNATURE_INVALID, verify видит подделку', async () => {
    const file = await uploadOk(se, 'строку подделают', { token: admin, name: 'row.txt' });
    await se.db.query(`update se_files set attr = jsonb_set(attr, '{original_name}', '"чужое.txt"') where id = $1`, [file.id]);
    const auth = { authorization: `Bearer ${admin}` };

    const problem = await expectProblem(await fetch(`${se.url}/api/files/${file.id}`, { headers: auth }), 409, 'ATTR_SIGNATURE_INVALID');
    assert.equal(problem.signature, 'invalid');
    await expectProblem(await fetch(`${se.url}/api/files/${file.id}/content`, { headers: auth }), 409, 'ATTR_SIGNATURE_INVALID');
    // Правка не переподписывает подделку (replaceAttr проверяет текущую версию).
    const patch = await fetch(`${se.url}/api/files/${file.id}`, {
      method: 'PATCH',
      headers: { ...auth, 'content-type': 'application/json', 'if-match': `"v${file.version}"` },
      body: JSON.stringify({ description: 'узаконить' }),
    });
    await expectProblem(patch, 409, 'ATTR_SIGNATURE_INVALID');
    assert.equal((await readStoredAttr(se, file.path)).version, file.version, 'attr-файл не тронут');

    const report = await verifyOk(se, file.id, reader);
    assert.equal(report.verdict, 'signature_invalid');
    assert.deepEqual(failedChecks(report), ['cache_row', 'cache_signature']);
  });

  it('нет файла — 404, без токена — 401', async () => {
    await expectProblem(await verify(se, '01900000-0000-7000-8000-000000000000', reader), 404, 'FILE_NOT_FOUND');
    const anonymous = await fetch(`${se.url}/api/files/01900000-0000-7000-8000-000000000000/verify`, { method: 'POST' });
    assert.equal(anonymous.status, 401);
  });
});
