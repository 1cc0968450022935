// Выдача байтов через query — событие аудита file.download (SPEC AD-9) в очереди `audit`: от имени
// пользователя, с адресом и id запроса; HEAD и 304 байтов не выдают и события не дают.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { captureAuditEvents, type CapturedAuditEvents } from '@artstore/core/testing';
import { seqOf } from '@artstore/storage-element/testing';
import { ELEMENT_ID, startQueryStack, uploadToSe, waitIndexed, type QueryStack } from './harness.js';

describe('query-module: событие аудита выдачи байтов', () => {
  let stack: QueryStack;
  let audit: CapturedAuditEvents;
  before(async () => {
    stack = await startQueryStack({ sharedCoordination: true, pollIntervalMs: 60_000, consistencyWaitMs: 1000 });
    audit = captureAuditEvents(stack.jobs);
  });
  after(async () => {
    await audit.close();
    await stack.close();
  });

  it('GET с 200 и 206 — file.download; HEAD и 304 — без события', async () => {
    const file = await uploadToSe(stack, 'Отчёт.txt', 'годовой отчёт');
    await waitIndexed(stack, seqOf(file), 10_000);
    const token = await stack.issuer.mint({ sub: 'user-9', name: 'читатель', roles: ['reader'] });
    const content = (headers: Record<string, string> = {}, method = 'GET') =>
      fetch(`${stack.queryUrl}/api/files/${file.id}/content`, { method, headers: { authorization: `Bearer ${token}`, ...headers } });

    const head = await content({}, 'HEAD');
    assert.equal(head.status, 200);
    const notModified = await content({ 'if-none-match': head.headers.get('etag')! });
    assert.equal(notModified.status, 304);
    const full = await content({ 'x-request-id': 'req-download-9' });
    assert.equal(await full.text(), 'годовой отчёт');
    const ranged = await content({ range: 'bytes=0-3' });
    assert.equal(ranged.status, 206);
    await ranged.arrayBuffer();

    await audit.waitFor('выдача с диапазоном', (e) => e.action === 'file.download' && e.details.status === 206);
    const downloads = audit.events.filter((e) => e.service === 'query-module');
    assert.deepEqual(
      downloads.map((e) => [e.action, e.target, e.actor.subject, e.details.status, e.details.range]),
      [
        ['file.download', file.id, 'user-9', 200, null],
        ['file.download', file.id, 'user-9', 206, 'bytes=0-3'],
      ],
      'HEAD и 304 событий не дают',
    );
    assert.deepEqual([downloads[0]!.request_id, downloads[0]!.details.storage_element], ['req-download-9', ELEMENT_ID]);
  });
});
