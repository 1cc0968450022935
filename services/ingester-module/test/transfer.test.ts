// Перенос файла между SE двухфазной фиксацией (SPEC IN-6): настоящие SE и ingester на обоих наборах
// портов (PGlite + координация в процессе; PostgreSQL + Redis). Сбой в каждой точке — отказ и порча байтов
// при prepare, «смерть» координатора до и после решения о фиксации — итог всегда один: ровно одна
// активная копия с верной sha256. Смерть координатора в процессе — экземпляр, брошенный в точке сбоя
// (промис, который не завершится), и второй экземпляр, который доводит перенос восстановлением.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SERVICE_BACKENDS, type ServiceBackend } from '@artstore/adapters/testing';
import { createInProcessJobQueue } from '@artstore/adapters';
import type { FileRecord } from '@artstore/contracts';
import {
  createAuditClient,
  createPrincipal,
  loadConfig,
  type DiscoveryElement,
  type Principal,
} from '@artstore/core';
import { createMemoryLogger, expectProblemWith } from '@artstore/core/testing';
import { uploadOk } from '@artstore/storage-element/testing';
import { Registry } from 'prom-client';
import type { IngesterFaultPoint } from '../src/domain/faults.js';
import { createCompressionPolicy } from '../src/domain/compression-policy.js';
import { createFileLocator } from '../src/domain/file-locator.js';
import { startStaleWork } from '../src/domain/stale-work.js';
import { createStorageElementPool } from '../src/domain/storage-elements.js';
import { createTransferCoordinator, createTransferMetrics } from '../src/domain/transfer-coordinator.js';
import { createTransferStore } from '../src/store/transfers.js';
import { counterValue, startMultiSeStack, type MultiSeStack } from './multi-se-stack.js';

const expectProblem = expectProblemWith({ type: true });
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

type AttrOnDisk = {
  status: string;
  sha256: string;
  stored: { encoding: string; size: number };
  transfer?: { id: string; source: string; target: string; committed_at: string | null };
};

function transferSuite(backend: ServiceBackend) {
  describe(`ingester: перенос между SE (${backend.name})`, () => {
    let stack: MultiSeStack;
    // se-a, se-b — обычные; se-ro — принимает только чтение (отказ prepare); se-dead — останавливается.
    before(async () => {
      stack = await startMultiSeStack(
        backend,
        [{ id: 'se-a' }, { id: 'se-b' }, { id: 'se-ro', mode: 'ro' }, { id: 'se-dead' }],
        {},
      );
    });
    after(() => stack?.close());

    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    const transfer = (id: string, target: string, token = stack.adminToken) =>
      fetch(`${stack.ingesterUrl}/api/files/${id}/transfer`, {
        method: 'POST',
        headers: { ...auth(token), 'content-type': 'application/json' },
        body: JSON.stringify({ target_storage_element: target }),
      });
    const record = async (se: string, id: string): Promise<FileRecord | undefined> => {
      const response = await fetch(`${stack.se(se).url}/api/files/${id}`, {
        headers: auth(stack.adminToken),
      });
      if (response.status === 404) return undefined;
      assert.equal(response.status, 200, await response.clone().text());
      return (await response.json()) as FileRecord;
    };
    const attrOf = async (se: string, file: FileRecord): Promise<AttrOnDisk> =>
      JSON.parse(await readFile(join(stack.se(se).basePath, `${file.path}.attr.json`), 'utf8')) as AttrOnDisk;
    const put = async (se: string, bytes: Buffer) =>
      uploadOk(stack.se(se), bytes, {
        token: stack.adminToken,
        name: 'Ведомость.bin',
        metadata: { description: 'годовой', tags: ['к-переносу'], custom: {} },
      });

    /** Главный инвариант: ровно одна активная копия — на ожидаемом SE, с верной sha256 и байтами. */
    async function assertOneActiveCopy(id: string, bytes: Buffer, where: string): Promise<void> {
      const states = new Map<string, string>();
      for (const se of ['se-a', 'se-b']) states.set(se, (await record(se, id))?.status ?? 'absent');
      const active = [...states].filter(([, status]) => status === 'active').map(([se]) => se);
      assert.deepEqual(active, [where], `активные копии: ${JSON.stringify([...states])}`);
      const content = await fetch(`${stack.se(where).url}/api/files/${id}/content`, {
        headers: auth(stack.adminToken),
      });
      assert.equal(content.status, 200);
      const downloaded = Buffer.from(await content.arrayBuffer());
      assert.equal(sha256(downloaded), sha256(bytes));
      assert.equal((await record(where, id))?.sha256, sha256(bytes));
    }

    it('перенос: тот же id, копия активна на целевом SE, источник — transferred, байты только с целевого', async () => {
      const bytes = randomBytes(3 * 1024 * 1024 + 17);
      const file = await put('se-a', bytes);
      const response = await transfer(file.id, 'se-b');
      assert.equal(response.status, 200, await response.clone().text());
      const result = (await response.json()) as {
        transfer_id: string;
        state: string;
        source: string;
        target: string;
        file: FileRecord;
      };
      assert.deepEqual([result.state, result.source, result.target], ['committed', 'se-a', 'se-b']);
      assert.equal(result.file.id, file.id);
      assert.equal(result.file.sha256, file.sha256);
      assert.equal(result.file.created_at, file.created_at, 'история файла сохранена');
      assert.deepEqual(result.file.metadata, file.metadata);
      await assertOneActiveCopy(file.id, bytes, 'se-b');

      const source = (await record('se-a', file.id))!;
      assert.equal(source.status, 'transferred');
      const gone = await fetch(`${stack.se('se-a').url}/api/files/${file.id}/content`, {
        headers: auth(stack.adminToken),
      });
      assert.equal(gone.status, 404);
      // attr с обеих сторон рассказывают историю: откуда, куда, каким переносом.
      const sourceAttr = await attrOf('se-a', source);
      const targetAttr = await attrOf('se-b', result.file);
      assert.equal(sourceAttr.status, 'transferred');
      assert.deepEqual([sourceAttr.transfer?.id, sourceAttr.transfer?.target], [result.transfer_id, 'se-b']);
      assert.equal(targetAttr.status, 'active');
      assert.deepEqual([targetAttr.transfer?.id, targetAttr.transfer?.source], [result.transfer_id, 'se-a']);
      assert.notEqual(targetAttr.transfer?.committed_at, null);

      // Повторный перенос на тот же SE — ясная ошибка; обратно — можно было бы, но файл уже не на se-a.
      await expectProblem(await transfer(file.id, 'se-b'), 400, 'TRANSFER_SAME_ELEMENT');
      assert.equal(
        counterValue(await stack.metrics(), 'artstore_ingester_transfers_total', {
          outcome: 'committed',
          path: 'inline',
        }) >= 1,
        true,
      );
      const committed = (await (
        await fetch(`${stack.ingesterUrl}/api/transactions?state=committed`, {
          headers: auth(stack.adminToken),
        })
      ).json()) as { transactions: { id: string; kind: string; steps: { name: string }[] }[] };
      const view = committed.transactions.find((t) => t.id === result.transfer_id);
      assert.equal(view?.kind, 'transfer');
      assert.deepEqual(
        view.steps.map((s) => s.name),
        ['start', 'prepare:se-b', 'prepare:se-b', 'decision', 'commit'],
      );
    });

    it('копия на целевом SE хранится по политике сжатия (SPEC IN-3), выдаётся исходными байтами', async () => {
      const lines = Array.from(
        { length: 40_000 },
        (_, i) => `${i};поставка;${i * 31};склад ${i % 17}\n`,
      ).join('');
      const bytes = Buffer.from(lines);
      const file = await uploadOk(stack.se('se-a'), bytes, {
        token: stack.adminToken,
        name: 'поставки.csv',
        contentType: 'text/csv',
      });
      const response = await transfer(file.id, 'se-b');
      assert.equal(response.status, 200, await response.clone().text());
      const copy = (await record('se-b', file.id))!;
      const attr = await attrOf('se-b', copy);
      assert.equal(attr.sha256, file.sha256);
      assert.equal(attr.stored.encoding, 'br');
      assert.ok(attr.stored.size < bytes.length / 2, `сжато до ${attr.stored.size} из ${bytes.length}`);
      await assertOneActiveCopy(file.id, bytes, 'se-b');
    });

    it('право storage:manage нужно на обоих SE', async () => {
      const bytes = randomBytes(1000);
      const file = await put('se-a', bytes);
      const onlyTarget = await stack.issuer.mint({
        name: 'op-b',
        roles: ['reader'],
        grants: ['operator@se:se-b'],
      });
      const denied = await expectProblem(await transfer(file.id, 'se-b', onlyTarget), 403, 'FORBIDDEN');
      assert.equal(denied.scope, 'se:se-a');
      await assertOneActiveCopy(file.id, bytes, 'se-a');
    });

    it('prepare: порча байтов источника — TRANSFER_CHECKSUM_MISMATCH, перенос отменён, на целевом SE ничего', async () => {
      const bytes = randomBytes(100_000);
      const file = await put('se-a', bytes);
      // Бит-рот на источнике: байты той же длины, но не те, что записаны в attr.
      await writeFile(join(stack.se('se-a').basePath, file.path), randomBytes(bytes.length));
      const before = (await stack.state('se-b')).files;
      const problem = await expectProblem(await transfer(file.id, 'se-b'), 502, 'TRANSFER_ABORTED');
      assert.equal(problem.cause_code, 'TRANSFER_CHECKSUM_MISMATCH');
      assert.equal(await record('se-b', file.id), undefined);
      assert.deepEqual((await stack.state('se-b')).files, before, 'на целевом SE не осталось ни байта');
      assert.equal((await record('se-a', file.id))?.status, 'active', 'файл остался на источнике');
    });

    it('prepare: целевой SE отказывает (режим ro) — отмена, файл на источнике', async () => {
      const bytes = randomBytes(10_000);
      const file = await put('se-a', bytes);
      const problem = await expectProblem(await transfer(file.id, 'se-ro'), 502, 'TRANSFER_ABORTED');
      assert.equal(problem.cause_code, 'MODE_FORBIDS_OPERATION');
      await assertOneActiveCopy(file.id, bytes, 'se-a');
    });

    it('prepare: целевой SE недоступен — отмена, отмена на SE ждёт восстановления, файл на источнике', async () => {
      const bytes = randomBytes(10_000);
      const file = await put('se-a', bytes);
      await stack.se('se-dead').stop();
      const problem = await expectProblem(await transfer(file.id, 'se-dead'), 502, 'TRANSFER_ABORTED');
      await assertOneActiveCopy(file.id, bytes, 'se-a');
      // Отменить на мёртвом SE нечем: перенос в aborting без хозяина, его доведёт восстановление.
      const row = await createTransferStore(stack.db).get(problem.transfer_id as string);
      assert.equal(row?.state, 'aborting');
      assert.equal(row?.owner, null);
      // Пока перенос не решён, второй на тот же файл не начинается.
      await expectProblem(await transfer(file.id, 'se-b'), 409, 'TRANSFER_IN_PROGRESS');
    });

    describe('смерть координатора и восстановление другим экземпляром', () => {
      const { logger } = createMemoryLogger('warn');
      const jobs = createInProcessJobQueue();
      after(() => jobs.close());

      /** Координатор над теми же SE и БД; hang — точка, где экземпляр «умирает» (промис не завершится). */
      function coordinator(owner: string, hang?: IngesterFaultPoint) {
        const pool = createStorageElementPool(logger);
        const elements = (): DiscoveryElement[] =>
          ['se-a', 'se-b'].map((id) => ({
            id,
            name: id,
            url: stack.se(id).url,
            priority: 100,
            mode: 'edit',
            health: 'up',
            capacity: null,
          }));
        const store = createTransferStore(stack.db);
        const instance = createTransferCoordinator({
          store,
          owner,
          faults: { hit: (point) => (point === hang ? new Promise<void>(() => {}) : undefined) },
          audit: createAuditClient({ jobs, service: 'ingester-module', logger }),
          metrics: createTransferMetrics(new Registry()),
          logger,
          locator: createFileLocator({ elements, pool }),
          compression: createCompressionPolicy(loadConfig({ env: {} }).ingester.compression),
          client: (id) => pool.withClients(elements()).find((e) => e.id === id)?.client,
          serviceToken: () => stack.issuer.mint({ name: 'svc-ingester', kind: 'service', roles: ['admin'] }),
        });
        return { instance, store, pool };
      }

      // Тот, кто заказал перенос у экземпляра A (его токен A пересылает SE, как в HTTP-маршруте).
      const principal = (): Principal =>
        createPrincipal({
          subject: 'tester',
          username: 'tester',
          kind: 'user',
          roles: ['admin'],
          mustChangePassword: false,
          tokenId: 'test',
          token: stack.adminToken,
        });

      /** Экземпляр A умирает в точке; экземпляр B через stale_after забирает перенос и решает его. */
      async function crashAndRecover(
        point: IngesterFaultPoint,
        bytes: Buffer,
      ): Promise<{ fileId: string; transferId: string }> {
        const file = await put('se-a', bytes);
        const dead = coordinator('instance-a', point);
        const store = dead.store;
        void dead.instance.transfer({
          fileId: file.id,
          target: 'se-b',
          principal: principal(),
          ip: '127.0.0.1',
          requestId: 'req-crash',
        });
        let row;
        for (let i = 0; i < 400 && row === undefined; i++) {
          row = (await store.list({ limit: 1000 })).find(
            (r) => r.file_id === file.id && r.owner === 'instance-a',
          );
          if (row === undefined) await new Promise((r) => setTimeout(r, 10));
        }
        assert.ok(row, 'перенос A записан в журнал');
        // Ждём, пока A дойдёт до точки смерти: состояние строки перестанет меняться.
        const expected = {
          'ingester.transfer.after-prepare-logged': 'preparing',
          'ingester.transfer.after-prepare': 'prepared',
          'ingester.transfer.after-commit-decision': 'committing',
          'ingester.transfer.after-target-commit': 'committing',
        }[point as string];
        for (let i = 0; i < 400 && (await store.get(row.id))?.state !== expected; i++)
          await new Promise((r) => setTimeout(r, 10));
        assert.equal((await store.get(row.id))?.state, expected);
        if (point === 'ingester.transfer.after-target-commit') {
          // A успел commit на целевом SE: пока он «мёртв», активна копия на se-b, а se-a ещё не надгробие.
          for (let i = 0; i < 400 && (await record('se-b', file.id))?.status !== 'active'; i++)
            await new Promise((r) => setTimeout(r, 10));
        }

        const recovering = coordinator('instance-b');
        const loop = startStaleWork({
          name: 'transfer',
          owner: 'instance-b',
          store: recovering.store.stale,
          settings: {
            heartbeat_interval: 60_000,
            stale_after: 200,
            check_interval: 60_000,
            keep_finished: 86_400_000,
          },
          logger,
          resolve: (claimed) => recovering.instance.resolveStale(claimed),
          inFlight: () => recovering.instance.inFlight(),
        });
        try {
          await new Promise((r) => setTimeout(r, 300));
          let claimed = 0;
          for (let i = 0; i < 20 && (await store.get(row.id))?.owner !== 'instance-b'; i++)
            claimed += await loop.runOnce();
          assert.ok(claimed >= 1, 'B забрал перенос A');
        } finally {
          await loop.close();
          await recovering.pool.close();
        }
        return { fileId: file.id, transferId: row.id };
      }

      for (const point of [
        'ingester.transfer.after-prepare-logged',
        'ingester.transfer.after-prepare',
      ] as const) {
        it(`смерть до решения (${point}) — presumed abort: pending на целевом SE удалён, файл на источнике`, async () => {
          const bytes = randomBytes(500_000);
          const { fileId, transferId } = await crashAndRecover(point, bytes);
          const row = await createTransferStore(stack.db).get(transferId);
          assert.equal(row?.state, 'aborted');
          assert.equal(await record('se-b', fileId), undefined, 'pending-копии нет');
          await assertOneActiveCopy(fileId, bytes, 'se-a');
        });
      }

      for (const point of [
        'ingester.transfer.after-commit-decision',
        'ingester.transfer.after-target-commit',
      ] as const) {
        it(`смерть после решения (${point}) — восстановление доводит commit: копия на целевом SE, источник transferred`, async () => {
          const bytes = randomBytes(500_000);
          const { fileId, transferId } = await crashAndRecover(point, bytes);
          const row = await createTransferStore(stack.db).get(transferId);
          assert.equal(row?.state, 'committed');
          assert.ok(row?.steps.some((s) => s.name === 'commit'));
          await assertOneActiveCopy(fileId, bytes, 'se-b');
          assert.equal((await record('se-a', fileId))?.status, 'transferred');
        });
      }
    });
  });
}

for (const backend of SERVICE_BACKENDS) transferSuite(backend);
