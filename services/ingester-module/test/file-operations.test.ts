// Удаление (SPEC IN-5) и правка метаданных (IN-8) через ingester: ingester находит SE-владельца опросом
// SE и пересылает запрос с токеном вызывающего; режим, срок хранения, права и If-Match проверяет SE, его
// ответ приходит клиенту как есть. Ingester пишет событие аудита с адресом клиента и считает исходы.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import type { FileRecord, UploadResponse } from '@artstore/contracts';
import { captureAuditEvents, type CapturedAuditEvents } from '@artstore/core/testing';
import { expectProblem } from './harness.js';
import { counterValue, startMultiSeStack, type MultiSeStack } from './multi-se-stack.js';

const TIMEOUT = { timeout: 30_000 };

for (const backend of SERVICE_BACKENDS) {
  describe(`удаление и правка метаданных через ingester (${backend.name})`, () => {
    let stack: MultiSeStack;
    let audit: CapturedAuditEvents;
    let operator: string;

    before(async () => {
      stack = await startMultiSeStack(
        backend,
        [{ id: 'se-a' }, { id: 'se-rw', mode: 'rw' }, { id: 'se-kept', retention: '30d' }],
        {},
      );
      audit = captureAuditEvents(stack.jobs);
      operator = await stack.issuer.mint({ sub: 'op-1', name: 'оператор', roles: ['operator'] });
    });
    after(async () => {
      await audit?.close();
      await stack?.close();
    });

    async function uploadTo(se: string, text: string): Promise<FileRecord> {
      const response = await fetch(`${stack.ingesterUrl}/api/files?name=op.txt&storage_element=${se}`, {
        method: 'POST',
        body: text,
        headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'text/plain' },
      });
      assert.equal(response.status, 201, await response.clone().text());
      return ((await response.json()) as UploadResponse).files[0]!;
    }

    function remove(id: string, query: string, token = operator) {
      return fetch(`${stack.ingesterUrl}/api/files/${id}?${query}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.7' },
      });
    }

    function patch(id: string, body: unknown, ifMatch?: string, token = operator) {
      return fetch(`${stack.ingesterUrl}/api/files/${id}`, {
        method: 'PATCH',
        body: JSON.stringify(body),
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }),
        },
      });
    }

    const operations = async (operation: string, outcome: string) =>
      counterValue(await stack.metrics(), 'artstore_ingester_operations_total', { operation, outcome });

    it('удаление: SE-владелец найден, надгробие, событие аудита от ingester', TIMEOUT, async () => {
      const file = await uploadTo('se-a', 'удалить меня');
      const response = await remove(file.id, `reason=${encodeURIComponent('ошибка')}`);
      assert.equal(response.status, 200, await response.clone().text());
      const tombstone = (await response.json()) as FileRecord & { deletion: { reason: string } };
      assert.deepEqual(
        [tombstone.id, tombstone.status, tombstone.storage_element, tombstone.deletion.reason],
        [file.id, 'deleted', 'se-a', 'ошибка'],
      );
      const event = await audit.waitFor(
        'file.delete от ingester',
        (e) => e.service === 'ingester-module' && e.action === 'file.delete' && e.target === file.id,
      );
      assert.deepEqual(
        [event.outcome, event.actor.subject, event.details.storage_element, event.details.reason],
        ['success', 'op-1', 'se-a', 'ошибка'],
      );
      assert.ok(event.ip, 'адрес клиента в событии');
      assert.equal(await operations('delete', 'success'), 1);
      // Удалённый второй раз — 404 от SE.
      await expectProblem(await remove(file.id, 'reason=again'), 404, 'FILE_NOT_FOUND');
    });

    it('удаление: неизвестный id — 404, отказ записан в аудит и метрику', TIMEOUT, async () => {
      const id = '01900000-0000-7000-8000-000000000000';
      await expectProblem(await remove(id, 'reason=x'), 404, 'FILE_NOT_FOUND');
      const event = await audit.waitFor(
        'отказ удаления',
        (e) => e.service === 'ingester-module' && e.target === id,
      );
      assert.deepEqual([event.outcome, event.details.error], ['failure', 'FILE_NOT_FOUND']);
      assert.ok((await operations('delete', 'FILE_NOT_FOUND')) >= 1);
    });

    it(
      'удаление вне режима edit и под сроком хранения — отказ SE как есть; досрочно без files:purge — 403',
      TIMEOUT,
      async () => {
        const onRw = await uploadTo('se-rw', 'rw');
        await expectProblem(await remove(onRw.id, 'reason=x'), 409, 'MODE_FORBIDS_OPERATION');
        const kept = await uploadTo('se-kept', 'под сроком');
        await expectProblem(await remove(kept.id, 'reason=x'), 409, 'RETENTION_ACTIVE');
        await expectProblem(await remove(kept.id, 'reason=x&override_retention=true'), 403, 'FORBIDDEN');
        const purged = await remove(kept.id, 'reason=x&override_retention=true', stack.adminToken);
        assert.equal(purged.status, 200, await purged.clone().text());
      },
    );

    it(
      'удаление без гранта на SE-владельце — 403; без права нигде — 403 без опроса SE',
      TIMEOUT,
      async () => {
        const file = await uploadTo('se-a', 'чужой SE');
        const scoped = await stack.issuer.mint({ name: 'op-rw', roles: [], grants: ['operator@se:se-rw'] });
        await expectProblem(await remove(file.id, 'reason=x', scoped), 403, 'FORBIDDEN');
        const reader = await stack.issuer.mint({ name: 'reader', roles: ['reader'] });
        await expectProblem(await remove(file.id, 'reason=x', reader), 403, 'FORBIDDEN');
        await expectProblem(await patch(file.id, { description: 'x' }, '"v1"', reader), 403, 'FORBIDDEN');
      },
    );

    it(
      'правка метаданных: If-Match → новый ETag; устаревший — 412; без If-Match — 428',
      TIMEOUT,
      async () => {
        const file = await uploadTo('se-a', 'метаданные');
        await expectProblem(
          await patch(file.id, { description: 'без версии' }),
          428,
          'PRECONDITION_REQUIRED',
        );
        const updated = await patch(
          file.id,
          { description: 'новое описание', tags: ['a'] },
          `"v${file.version}"`,
        );
        assert.equal(updated.status, 200, await updated.clone().text());
        assert.equal(updated.headers.get('etag'), `"v${file.version + 1}"`);
        const record = (await updated.json()) as FileRecord;
        assert.deepEqual([record.metadata.description, record.metadata.tags], ['новое описание', ['a']]);
        await expectProblem(
          await patch(file.id, { description: 'поздно' }, `"v${file.version}"`),
          412,
          'PRECONDITION_FAILED',
        );
        await audit.waitFor(
          'отказ правки',
          (e) => e.service === 'ingester-module' && e.target === file.id && e.outcome === 'failure',
        );
        const events = audit.events.filter(
          (e) =>
            e.service === 'ingester-module' && e.action === 'file.metadata.update' && e.target === file.id,
        );
        assert.deepEqual(
          events.map((e) => [e.outcome, e.details.storage_element, e.details.error]),
          [
            ['success', 'se-a', undefined],
            ['failure', 'se-a', 'PRECONDITION_FAILED'],
          ],
        );
        assert.equal(await operations('metadata_update', 'success'), 1);
        assert.equal(await operations('metadata_update', 'PRECONDITION_FAILED'), 1);
      },
    );
  });
}
