// События аудита SE (SPEC AD-9): приём, правка метаданных, удаление, стирание байтов и смена режима
// уходят задачами в очередь `audit` (её разбирает admin-module) — с тем, кто, откуда и в каком запросе.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { captureAuditEvents, CleanupStack, type CapturedAuditEvents, createTestTokenIssuer, type TestTokenIssuer } from '@artstore/core/testing';
import { startTestStorageElement, uploadOk, type TestStorageElement } from './stack.js';

describe('storage-element: события аудита в очереди audit', () => {
  const cleanup = new CleanupStack();
  let issuer: TestTokenIssuer;
  let root: string;
  after(() => cleanup.run());
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'artstore-se-audit-'));
    cleanup.defer(() => rm(root, { recursive: true, force: true }));
    issuer = await createTestTokenIssuer();
    cleanup.defer(() => issuer.close());
  });

  /** SE и всё, что он поставил в очередь аудита (обработчик вместо admin-module). */
  async function seWithAuditLog(elementId: string, mode: 'edit' | 'rw'): Promise<{ se: TestStorageElement; audit: CapturedAuditEvents }> {
    const se = await startTestStorageElement({ elementId, issuer, dataDir: join(root, elementId), basePath: join(root, elementId, 'store'), mode });
    cleanup.defer(() => se.close());
    const audit = captureAuditEvents(se.backends.jobs);
    cleanup.defer(() => audit.close());
    return { se, audit };
  }

  it('приём, правка, удаление и стирание байтов — от имени пользователя с адресом и id запроса, стирание — от фоновой задачи', async () => {
    const { se, audit } = await seWithAuditLog('se-audit', 'edit');
    const token = await issuer.mint({ sub: 'user-42', name: 'оператор', roles: ['admin'] });
    const file = await uploadOk(se, 'договор', { token, name: 'Договор.pdf' });
    const patched = await fetch(`${se.url}/api/files/${file.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'if-match': '"v1"' },
      body: JSON.stringify({ description: 'подписан' }),
    });
    assert.equal(patched.status, 200, await patched.clone().text());
    const deleted = await fetch(`${se.url}/api/files/${file.id}?reason=${encodeURIComponent('дубль')}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'req-delete-1' },
    });
    assert.equal(deleted.status, 200, await deleted.clone().text());
    await audit.waitFor('стирание байтов', (e) => e.action === 'file.purge');
    const { events } = audit;

    assert.deepEqual(
      events.map((e) => [e.action, e.target, e.actor.subject, e.service]),
      [
        ['file.upload', file.id, 'user-42', 'storage-element'],
        ['file.metadata.update', file.id, 'user-42', 'storage-element'],
        ['file.delete', file.id, 'user-42', 'storage-element'],
        ['file.purge', file.id, 'system:purge', 'storage-element'],
      ],
    );
    const [uploaded, updated, removed] = events;
    assert.deepEqual(uploaded!.details, { element_id: 'se-audit', name: 'Договор.pdf', size: 'договор'.length * 2, sha256: file.sha256 });
    assert.deepEqual(updated!.details, { element_id: 'se-audit', version: 2, fields: ['description'] });
    assert.deepEqual([removed!.details.reason, removed!.request_id], ['дубль', 'req-delete-1'], 'id запроса — из X-Request-Id');
    assert.equal(uploaded!.actor.username, 'оператор');
    assert.match(uploaded!.ip ?? '', /127\.0\.0\.1/);
    assert.equal(typeof uploaded!.request_id, 'string');
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'у каждого события свой id');
  });

  it('смена режима rw→ro — событие se.mode.change', async () => {
    const { se, audit } = await seWithAuditLog('se-audit-mode', 'rw');
    const token = await issuer.mint({ sub: 'op-1', name: 'оператор', roles: ['operator'] });
    const changed = await fetch(`${se.url}/api/mode`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'ro' }),
    });
    assert.equal(changed.status, 200, await changed.clone().text());
    const changedEvent = await audit.waitFor('смена режима', (e) => e.action === 'se.mode.change');
    assert.deepEqual([changedEvent.target, changedEvent.actor.subject, changedEvent.details], ['se-audit-mode', 'op-1', { from: 'rw', to: 'ro' }]);
  });
});
