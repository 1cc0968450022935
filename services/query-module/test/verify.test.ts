// Проверка целостности через query (SPEC QR-7, §9 GET /api/files/{id}/verify): query находит SE-владельца и
// отдаёт его вердикт как есть. Порча — прямо на диске SE: байт файла и attr-файл рядом с ним (SPEC SE-1).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import type { UploadedFile, VerifyReport } from '@artstore/contracts';
import { seqOf } from '@artstore/storage-element/testing';
import { expectProblem, startQueryStack, uploadToSe, waitIndexed, type QueryStack } from './harness.js';

const TIMEOUT = { timeout: 20_000 };
/** SPEC SE-1: attr-файл лежит рядом с байтами — `<stored name>.attr.json`. */
const ATTR_SUFFIX = '.attr.json';

for (const backend of SERVICE_BACKENDS) {
  describe(`проверка целостности через query (${backend.name})`, () => {
    let stack: QueryStack;
    let auditor: string;

    before(async () => {
      stack = await startQueryStack({
        backend,
        sharedCoordination: true,
        pollIntervalMs: 60_000,
        consistencyWaitMs: 1000,
      });
      auditor = await stack.issuer.mint({ name: 'auditor', roles: ['auditor'] });
    });
    after(() => stack?.close());

    const verify = (id: string, token: string | null = auditor) =>
      fetch(`${stack.queryUrl}/api/files/${id}/verify`, {
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
      });

    async function verdict(id: string): Promise<VerifyReport> {
      const response = await verify(id);
      const text = await response.text();
      assert.equal(response.status, 200, text);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      return JSON.parse(text) as VerifyReport;
    }

    async function indexed(name: string, body: string): Promise<UploadedFile> {
      const file = await uploadToSe(stack, name, body);
      await waitIndexed(stack, seqOf(file), 10_000);
      return file;
    }

    const failed = (report: VerifyReport) =>
      report.checks
        .filter((c) => !c.ok)
        .map((c) => c.name)
        .sort();

    it('целый файл — ok, все проверки пройдены; ответ — отчёт SE как есть', TIMEOUT, async () => {
      const file = await indexed('целый.txt', 'целые байты');
      const report = await verdict(file.id);
      assert.equal(report.verdict, 'ok');
      assert.equal(report.id, file.id);
      assert.equal(report.status, 'active');
      assert.deepEqual(failed(report), []);
      assert.deepEqual(report.checks.map((c) => c.name).sort(), [
        'attr_file',
        'attr_signature',
        'cache_row',
        'cache_signature',
        'data_file',
        'sha256',
        'size',
      ]);
      const onSe = await fetch(`${stack.seUrl}/api/files/${file.id}/verify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${auditor}` },
      });
      const direct = (await onSe.json()) as VerifyReport;
      assert.deepEqual({ ...report, checked_at: null }, { ...direct, checked_at: null });
    });

    it('изменён байт на диске → corrupted: sha256 не совпал', TIMEOUT, async () => {
      const file = await indexed('испорченный.txt', 'байты, которые испортит носитель');
      const path = join(stack.seBasePath, file.path);
      const bytes = await readFile(path);
      bytes[3]! ^= 0xff;
      await writeFile(path, bytes);
      const report = await verdict(file.id);
      assert.equal(report.verdict, 'corrupted');
      assert.deepEqual(failed(report), ['sha256']);
      assert.equal(report.checks.find((c) => c.name === 'sha256')!.expected, file.sha256);
    });

    it(
      'изменён attr-файл → signature_invalid: подпись attr не сходится и attr расходится с кешем',
      TIMEOUT,
      async () => {
        const file = await indexed('attr.txt', 'attr подделают');
        const attrPath = join(stack.seBasePath, `${file.path}${ATTR_SUFFIX}`);
        const attr = JSON.parse(await readFile(attrPath, 'utf8')) as Record<string, unknown>;
        await writeFile(attrPath, JSON.stringify({ ...attr, retention_until: '2000-01-01T00:00:00.000Z' }));
        const report = await verdict(file.id);
        assert.equal(report.verdict, 'signature_invalid');
        assert.deepEqual(failed(report), ['attr_signature', 'cache_row']);
      },
    );

    it(
      'права и ошибки: грант на другой SE → 403; без токена → 401; неизвестный id → 404; не UUID → 400',
      TIMEOUT,
      async () => {
        const file = await indexed('права.txt', 'x');
        const elsewhere = await stack.issuer.mint({ roles: [], grants: ['auditor@se:se-other'] });
        const problem = await expectProblem(await verify(file.id, elsewhere), 403, 'FORBIDDEN');
        assert.equal(problem.permission, 'files:read');
        await expectProblem(await verify(file.id, null), 401, 'AUTH_TOKEN_MISSING');
        await expectProblem(await verify(randomUUID()), 404, 'FILE_NOT_FOUND');
        await expectProblem(await verify('not-a-uuid'), 400, 'VALIDATION_FAILED');
      },
    );
  });
}
