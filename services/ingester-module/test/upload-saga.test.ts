// Сага загрузки (SPEC IN-4) через настоящий ingester и настоящие SE на обоих наборах портов: строки
// журнала и шаги для обычной загрузки, перехода к следующему SE и отказа SE (компенсация); число записей
// в журнал (две на успешную загрузку, ADR 0016); восстановление брошенных саг вторым экземпляром — ровно
// один раз при двух восстанавливающих; незавершённая сага в GET /api/transactions (AD-10).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import type { SourceTransactions, UploadResponse } from '@artstore/contracts';
import { uuidv7, type RunningService } from '@artstore/core';
import { captureAuditEvents, waitFor, type CapturedAuditEvents } from '@artstore/core/testing';
import { uploadOk } from '@artstore/storage-element/testing';
import { expectProblem } from './harness.js';
import { counterValue, startMultiSeStack, type MultiSeStack } from './multi-se-stack.js';

const TIMEOUT = { timeout: 60_000 };
/** Быстрое восстановление: брошенной сага считается через секунду молчания. */
const RECOVERY = { heartbeat_interval: 100, stale_after: 1000, check_interval: 200 };

interface SagaRow {
  id: string;
  file_id: string;
  element_id: string | null;
  state: string;
  owner: string | null;
  steps: { name: string; state: string; at: string; error?: string }[];
  error: string | null;
}

for (const backend of SERVICE_BACKENDS) {
  describe(`сага загрузки (${backend.name})`, () => {
    let stack: MultiSeStack;
    let audit: CapturedAuditEvents;
    let writer: string;

    before(async () => {
      // se-ro на деле в режиме ro, а документ обнаружения (тест) объявляет его edit — SE откажет сам.
      stack = await startMultiSeStack(
        backend,
        [{ id: 'se-a' }, { id: 'se-b' }, { id: 'se-ro', mode: 'ro' }],
        { recovery: RECOVERY },
      );
      await stack.advertise([
        { id: 'se-a', priority: 10 },
        { id: 'se-b', priority: 20 },
        { id: 'se-ro', priority: 30 },
      ]);
      audit = captureAuditEvents(stack.jobs);
      writer = await stack.issuer.mint({ sub: 'writer-1', name: 'загрузчик', roles: ['uploader'] });
    });
    after(async () => {
      await audit?.close();
      await stack?.close();
    });

    async function sagaBy(column: 'request_id' | 'file_id' | 'id', value: string): Promise<SagaRow> {
      const { rows } = await stack.db.query<SagaRow>(
        `select * from ingester_upload_sagas where ${column} = $1`,
        [value],
      );
      assert.equal(rows.length, 1, `саг с ${column}=${value}: ${rows.length}`);
      return rows[0]!;
    }
    const stepsOf = (saga: SagaRow) => saga.steps.map((s) => `${s.name}:${s.state}`);

    function post(body: RequestInit['body'], requestId: string, query = '') {
      return fetch(`${stack.ingesterUrl}/api/files?name=saga.txt${query}`, {
        method: 'POST',
        body,
        headers: {
          authorization: `Bearer ${writer}`,
          'x-request-id': requestId,
          'content-type': 'text/plain',
        },
        ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
      });
    }

    async function transactions(query = '', token = stack.adminToken): Promise<SourceTransactions> {
      const response = await fetch(`${stack.ingesterUrl}/api/transactions${query}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 200, await response.clone().text());
      return (await response.json()) as SourceTransactions;
    }

    it(
      'обычная загрузка: file_id назначен сагой, шаги reserve → transfer → complete, аудит один',
      TIMEOUT,
      async () => {
        const requestId = `saga-ok-${randomUUID()}`;
        const response = await post('обычная загрузка', requestId);
        assert.equal(response.status, 201, await response.clone().text());
        const [file] = ((await response.json()) as UploadResponse).files;
        const saga = await sagaBy('request_id', requestId);
        assert.deepEqual([saga.file_id, saga.element_id, saga.state], [file!.id, 'se-a', 'completed']);
        assert.deepEqual(stepsOf(saga), [
          'reserve:done',
          'transfer:se-a:started',
          'transfer:se-a:done',
          'complete:done',
        ]);
        const event = await audit.waitFor(
          'file.upload от ingester',
          (e) => e.service === 'ingester-module' && e.target === file!.id,
        );
        assert.equal(event.details.saga_id, saga.id);
        const completed = await transactions('?state=completed');
        const view = completed.transactions.find((tx) => tx.id === saga.id);
        assert.deepEqual(
          [view?.kind, view?.state, view?.file_id, completed.service],
          ['saga.upload', 'completed', file!.id, 'ingester-module'],
        );
        assert.equal(
          counterValue(await stack.metrics(), 'artstore_ingester_upload_sagas_total', {
            outcome: 'completed',
            path: 'inline',
          }) >= 1,
          true,
        );
      },
    );

    it(
      'записи в журнал саги: успешная загрузка — две (transferring, completed), до передачи — одна',
      TIMEOUT,
      async () => {
        // Пишет сама БД (триггер на таблице): считаются все изменения строки, кроме отметок heartbeat —
        // их число зависит от времени, а не от пути загрузки (ADR 0016).
        await stack.db.query('create table saga_writes_probe (saga_id uuid, op text, state text)');
        await stack.db.query(
          `create function saga_writes_probe_log() returns trigger language plpgsql as $$
           begin
             if tg_op = 'UPDATE' and (to_jsonb(new) - 'heartbeat_at') = (to_jsonb(old) - 'heartbeat_at') then
               return null;
             end if;
             insert into saga_writes_probe values (new.id, tg_op, new.state);
             return null;
           end $$`,
        );
        await stack.db.query(
          `create trigger saga_writes_probe after insert or update on ingester_upload_sagas
           for each row execute function saga_writes_probe_log()`,
        );
        try {
          const writes = async (sagaId: string) =>
            (
              await stack.db.query<{ op: string; state: string }>(
                'select op, state from saga_writes_probe where saga_id = $1',
                [sagaId],
              )
            ).rows.map((w) => `${w.op} ${w.state}`);

          const okId = `saga-writes-ok-${randomUUID()}`;
          const ok = await post('две записи', okId);
          assert.equal(ok.status, 201, await ok.clone().text());
          const stored = await sagaBy('request_id', okId);
          assert.deepEqual(await writes(stored.id), ['INSERT transferring', 'UPDATE completed']);
          assert.deepEqual(stepsOf(stored), [
            'reserve:done',
            'transfer:se-a:started',
            'transfer:se-a:done',
            'complete:done',
          ]);
          assert.equal(stored.element_id, 'se-a');

          // Явно названный SE неизвестен: отказ при выборе, SE не получил ни байта — одна запись compensated.
          const refusedId = `saga-writes-none-${randomUUID()}`;
          await expectProblem(
            await post('никуда', refusedId, '&storage_element=se-nowhere'),
            400,
            'VALIDATION_FAILED',
          );
          const refused = await sagaBy('request_id', refusedId);
          assert.deepEqual(await writes(refused.id), ['INSERT compensated']);
          assert.deepEqual([refused.element_id, refused.state], [null, 'compensated']);
          assert.deepEqual(stepsOf(refused), ['reserve:done', 'compensate:done']);
          assert.match(refused.error ?? '', /VALIDATION_FAILED/);
        } finally {
          await stack.db.query('drop trigger saga_writes_probe on ingester_upload_sagas');
          await stack.db.query('drop function saga_writes_probe_log()');
          await stack.db.query('drop table saga_writes_probe');
        }
      },
    );

    it('переход к следующему SE: отказ se-ro записан шагом, сага ведёт файл до se-a', TIMEOUT, async () => {
      await stack.advertise([
        { id: 'se-ro', priority: 1 },
        { id: 'se-a', priority: 10 },
        { id: 'se-b', priority: 20 },
      ]);
      try {
        const requestId = `saga-next-${randomUUID()}`;
        const response = await post('мимо se-ro', requestId);
        assert.equal(response.status, 201, await response.clone().text());
        const [file] = ((await response.json()) as UploadResponse).files;
        const saga = await sagaBy('request_id', requestId);
        assert.deepEqual([saga.file_id, saga.element_id, saga.state], [file!.id, 'se-a', 'completed']);
        assert.deepEqual(stepsOf(saga), [
          'reserve:done',
          'transfer:se-ro:started',
          'transfer:se-ro:refused',
          'transfer:se-a:started',
          'transfer:se-a:done',
          'complete:done',
        ]);
        assert.equal(saga.steps[2]!.error, 'mode');
      } finally {
        await stack.advertise([
          { id: 'se-a', priority: 10 },
          { id: 'se-b', priority: 20 },
          { id: 'se-ro', priority: 30 },
        ]);
      }
    });

    it('отказ явно выбранного SE: сага компенсирована сразу, на SE ничего', TIMEOUT, async () => {
      const before = await stack.state('se-ro');
      const requestId = `saga-refused-${randomUUID()}`;
      await expectProblem(
        await post('не примут', requestId, '&storage_element=se-ro'),
        409,
        'MODE_FORBIDS_OPERATION',
      );
      const saga = await sagaBy('request_id', requestId);
      assert.deepEqual([saga.element_id, saga.state], ['se-ro', 'compensated']);
      // Тело ушло SE и не удержано (запас повтора не нужен одному SE): отсутствие файла подтверждено GET на SE.
      assert.deepEqual(stepsOf(saga), [
        'reserve:done',
        'transfer:se-ro:started',
        'compensate:started',
        'compensate:done',
      ]);
      assert.match(saga.error ?? '', /MODE_FORBIDS_OPERATION/);
      assert.deepEqual(await stack.state('se-ro'), before);
      assert.equal(
        audit.events.some((e) => e.service === 'ingester-module' && e.target === saga.file_id),
        false,
      );
    });

    it(
      'брошенные саги умершего экземпляра: доводит или компенсирует ровно один из двух живых',
      TIMEOUT,
      async () => {
        const actor = { subject: 'dead-user', username: 'покойный загрузчик', kind: 'user' };
        const seeded: { id: string; fileId: string; expect: 'completed' | 'compensated'; kind: string }[] =
          [];
        async function seed(
          kind: string,
          state: string,
          elementId: string | null,
          expect: 'completed' | 'compensated',
          onSe: boolean,
        ) {
          const id = uuidv7();
          const fileId = uuidv7();
          let record: unknown = null;
          if (onSe) {
            const stored = await uploadOk(stack.se(elementId!), `байты ${kind}`, {
              token: stack.adminToken,
              fileId,
              name: `${kind}.txt`,
            });
            record = { name: stored.name, size: stored.size, sha256: stored.sha256 };
          }
          await stack.db.query(
            `insert into ingester_upload_sagas (id, file_id, element_id, state, owner, heartbeat_at, started_at, updated_at, steps, actor, ip, request_id, name, record)
           values ($1, $2, $3, $4, 'dead-instance', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour',
                   '[]'::jsonb, $5::jsonb, '10.0.0.9', $6, $7, $8::jsonb)`,
            [
              id,
              fileId,
              elementId,
              state,
              JSON.stringify(actor),
              `dead-${kind}`,
              `${kind}.txt`,
              state === 'stored' ? JSON.stringify(record) : null,
            ],
          );
          seeded.push({ id, fileId, expect, kind });
        }
        // По пять каждого вида: два экземпляра забирают их одновременно.
        for (let i = 0; i < 5; i++) {
          await seed(`reserved-${i}`, 'reserved', null, 'compensated', false);
          await seed(`transferring-absent-${i}`, 'transferring', 'se-a', 'compensated', false);
          await seed(`transferring-committed-${i}`, 'transferring', 'se-b', 'completed', true);
          await seed(`stored-${i}`, 'stored', 'se-a', 'completed', true);
        }
        const second: RunningService = await stack.startIngester({ recovery: RECOVERY });
        const ids = seeded.map((s) => s.id);
        await waitFor(
          'все брошенные саги решены',
          async () =>
            (
              await stack.db.query<{ state: string }>(
                `select state from ingester_upload_sagas where id = any($1::uuid[])`,
                [ids],
              )
            ).rows,
          (rows) => rows.every((r) => r.state === 'completed' || r.state === 'compensated'),
          { timeoutMs: 20_000, intervalMs: 100 },
        );
        for (const item of seeded) {
          const saga = await sagaBy('id', item.id);
          assert.equal(saga.state, item.expect, item.kind);
          // Ровно один конечный шаг: второй экземпляр не решал ту же сагу.
          assert.equal(saga.steps.length, 1, `${item.kind}: ${JSON.stringify(saga.steps)}`);
          assert.notEqual(saga.owner, 'dead-instance');
        }
        // Аудит доведённых — от имени загружавшего, с его адресом; у компенсированных события нет.
        await waitFor(
          'события аудита восстановленных',
          () => audit.events.filter((e) => e.request_id?.startsWith('dead-')).length,
          (n) => n >= 10,
        );
        for (const item of seeded) {
          const events = audit.events.filter(
            (e) => e.service === 'ingester-module' && e.target === item.fileId,
          );
          assert.equal(events.length, item.expect === 'completed' ? 1 : 0, item.kind);
          if (item.expect === 'completed') {
            assert.deepEqual(
              [events[0]!.actor.subject, events[0]!.ip, events[0]!.request_id],
              ['dead-user', '10.0.0.9', `dead-${item.kind}`],
            );
            assert.equal(typeof events[0]!.details.recovered_by, 'string');
          }
        }
        const metrics = [await stack.metrics(), await (await fetch(`${second.url}/metrics`)).text()];
        const recovered = (outcome: string) =>
          metrics.reduce(
            (sum, text) =>
              sum + counterValue(text, 'artstore_ingester_upload_sagas_total', { outcome, path: 'recovery' }),
            0,
          );
        assert.deepEqual([recovered('completed'), recovered('compensated')], [10, 10]);
      },
    );

    it(
      'незавершённая сага видна в GET /api/transactions, пока тело идёт; живую сагу не забирают',
      TIMEOUT,
      async () => {
        let push!: ReadableStreamDefaultController<Uint8Array>;
        const body = new ReadableStream<Uint8Array>({ start: (controller) => void (push = controller) });
        push.enqueue(new TextEncoder().encode('первая часть; '));
        const requestId = `saga-held-${randomUUID()}`;
        const pending = post(body, requestId);
        const inProgress = await waitFor(
          'сага в работе',
          async () => (await transactions()).transactions.filter((tx) => tx.kind === 'saga.upload'),
          (list) => list.some((tx) => tx.state === 'transferring'),
        );
        const view = inProgress.find((tx) => tx.state === 'transferring')!;
        assert.deepEqual(
          view.steps.map((s) => `${s.name}:${s.state}`),
          ['reserve:done', 'transfer:se-a:started'],
        );
        // Дольше stale_after: heartbeat держит сагу за её экземпляром, восстановление её не трогает.
        await new Promise((resolve) => setTimeout(resolve, RECOVERY.stale_after * 2));
        const held = await sagaBy('id', view.id);
        assert.deepEqual([held.state, held.owner], ['transferring', view.source]);
        // Право storage:manage нужно; грант только на se-b — саги на se-a не видно.
        const uploader = await stack.issuer.mint({ name: 'u', roles: ['uploader'] });
        const denied = await fetch(`${stack.ingesterUrl}/api/transactions`, {
          headers: { authorization: `Bearer ${uploader}` },
        });
        await expectProblem(denied, 403, 'FORBIDDEN');
        const scoped = await stack.issuer.mint({ name: 'op-b', roles: [], grants: ['operator@se:se-b'] });
        assert.equal(
          (await transactions('', scoped)).transactions.some((tx) => tx.id === view.id),
          false,
        );

        push.enqueue(new TextEncoder().encode('вторая часть'));
        push.close();
        const response = await pending;
        assert.equal(response.status, 201, await response.clone().text());
        assert.equal((await sagaBy('id', view.id)).state, 'completed');
        assert.equal(
          (await transactions()).transactions.some((tx) => tx.id === view.id),
          false,
        );
      },
    );
  });
}
