// Метрики SE (SPEC X-3): место, загрузки, режим, WAL (fsync и групповой коммит), восстановление.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uploadOk } from './stack.js';
import { startSe, waitFor, type RunningSe } from './helpers.js';

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  assert.ok(line, `нет метрики ${name}`);
  return Number(line.split(' ').at(-1));
}

describe('storage-element: метрики', () => {
  let se: RunningSe;
  before(async () => {
    // Частая проверка места: метрика числа файлов обновляется ею.
    se = await startSe({ maxSize: 1024 * 1024, storage: { capacity: { check_interval: 100 } } });
  });
  after(() => se.stop());

  it('после загрузок видны место, счётчики, режим и fsync журнала', async () => {
    const token = await se.token(['uploader']);
    await Promise.all(Array.from({ length: 8 }, (_, i) => uploadOk(se, Buffer.alloc(1000, i), { token, name: `m${i}.bin` })));
    const text = await (await fetch(`${se.url}/metrics`)).text();
    assert.equal(metric(text, 'artstore_se_used_bytes'), 8000);
    await waitFor('artstore_se_files{status="active"} = 8', async () => {
      const fresh = await (await fetch(`${se.url}/metrics`)).text();
      return /artstore_se_files\{[^}]*status="active"[^}]*\} 8\n/.test(fresh);
    });
    assert.equal(metric(text, 'artstore_se_capacity_bytes'), 1024 * 1024);
    assert.equal(metric(text, 'artstore_se_uploads_total'), 8);
    assert.equal(metric(text, 'artstore_se_uploaded_bytes_total'), 8000);
    assert.match(text, /artstore_se_mode\{[^}]*mode="edit"[^}]*\} 1/);
    assert.equal(metric(text, 'artstore_se_writes_stopped'), 0);
    const fsyncs = metric(text, 'artstore_se_wal_fsync_seconds_count');
    assert.ok(fsyncs >= 1 && fsyncs <= 8, `fsync журнала: ${fsyncs} на 8 одновременных загрузок`);
    assert.match(text, /artstore_se_wal_recovery_transactions\{[^}]*outcome="finished"[^}]*\} 0/);
  });
});
