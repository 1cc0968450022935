// Место кончилось посреди загрузки (SPEC SE-8, BY-5; issue: «Disk/limit full in mid-upload: clear 507,
// temp removed, existing files intact, writes resume when space is freed»): предел max_size при
// chunked-загрузке, ENOSPC от хранилища (внедрённый сбой) и настоящий ENOSPC на маленькой tmpfs —
// запас для WAL и attr при этом позволяет править и удалять.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline, Transform } from 'node:stream';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { CapacityStatus } from '@artstore/contracts';
import type { BlobStore } from '@artstore/core';
import { createMemoryLogger, listFiles } from '@artstore/core/testing';
import { ATTR_SUFFIX } from '../src/domain/naming.js';
import {
  chunkedUpload,
  expectProblem,
  getJson,
  startSe,
  streamUpload,
  waitFor,
  type RunningSe,
} from './helpers.js';
import { metricValue } from './integrity-fixture.js';
import { upload, uploadOk, type StoredRecord } from './stack.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

interface Kept {
  record: StoredRecord;
  bytes: Buffer;
}

async function keep(se: RunningSe, token: string, name: string, size: number): Promise<Kept> {
  const bytes = randomBytes(size);
  return { record: await uploadOk(se, bytes, { token, name }), bytes };
}

/** Ранее сохранённые файлы отдаются теми же байтами. */
async function assertIntact(se: RunningSe, token: string, files: Kept[]): Promise<void> {
  for (const file of files) {
    const response = await fetch(`${se.url}/api/files/${file.record.id}/content`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 200, file.record.name);
    assert.equal(
      sha256(Buffer.from(await response.arrayBuffer())),
      sha256(file.bytes),
      `${file.record.name} цел`,
    );
  }
}

async function assertNoTemp(se: RunningSe): Promise<void> {
  await waitFor('временных файлов нет', async () => (await listFiles(se.tmpDir)).length === 0);
}

async function assertWritable(se: RunningSe): Promise<void> {
  const ready = await fetch(`${se.url}/health/ready`);
  assert.equal(ready.status, 200, `запись не остановлена: ${await ready.text()}`);
}

function parseProblem(result: { status: number | 'reset'; body: string }): Record<string, unknown> {
  assert.equal(result.status, 507, result.body);
  const problem = JSON.parse(result.body) as Record<string, unknown>;
  assert.equal(problem.code, 'INSUFFICIENT_STORAGE');
  return problem;
}

describe('место кончилось посреди загрузки', () => {
  describe('предел max_size: chunked-загрузка без заявленной длины', () => {
    let se: RunningSe;
    before(async () => {
      se = await startSe({ maxSize: MiB });
    });
    after(() => se.stop());

    it('507 с цифрами, временный файл удалён, прежние файлы целы; после удаления файла загрузка проходит', async () => {
      const uploader = await se.token(['uploader']);
      const earlier = [
        await keep(se, uploader, 'a.bin', 300 * KiB),
        await keep(se, uploader, 'b.bin', 300 * KiB),
      ];

      const problem = parseProblem(await chunkedUpload(se, uploader, 'big.bin', randomBytes(MiB), 16));
      assert.equal(problem.available_bytes, MiB - 600 * KiB);
      assert.equal(problem.used_bytes, 600 * KiB);
      assert.equal(problem.max_bytes, MiB);
      await assertNoTemp(se);
      await assertIntact(se, uploader, earlier);

      const operator = await se.token(['operator']);
      const deleted = await fetch(`${se.url}/api/files/${earlier[0]!.record.id}?reason=free-space`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${operator}` },
      });
      assert.equal(deleted.status, 200, await deleted.text());
      // Место освобождает очистка байтов (purge), а не сама отметка об удалении.
      await waitFor(
        'очистка освободила место',
        async () => (await getJson<CapacityStatus>(se, '/api/capacity', operator)).used_bytes === 300 * KiB,
      );
      const status = await getJson<CapacityStatus>(se, '/api/capacity', operator);
      assert.ok(
        status.disk_free_bytes! > 0 && status.disk_used_percent! > 0 && status.disk_used_percent! < 100,
        JSON.stringify(status),
      );
      assert.equal(status.headroom_bytes, 256 * MiB, 'запас по умолчанию');
      assert.ok((await metricValue(se, 'artstore_se_disk_free_bytes')) > 0);
      const resumed = await chunkedUpload(se, uploader, 'after.bin', randomBytes(600 * KiB), 8);
      assert.equal(resumed.status, 201, resumed.body);
      await assertIntact(se, uploader, earlier.slice(1));
    });
  });

  describe('ENOSPC от хранилища (внедрённый сбой)', () => {
    let se: RunningSe;
    const fault = { armed: false };
    before(async () => {
      se = await startSe({
        wrapBlobs: (blobs: BlobStore): BlobStore => ({
          ...blobs,
          // Байты данных (не attr) проходят через поток, который после 256 КиБ падает с ENOSPC, как write(2).
          put: (key, data, ...rest) =>
            blobs.put(
              key,
              fault.armed && !key.endsWith(ATTR_SUFFIX)
                ? pipeline(data, failAfter(256 * KiB), () => {})
                : data,
              ...rest,
            ),
        }),
      });
    });
    after(() => se.stop());

    it('507, временный файл удалён, запись не остановлена, прежние файлы целы; место есть — загрузка проходит', async () => {
      const uploader = await se.token(['uploader']);
      const earlier = [await keep(se, uploader, 'a.bin', 100 * KiB)];
      fault.armed = true;
      const problem = parseProblem(await chunkedUpload(se, uploader, 'big.bin', randomBytes(MiB), 8));
      assert.match(problem.detail as string, /нет места/);
      await assertNoTemp(se);
      await assertWritable(se);
      await assertIntact(se, uploader, earlier);
      fault.armed = false;
      await keep(se, uploader, 'after.bin', MiB);
    });
  });

  describe('настоящий ENOSPC: SE на tmpfs 16 МиБ, запас 2 МиБ', () => {
    it('ENOSPC посреди записи — 507; на запасе правки и удаления проходят, загрузки — нет; место освободили — запись идёт', async (t) => {
      const tmpfs = await mountTmpfs('16m');
      if (typeof tmpfs === 'string') {
        t.skip(tmpfs);
        return;
      }
      let se: RunningSe | undefined;
      try {
        const log = createMemoryLogger('info');
        se = await startSe({
          basePath: join(tmpfs.dir, 'se'),
          maxSize: 2 ** 30,
          logger: log.logger,
          storage: { capacity: { headroom: '2MiB' } },
        });
        const running = se;
        const uploader = await se.token(['uploader']);
        const operator = await se.token(['operator']);
        const earlier = [
          await keep(se, uploader, 'a.bin', 256 * KiB),
          await keep(se, uploader, 'b.bin', 256 * KiB),
        ];

        // Длина заявлена: резерв взят при старте загрузки, пока место было. Первый МиБ ложится во
        // временный файл, затем диск заполняют снаружи — следующая запись SE получает ENOSPC.
        const filler = join(tmpfs.dir, 'filler.bin');
        const body = randomBytes(4 * MiB);
        async function* paced(): AsyncGenerator<Buffer> {
          yield body.subarray(0, MiB);
          await waitFor(
            'первый МиБ во временном файле',
            async () => (await tempBytes(running.tmpDir)) >= MiB,
          );
          await fillDisk(filler);
          yield body.subarray(MiB);
        }
        const problem = parseProblem(await streamUpload(se, uploader, 'big.bin', paced(), body.length));
        assert.match(problem.detail as string, /файловой системе хранилища нет места/);
        await assertNoTemp(se);
        await assertWritable(se);
        await assertIntact(se, uploader, earlier);

        // Свободно только то, что занимал удалённый временный файл (≤ 1 МиБ), — меньше запаса.
        const refused = await expectProblem(
          await upload(se, randomBytes(10 * KiB), { token: uploader, name: 'small.bin' }),
          507,
          'INSUFFICIENT_STORAGE',
        );
        assert.equal(refused.headroom_bytes, 2 * MiB);
        assert.ok((refused.disk_free_bytes as number) < 2 * MiB, String(refused.disk_free_bytes));
        assert.match(refused.detail as string, /из них 2\.0 MiB — запас для WAL и attr/);

        // Запас тратят WAL и attr: правка метаданных и удаление проходят, метаданные не портятся.
        const patched = await fetch(`${se.url}/api/files/${earlier[0]!.record.id}`, {
          method: 'PATCH',
          headers: {
            authorization: `Bearer ${uploader}`,
            'content-type': 'application/json',
            'if-match': '"v1"',
          },
          body: JSON.stringify({ description: 'правка на заполненном диске' }),
        });
        assert.equal(patched.status, 200, await patched.text());
        const deleted = await fetch(`${se.url}/api/files/${earlier[1]!.record.id}?reason=disk-full`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${operator}` },
        });
        assert.equal(deleted.status, 200, await deleted.text());
        const record = await getJson<{ version: number; metadata: { description: string } }>(
          se,
          `/api/files/${earlier[0]!.record.id}`,
          uploader,
        );
        assert.deepEqual([record.version, record.metadata.description], [2, 'правка на заполненном диске']);
        await assertWritable(se);

        // Свободно ≈ 1 МиБ из 16 — заполнение за 90 %: тревога (порог 90 или 95) в ответе, журнале и метрике.
        const full = await getJson<CapacityStatus>(se, '/api/capacity', operator);
        assert.ok(full.disk_used_percent! >= 90 && full.alarm_level >= 90, JSON.stringify(full));
        const alarms = () =>
          log
            .text()
            .split('\n')
            .filter((line) => line.includes('"capacity_alarm"'))
            .map((line) => JSON.parse(line) as { alarm_level: number });
        assert.equal(alarms().at(-1)?.alarm_level, full.alarm_level);
        assert.equal(await metricValue(se, 'artstore_se_capacity_alarm_level'), full.alarm_level);

        await rm(filler);
        await keep(se, uploader, 'after.bin', MiB);
        const freed = await getJson<CapacityStatus>(se, '/api/capacity', operator);
        assert.equal(freed.alarm_level, 0);
        assert.equal(alarms().at(-1)?.alarm_level, 0);
        await assertIntact(se, uploader, earlier.slice(0, 1));
      } finally {
        await se?.stop();
        await tmpfs.unmount();
      }
    });
  });
});

/** Поток, который пропускает limit байт, а дальше падает с ENOSPC, как write(2) на полном диске. */
function failAfter(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen <= limit) callback(null, chunk);
      else
        callback(
          Object.assign(new Error('ENOSPC: no space left on device, write'), {
            code: 'ENOSPC',
            errno: -28,
            syscall: 'write',
          }),
        );
    },
  });
}

/**
 * Маленькая tmpfs под корень SE; нельзя (не root, нет CAP_SYS_ADMIN, нет mount) — строка с причиной
 * пропуска: ENOSPC тогда проверяет только внедрённый сбой.
 */
async function mountTmpfs(size: string): Promise<{ dir: string; unmount(): Promise<void> } | string> {
  const run = promisify(execFile);
  const dir = await mkdtemp(join(tmpdir(), 'artstore-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    const reason = ((error as { stderr?: string }).stderr || (error as Error).message).trim().split('\n')[0];
    return `tmpfs не смонтировать (${reason}): нужен root или CAP_SYS_ADMIN; ENOSPC проверен внедрённым сбоем`;
  }
  return {
    dir,
    unmount: async () => {
      await run('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Заполняет файловую систему файлом path до ENOSPC. */
async function fillDisk(path: string): Promise<void> {
  const handle = await open(path, 'w');
  const chunk = Buffer.alloc(64 * KiB, 1);
  try {
    for (;;) await handle.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
}

async function tempBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await listFiles(dir))
    total += (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size;
  return total;
}
