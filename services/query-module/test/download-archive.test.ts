// Выдача из архива через query (SPEC QR-6, SE-7): SE переведён rw → ro → ar через свой API, байты одного файла
// ушли в холодное хранение (удалены с диска) — query отдаёт клиенту FILE_ARCHIVED от SE, а не 404 или 503;
// файл, чьи байты на месте, выдаётся; проверка целостности называет архивный файл archived.
import assert from 'node:assert/strict';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import type { TemporaryLink, UploadedFile, VerifyReport } from '@artstore/contracts';
import { seqOf } from '@artstore/storage-element/testing';
import { expectProblem, startQueryStack, uploadToSe, waitIndexed, type QueryStack } from './harness.js';

const TIMEOUT = { timeout: 20_000 };

for (const backend of SERVICE_BACKENDS) {
  describe(`выдача из архивного SE (${backend.name})`, () => {
    let stack: QueryStack;
    let reader: string;
    let kept: UploadedFile;
    let moved: UploadedFile;
    const get = (path: string) =>
      fetch(`${stack.queryUrl}${path}`, { headers: { authorization: `Bearer ${reader}` } });

    before(async () => {
      stack = await startQueryStack({
        backend,
        seMode: 'rw',
        sharedCoordination: true,
        pollIntervalMs: 60_000,
        consistencyWaitMs: 1000,
      });
      reader = await stack.issuer.mint({ name: 'reader', roles: ['reader'] });
      kept = await uploadToSe(stack, 'остаётся.txt', 'байты на месте');
      moved = await uploadToSe(stack, 'уехал.txt', 'байты в холодном хранении');
      await waitIndexed(stack, seqOf(moved), 10_000);
      for (const mode of ['ro', 'ar']) {
        const response = await fetch(`${stack.seUrl}/api/mode`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ mode }),
        });
        assert.equal(response.status, 200, await response.text());
      }
      await unlink(join(stack.seBasePath, moved.path));
    });
    after(() => stack?.close());

    it(
      'байтов нет → 409 FILE_ARCHIVED (и по временной ссылке); запись о файле доступна',
      TIMEOUT,
      async () => {
        const problem = await expectProblem(
          await get(`/api/files/${moved.id}/content`),
          409,
          'FILE_ARCHIVED',
        );
        assert.match(String(problem.detail), /архив/);
        const created = await fetch(`${stack.queryUrl}/api/links`, {
          method: 'POST',
          headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' },
          body: JSON.stringify({ file_id: moved.id }),
        });
        assert.equal(created.status, 201);
        const link = (await created.json()) as TemporaryLink;
        await expectProblem(await fetch(`${stack.queryUrl}${link.url}`), 409, 'FILE_ARCHIVED');
        assert.equal((await get(`/api/files/${moved.id}`)).status, 200);
      },
    );

    it('байты на месте → выдаются из архива', TIMEOUT, async () => {
      const response = await get(`/api/files/${kept.id}/content`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'байты на месте');
    });

    it('проверка целостности: archived, а не missing', TIMEOUT, async () => {
      const response = await get(`/api/files/${moved.id}/verify`);
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as VerifyReport).verdict, 'archived');
    });
  });
}
