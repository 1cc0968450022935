// Приём файла через ingester — событие аудита (SPEC AD-9) в очереди `audit`: от имени пользователя,
// с адресом клиента и выбранным SE; своё событие приёма ставит и SE (service различает источники).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { UploadResponse } from '@artstore/contracts';
import { UUID_PATTERN } from '@artstore/core';
import { captureAuditEvents, type CapturedAuditEvents } from '@artstore/core/testing';
import { ELEMENT_ID, startIngesterStack, type IngesterStack } from './harness.js';

describe('ingester-module: событие аудита приёма файла', () => {
  let stack: IngesterStack;
  let audit: CapturedAuditEvents;
  before(async () => {
    stack = await startIngesterStack();
    audit = captureAuditEvents(stack.jobs);
  });
  after(async () => {
    await audit.close();
    await stack.close();
  });

  it('file.upload от ingester и от SE — с пользователем, адресом, id запроса и SE', async () => {
    const token = await stack.issuer.mint({ sub: 'user-7', name: 'загрузчик', roles: ['uploader'] });
    const response = await fetch(`${stack.ingesterUrl}/api/files?name=${encodeURIComponent('Акт.txt')}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'x-request-id': 'req-upload-7' },
      body: 'акт сверки',
    });
    assert.equal(response.status, 201, await response.clone().text());
    const [file] = ((await response.json()) as UploadResponse).files;
    const ingested = await audit.waitFor('приём в ingester', (e) => e.service === 'ingester-module');
    const stored = await audit.waitFor('приём на SE', (e) => e.service === 'storage-element');
    assert.deepEqual([stored.action, stored.target], ['file.upload', file!.id]);
    assert.deepEqual(
      [ingested.action, ingested.target, ingested.actor.subject, ingested.actor.username, ingested.outcome, ingested.request_id],
      ['file.upload', file!.id, 'user-7', 'загрузчик', 'success', 'req-upload-7'],
    );
    assert.match(ingested.ip ?? '', /127\.0\.0\.1/);
    const { saga_id: sagaId, ...details } = ingested.details;
    assert.deepEqual(details, { storage_element: ELEMENT_ID, name: 'Акт.txt', size: file!.size, sha256: file!.sha256 });
    // Событие называет сагу загрузки (SPEC IN-4): по ней видны шаги в GET /api/transactions?state=completed.
    assert.match(String(sagaId), UUID_PATTERN);
  });
});
