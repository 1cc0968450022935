// Участник двухфазного переноса на SE (SPEC IN-6): prepare кладёт копию pending со сверкой sha256 и
// размера, commit делает её активной, abort удаляет только pending, источник получает надгробие
// transferred, а байты стирает фоновая очистка. На PGlite и на настоящем PostgreSQL.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testDatabaseBackends, type OpenedTestDatabase } from '@artstore/adapters/testing';
import { uuidv7 } from '@artstore/core';
import type { FileRecord, TransferSource } from '@artstore/contracts';
import type { AttrRecord } from '../src/domain/attr.js';
import { changes, uploadOk } from './stack.js';
import { expectProblem, listStored, startSe, waitFor, type RunningSe } from './helpers.js';

type TransferView = FileRecord & { transfer: AttrRecord['transfer'] | null };

function sourceOf(bytes: Buffer, overrides: Partial<TransferSource> = {}): TransferSource {
  return {
    transfer_id: randomUUID(),
    source_element: 'se-source',
    name: 'Акт приёмки.pdf',
    content_type: 'application/pdf',
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    metadata: { description: 'перенос', tags: ['архив'], custom: { dept: 'ОК' } },
    created_at: '2025-01-02T03:04:05.000Z',
    created_by: 'alice',
    retention_until: null,
    ...overrides,
  };
}

function transferSuite(backendName: string, open: () => Promise<OpenedTestDatabase>) {
  describe(`storage-element: участник переноса (${backendName})`, () => {
    let se: RunningSe;
    let database: OpenedTestDatabase;
    let admin: string;
    before(async () => {
      database = await open();
      se = await startSe({ shared: { db: database.db, tablePrefix: 'tr_' } });
      admin = await se.token(['admin']);
    });
    after(async () => {
      await se.stop();
      await database.close();
    });

    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    const prepare = (id: string, bytes: Buffer, source: TransferSource, token = admin) =>
      fetch(`${se.url}/api/transfers/${id}`, {
        method: 'PUT',
        headers: {
          ...auth(token),
          'content-type': 'application/octet-stream',
          'artstore-transfer-source': Buffer.from(JSON.stringify(source)).toString('base64url'),
        },
        body: bytes,
      });
    const commit = (id: string, transferId: string) =>
      fetch(`${se.url}/api/transfers/${id}/commit?transfer_id=${transferId}`, {
        method: 'POST',
        headers: auth(admin),
      });
    const abort = (id: string, transferId: string) =>
      fetch(`${se.url}/api/transfers/${id}?transfer_id=${transferId}`, {
        method: 'DELETE',
        headers: auth(admin),
      });
    const content = (id: string) => fetch(`${se.url}/api/files/${id}/content`, { headers: auth(admin) });
    const feedIds = async () =>
      (await changes(se, admin, 'after=0&limit=1000')).changes.map(
        (c) => `${c.record.id}:${c.record.status}`,
      );

    it('prepare → pending (не выдаётся, не в ленте) → commit → active; повторы идемпотентны', async () => {
      const bytes = randomBytes(200_000);
      const id = uuidv7();
      const source = sourceOf(bytes);
      await expectProblem(await prepare(id, bytes, source, await se.token(['uploader'])), 403, 'FORBIDDEN');

      const prepared = await prepare(id, bytes, source);
      assert.equal(prepared.status, 201, await prepared.clone().text());
      const pending = (await prepared.json()) as TransferView;
      assert.equal(pending.status, 'pending');
      assert.equal(pending.sha256, source.sha256);
      assert.equal(pending.created_by, 'alice', 'история файла — из источника');
      assert.equal(pending.created_at, source.created_at);
      assert.deepEqual(pending.metadata, source.metadata);
      assert.equal(pending.transfer?.committed_at, null);
      await expectProblem(await content(id), 404, 'FILE_NOT_FOUND');
      assert.ok(!(await feedIds()).some((entry) => entry.startsWith(id)), 'pending не попадает в ленту');

      // Повтор prepare того же переноса (потерянный ответ) — тот же ответ, без второй записи.
      const again = (await (await prepare(id, bytes, source)).json()) as TransferView;
      assert.equal(again.version, pending.version);
      // Другой перенос с тем же id — занято.
      await expectProblem(
        await prepare(id, bytes, { ...source, transfer_id: randomUUID() }),
        409,
        'FILE_ID_TAKEN',
      );
      await expectProblem(await commit(id, randomUUID()), 409, 'TRANSFER_NOT_PENDING');

      const committed = (await (await commit(id, source.transfer_id)).json()) as TransferView;
      assert.equal(committed.status, 'active');
      assert.equal(committed.version, 2);
      assert.notEqual(committed.transfer?.committed_at, null);
      const again2 = (await (await commit(id, source.transfer_id)).json()) as TransferView;
      assert.equal(again2.version, 2, 'повтор commit не делает новой версии');
      const download = await content(id);
      assert.equal(download.status, 200);
      assert.ok(Buffer.from(await download.arrayBuffer()).equals(bytes));
      assert.ok((await feedIds()).includes(`${id}:active`));
      // Активный файл abort не трогает.
      await expectProblem(await abort(id, source.transfer_id), 409, 'TRANSFER_NOT_PENDING');
      const attrOnDisk = JSON.parse(
        await readFile(join(se.basePath, `${committed.path}.attr.json`), 'utf8'),
      ) as AttrRecord;
      assert.equal(attrOnDisk.status, 'active');
      assert.equal(attrOnDisk.transfer?.source, 'se-source');
    });

    it('несовпадение sha256 или размера — отказ, ничего не остаётся; abort pending удаляет копию', async () => {
      const before = await listStored(se.basePath);
      const bytes = randomBytes(50_000);
      const id = uuidv7();
      const wrongHash = sourceOf(bytes, { sha256: createHash('sha256').update('другое').digest('hex') });
      const mismatch = await expectProblem(
        await prepare(id, bytes, wrongHash),
        422,
        'TRANSFER_CHECKSUM_MISMATCH',
      );
      assert.equal(mismatch.actual_sha256, sourceOf(bytes).sha256);
      await expectProblem(
        await prepare(id, bytes, sourceOf(bytes, { size: bytes.length + 1 })),
        422,
        'TRANSFER_CHECKSUM_MISMATCH',
      );
      assert.deepEqual(await listStored(se.basePath), before, 'после отказа на диске ничего нового');
      assert.equal((await fetch(`${se.url}/api/files/${id}`, { headers: auth(admin) })).status, 404);

      const source = sourceOf(bytes);
      assert.equal((await prepare(id, bytes, source)).status, 201);
      assert.equal((await listStored(se.basePath)).length, before.length + 2, 'данные и attr pending-копии');
      assert.deepEqual(await (await abort(id, source.transfer_id)).json(), { removed: true });
      assert.deepEqual(await listStored(se.basePath), before);
      assert.deepEqual(
        await (await abort(id, source.transfer_id)).json(),
        { removed: false },
        'повтор abort',
      );
      assert.equal((await fetch(`${se.url}/api/files/${id}`, { headers: auth(admin) })).status, 404);
    });

    it('источник: надгробие transferred, байты стирает очистка; повтор идемпотентен', async () => {
      const file = await uploadOk(se, 'переносимые байты', { token: admin, name: 'Отчёт.txt' });
      const transferId = randomUUID();
      const mark = () =>
        fetch(`${se.url}/api/files/${file.id}/transferred`, {
          method: 'POST',
          headers: { ...auth(admin), 'content-type': 'application/json' },
          body: JSON.stringify({ target: 'se-target', transfer_id: transferId }),
        });
      const first = await mark();
      assert.equal(first.status, 200, await first.clone().text());
      const tombstone = (await first.json()) as TransferView;
      assert.equal(tombstone.status, 'transferred');
      assert.equal(tombstone.transfer?.target, 'se-target');
      // Повтор — успех с тем же надгробием (очистка могла уже добавить purged_at новой версией).
      const repeated = (await (await mark()).json()) as TransferView;
      assert.deepEqual([repeated.status, repeated.transfer?.id], ['transferred', transferId]);
      await expectProblem(await content(file.id), 404, 'FILE_NOT_FOUND');
      const dataPath = join(se.basePath, file.path);
      await waitFor(
        'очистка байтов перенесённого файла',
        async () =>
          !(await stat(dataPath).then(
            () => true,
            () => false,
          )),
      );
      await waitFor('отметка purged_at', async () => {
        const attr = JSON.parse(await readFile(`${dataPath}.attr.json`, 'utf8')) as AttrRecord;
        return attr.transfer?.purged_at !== null;
      });
      assert.ok((await feedIds()).includes(`${file.id}:transferred`));
    });
  });
}

for (const backend of testDatabaseBackends('se_transfer')) transferSuite(backend.name, () => backend.open());

describe('storage-element: режим и перенос', () => {
  let se: RunningSe;
  before(async () => {
    se = await startSe({ mode: 'ro' });
  });
  after(() => se.stop());

  it('в ro перенос с этого SE запрещён (SPEC SE-7), ошибка называет режим', async () => {
    const response = await fetch(`${se.url}/api/files/${uuidv7()}/transferred`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await se.token(['admin'])}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'se-target', transfer_id: randomUUID() }),
    });
    const problem = await expectProblem(response, 409, 'MODE_FORBIDS_OPERATION');
    assert.equal(problem.operation, 'transfer_out');
  });
});
