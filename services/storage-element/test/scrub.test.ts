// Scrub (SPEC SE-6, BY-3): фоновое перехеширование с ограничением скорости, история fixity в attr,
// повреждение — событие, метрика и строка отчёта, а не тихая «починка».
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMemoryLogger } from '@artstore/core/testing';
import { verifyAttrSignature } from '../src/domain/attr-signing.js';
import { uploadOk } from './stack.js';
import { startSe, waitFor, type RunningSe } from './helpers.js';
import { flipByte, maintenanceReport, metricValue, readStoredAttr, signingKeys, verifyOk, type MaintenanceReport } from './integrity-fixture.js';

const MiB = 1024 * 1024;

describe('storage-element: scrub', () => {
  describe('повреждение и история fixity', () => {
    let se: RunningSe;
    let admin: string;
    const journal = createMemoryLogger('info');

    before(async () => {
      se = await startSe({
        logger: journal.logger,
        storage: { scrub: { rate: '100MiB', interval: '100ms' }, reconcile: { enabled: false } },
      });
      admin = await se.token(['admin']);
    });
    after(() => se.stop());

    it('перевёрнутый байт находит scrub; в attr — история fixity, подпись верна, updated_at прежний', async () => {
      const intact = await uploadOk(se, 'целый документ', { token: admin, name: 'Целый.txt' });
      const damaged = await uploadOk(se, 'документ, который испортится', { token: admin, name: 'Порча.txt' });
      await flipByte(se, damaged.path, 3);

      let report: MaintenanceReport | undefined;
      await waitFor('проход scrub с повреждением', async () => {
        report = await maintenanceReport(se, admin);
        return report.scrub.last?.problems.some((p) => p.id === damaged.id) ?? false;
      }, 15_000);
      const pass = report!.scrub.last!;
      assert.ok(pass.corrupted >= 1 && pass.files >= 2, JSON.stringify(pass));
      assert.deepEqual(
        pass.problems.filter((p) => p.id === damaged.id).map((p) => [p.verdict, p.path]),
        [['mismatch', damaged.path]],
      );
      assert.match(journal.text(), new RegExp(`"file_id":"${damaged.id}"[^\\n]*"msg":"file_corrupted"`));
      assert.ok((await metricValue(se, 'artstore_se_scrub_files_total', { verdict: 'mismatch' })) >= 1);
      assert.ok((await metricValue(se, 'artstore_se_scrub_files_total', { verdict: 'ok' })) >= 1);
      assert.ok((await metricValue(se, 'artstore_se_scrub_last_pass_timestamp_seconds')) > 0);

      const keys = await signingKeys(se);
      const good = await readStoredAttr(se, intact.path);
      assert.equal(verifyAttrSignature(good, keys), 'valid');
      assert.ok(good.fixity && good.fixity.length >= 1);
      assert.deepEqual(
        good.fixity.map(({ algorithm, verdict, by }) => ({ algorithm, verdict, by })),
        good.fixity.map(() => ({ algorithm: 'sha256', verdict: 'ok', by: 'scrub' })),
      );
      assert.ok(good.version > intact.version, 'итог проверки — новая версия attr');
      assert.equal(good.updated_at, intact.updated_at, 'время изменения записи людьми не сдвигается');

      const bad = await readStoredAttr(se, damaged.path);
      assert.equal(verifyAttrSignature(bad, keys), 'valid');
      assert.equal(bad.fixity?.at(-1)?.verdict, 'mismatch');
      assert.equal(bad.sha256, damaged.sha256, 'повреждение не «чинится»: attr хранит исходную сумму');
      // Та же порча видна и проверкой по запросу (QR-7).
      assert.equal((await verifyOk(se, damaged.id, admin)).verdict, 'corrupted');
    });

    it('отчёт — только storage:manage', async () => {
      const response = await fetch(`${se.url}/api/maintenance/report`, { headers: { authorization: `Bearer ${await se.token(['reader'])}` } });
      assert.equal(response.status, 403);
    });
  });

  describe('скорость, запись во время прохода, остановка', () => {
    let se: RunningSe;
    let admin: string;

    before(async () => {
      se = await startSe({ storage: { scrub: { rate: '1MiB', interval: '100ms' }, reconcile: { enabled: false } } });
      admin = await se.token(['admin']);
    });
    after(() => se.stop());

    it('2 MiB при 1 MiB/с читаются ≥ 1.5 с, а правка файла посреди проверки не ждёт её', async () => {
      const file = await uploadOk(se, Buffer.alloc(2 * MiB, 1), { token: admin, name: 'большой.bin' });
      await waitFor('scrub читает файл', async () => (await maintenanceReport(se, admin)).scrub.current?.files === 0, 5000);

      const started = performance.now();
      const patch = await fetch(`${se.url}/api/files/${file.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'if-match': `"v${file.version}"` },
        body: JSON.stringify({ description: 'правка во время scrub' }),
      });
      assert.equal(patch.status, 200, await patch.text());
      assert.ok(performance.now() - started < 1000, `правка ждала ${(performance.now() - started).toFixed(0)} мс`);

      let last: MaintenanceReport['scrub']['last'] = null;
      await waitFor('проход с файлом', async () => {
        last = (await maintenanceReport(se, admin)).scrub.last;
        return (last?.bytes ?? 0) >= 2 * MiB;
      }, 10_000);
      const seconds = (Date.parse(last!.finished_at!) - Date.parse(last!.started_at)) / 1000;
      assert.ok(seconds >= 1.5, `проход 2 MiB занял ${seconds} с`);
      const attr = await readStoredAttr(se, file.path);
      assert.equal(attr.metadata.description, 'правка во время scrub');
      assert.equal(attr.fixity?.at(-1)?.verdict, 'ok', 'итог записан поверх правки, не затёр её');
    });

    it('остановка SE прерывает проход посреди файла, не дожидаясь его конца', async () => {
      await uploadOk(se, Buffer.alloc(4 * MiB, 2), { token: admin, name: 'ещё.bin' });
      await waitFor('идёт проход', async () => (await maintenanceReport(se, admin)).scrub.current !== null, 5000);
      const started = performance.now();
      await se.stop();
      assert.ok(performance.now() - started < 2000, `остановка заняла ${(performance.now() - started).toFixed(0)} мс`);
    });
  });
});
