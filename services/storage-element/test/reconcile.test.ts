// Периодическая сверка кеша с attr-файлами (SPEC SE-6, BY-2): расхождение чинится само, повреждение
// (нет данных) — в отчёте и метриках, а не скрыто.
import assert from 'node:assert/strict';
import { rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ATTR_SUFFIX } from '../src/domain/naming.js';
import { uploadOk } from './stack.js';
import { startSe, waitFor, type RunningSe } from './helpers.js';
import { maintenanceReport, metricValue, type MaintenanceReport } from './integrity-fixture.js';

describe('storage-element: периодическая сверка кеша', () => {
  let se: RunningSe;
  let admin: string;

  before(async () => {
    se = await startSe({ storage: { scrub: { enabled: false }, reconcile: { interval: '150ms' } } });
    admin = await se.token(['admin']);
  });
  after(() => se.stop());

  const metadataStatus = async (id: string) =>
    (await fetch(`${se.url}/api/files/${id}`, { headers: { authorization: `Bearer ${admin}` } })).status;

  it('удалённая строка кеша возвращается, пропавшие данные — в отчёте; свежий attr без строки отложен', async () => {
    const lost = await uploadOk(se, 'строку потеряли', { token: admin, name: 'row.txt' });
    const fresh = await uploadOk(se, 'строку потеряли только что', { token: admin, name: 'fresh.txt' });
    const dataless = await uploadOk(se, 'данные пропали', { token: admin, name: 'data.txt' });
    // attr «давно» на диске: сверка не примет его за идущую загрузку.
    const old = new Date(Date.now() - 5 * 60_000);
    await utimes(join(se.basePath, `${lost.path}${ATTR_SUFFIX}`), old, old);
    await se.db.query('delete from se_files where id = any($1::uuid[])', [[lost.id, fresh.id]]);
    await rm(join(se.basePath, dataless.path));
    const damagedAt = Date.now();

    // Строку мог вернуть и прогон, начатый до порчи данных, поэтому ждём и починку, и прогон после порчи.
    let report: MaintenanceReport['reconcile']['last'] = null;
    await waitFor('сверка починила строку', async () => {
      report = (await maintenanceReport(se, admin)).reconcile.last;
      return report !== null && Date.parse(report.started_at) >= damagedAt && (await metadataStatus(lost.id)) === 200;
    }, 10_000);
    assert.ok(report!.deferred >= 1, JSON.stringify(report));
    assert.equal(await metadataStatus(fresh.id), 404, 'строка для attr моложе минуты не создаётся');
    assert.deepEqual(
      report!.problems.filter((p) => p.path === dataless.path),
      [{ path: dataless.path, reason: 'data_missing' }],
    );
    assert.equal(report!.problems_total, report!.problems.length);
    assert.ok((await metricValue(se, 'artstore_se_reconcile_repaired_total', { kind: 'missing' })) >= 1);
    assert.ok((await metricValue(se, 'artstore_se_reconcile_last_run_timestamp_seconds')) > 0);
    assert.equal(await metricValue(se, 'artstore_se_reconcile_items', { kind: 'problems' }), 1);
  });

  it('осиротевшая строка (attr нет) удаляется', async () => {
    const file = await uploadOk(se, 'attr пропадёт', { token: admin, name: 'orphan.txt' });
    await rm(join(se.basePath, `${file.path}${ATTR_SUFFIX}`));
    await waitFor('сверка убрала сироту', async () => (await metadataStatus(file.id)) === 404, 10_000);
    assert.ok((await metricValue(se, 'artstore_se_reconcile_repaired_total', { kind: 'orphans' })) >= 1);
  });
});
