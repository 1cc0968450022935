// Сессии возобновляемых загрузок SE (SPEC IN-1, BY-6): смещение, контрольные суммы, гонка кусков,
// прекращение, истечение, владелец и — на обеих БД — сохранность принятого смещения через перезапуск.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testDatabaseBackends } from '@artstore/adapters/testing';
import type {
  CapacityStatus,
  UploadPatchResult,
  UploadSessionList,
  UploadSessionView,
} from '@artstore/contracts';
import type { BlobStore } from '@artstore/core';
import { createTestTokenIssuer, waitFor } from '@artstore/core/testing';
import { uploadSessionsDir } from '../src/domain/upload-sessions.js';
import { expectProblem, getJson, listStored, startSe, type RunningSe } from './helpers.js';
import { startTestStorageElement } from './stack.js';

interface Target {
  url: string;
}

function createSession(se: Target, token: string, length: number, name = 'отчёт.bin'): Promise<Response> {
  return fetch(`${se.url}/api/uploads`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'artstore-name': encodeURIComponent(name),
      'upload-length': String(length),
      'artstore-content-type': 'application/x-test',
    },
  });
}

async function createOk(se: Target, token: string, length: number): Promise<UploadSessionView> {
  const response = await createSession(se, token, length);
  const text = await response.text();
  assert.equal(response.status, 201, text);
  return JSON.parse(text) as UploadSessionView;
}

function patch(
  se: Target,
  token: string,
  id: string,
  offset: number,
  body: Buffer,
  extra: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${se.url}/api/uploads/${id}`, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
      ...extra,
    },
    body,
  });
}

async function patchOk(
  se: Target,
  token: string,
  id: string,
  offset: number,
  body: Buffer,
  extra: Record<string, string> = {},
): Promise<UploadPatchResult> {
  const response = await patch(se, token, id, offset, body, extra);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text) as UploadPatchResult;
}

async function offsetOf(se: Target, token: string, id: string): Promise<number> {
  const response = await fetch(`${se.url}/api/uploads/${id}`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  return Number(response.headers.get('upload-offset'));
}

async function reservedBytes(se: Target, token: string): Promise<number> {
  const response = await fetch(`${se.url}/api/capacity`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  return ((await response.json()) as CapacityStatus).reserved_bytes;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const digest = (algorithm: string, bytes: Buffer) => createHash(algorithm).update(bytes).digest('base64');

describe('SE: сессии возобновляемых загрузок', { timeout: 60_000 }, () => {
  let se: RunningSe;
  let writer: string;
  let other: string;
  let admin: string;

  before(async () => {
    se = await startSe({ storage: { uploads: { expiration: '2s', sweep_interval: 100 } } });
    writer = await se.token(['uploader'], { name: 'alice' });
    other = await se.token(['uploader'], { name: 'bob' });
    admin = await se.token(['admin'], { name: 'root' });
  });
  after(() => se.stop());

  it('куски по смещению собирают файл: запись SE-3, части удалены, GET отвечает file_id', async () => {
    const bytes = randomBytes(300_000);
    const session = await createOk(se, writer, bytes.length);
    assert.equal(session.offset, 0);
    assert.equal(await reservedBytes(se, admin), bytes.length);
    const first = await patchOk(se, writer, session.id, 0, bytes.subarray(0, 100_000));
    assert.equal(first.offset, 100_000);
    assert.equal(first.file, undefined);
    assert.equal(await offsetOf(se, writer, session.id), 100_000);
    const last = await patchOk(se, writer, session.id, 100_000, bytes.subarray(100_000), {
      'upload-checksum': `sha1 ${digest('sha1', bytes.subarray(100_000))}`,
    });
    assert.equal(last.finished, true);
    assert.equal(last.file?.id, session.file_id);
    assert.equal(last.file?.sha256, sha256(bytes));
    assert.equal(last.file?.content_type, 'application/x-test');
    assert.equal(last.file?.name, 'отчёт.bin');
    const content = await fetch(`${se.url}/api/files/${session.file_id}/content`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(sha256(Buffer.from(await content.arrayBuffer())), sha256(bytes));
    assert.deepEqual(await readdir(join(uploadSessionsDir(se.basePath), session.id)), ['info.json']);
    const after = await getJson<UploadSessionView>(se, `/api/uploads/${session.id}`, writer);
    assert.equal(after.finished, true);
    assert.equal(after.file_id, session.file_id);
    assert.equal(await reservedBytes(se, admin), 0);
    // Части — в служебном .artstore/: среди данных и attr корня их нет (SPEC SE-1, BY-1).
    assert.equal((await listStored(se.basePath)).filter((f) => f.includes(session.id)).length, 0);
  });

  it('неверный Upload-Offset — 409 с принятым смещением, смещение не меняется', async () => {
    const session = await createOk(se, writer, 10);
    await patchOk(se, writer, session.id, 0, Buffer.from('abc'));
    const problem = await expectProblem(
      await patch(se, writer, session.id, 1, Buffer.from('zz')),
      409,
      'UPLOAD_OFFSET_MISMATCH',
    );
    assert.equal(problem.offset, 3);
    assert.equal(await offsetOf(se, writer, session.id), 3);
  });

  it('неверная контрольная сумма — 460, неизвестный алгоритм — 400; смещение прежнее, байты не остались', async () => {
    const session = await createOk(se, writer, 8);
    await expectProblem(
      await patch(se, writer, session.id, 0, Buffer.from('abcd'), {
        'upload-checksum': `sha256 ${digest('sha256', Buffer.from('abce'))}`,
      }),
      460,
      'UPLOAD_CHECKSUM_MISMATCH',
    );
    await expectProblem(
      await patch(se, writer, session.id, 0, Buffer.from('abcd'), { 'upload-checksum': 'crc32 AAAAAA==' }),
      400,
      'UPLOAD_CHECKSUM_UNSUPPORTED',
    );
    assert.equal(await offsetOf(se, writer, session.id), 0);
    assert.equal((await stat(join(uploadSessionsDir(se.basePath), session.id, 'data'))).size, 0);
    await patchOk(se, writer, session.id, 0, Buffer.from('abcd'), {
      'upload-checksum': `md5 ${digest('md5', Buffer.from('abcd'))}`,
    });
    assert.equal(await offsetOf(se, writer, session.id), 4);
  });

  it('кусок длиннее остатка — 413, за длину ничего не пишется', async () => {
    const session = await createOk(se, writer, 5);
    await expectProblem(
      await patch(se, writer, session.id, 0, Buffer.from('123456')),
      413,
      'UPLOAD_LENGTH_EXCEEDED',
    );
    assert.equal(await offsetOf(se, writer, session.id), 0);
    assert.equal((await stat(join(uploadSessionsDir(se.basePath), session.id, 'data'))).size, 0);
    await expectProblem(await createSession(se, writer, 10 ** 15), 413, 'UPLOAD_LENGTH_EXCEEDED');
  });

  it('два куска с одним смещением одновременно: проходит ровно один, байты не перемешаны', async () => {
    const size = 2 * 1024 * 1024;
    const a = Buffer.alloc(size, 0x61);
    const b = Buffer.alloc(size, 0x62);
    const session = await createOk(se, writer, size * 2);
    const [ra, rb] = await Promise.all([
      patch(se, writer, session.id, 0, a),
      patch(se, writer, session.id, 0, b),
    ]);
    const statuses = [ra.status, rb.status].sort();
    assert.deepEqual(statuses, [200, 409], `${await ra.text()} ${await rb.text()}`);
    assert.equal(await offsetOf(se, writer, session.id), size);
    const data = await readFile(join(uploadSessionsDir(se.basePath), session.id, 'data'));
    const winner = ra.status === 200 ? a : b;
    assert.ok(data.equals(winner), 'в файле данных — ровно один кусок целиком');
  });

  it('чужая сессия — 404; администратор видит её в списке и прерывает; DELETE — 204, затем 404, резерв снят', async () => {
    const session = await createOk(se, writer, 1000);
    await expectProblem(
      await fetch(`${se.url}/api/uploads/${session.id}`, { headers: { authorization: `Bearer ${other}` } }),
      404,
      'UPLOAD_SESSION_NOT_FOUND',
    );
    await expectProblem(
      await patch(se, other, session.id, 0, Buffer.from('x')),
      404,
      'UPLOAD_SESSION_NOT_FOUND',
    );
    await expectProblem(
      await fetch(`${se.url}/api/uploads`, { headers: { authorization: `Bearer ${writer}` } }),
      403,
      'FORBIDDEN',
    );
    const list = await getJson<UploadSessionList>(se, '/api/uploads', admin);
    assert.ok(list.sessions.some((s) => s.id === session.id && s.owner === 'alice'));
    const reserved = await reservedBytes(se, admin);
    const deleted = await fetch(`${se.url}/api/uploads/${session.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(deleted.status, 204);
    await expectProblem(
      await patch(se, writer, session.id, 0, Buffer.from('x')),
      404,
      'UPLOAD_SESSION_NOT_FOUND',
    );
    assert.equal(await reservedBytes(se, admin), reserved - 1000);
    await assert.rejects(stat(join(uploadSessionsDir(se.basePath), session.id)), { code: 'ENOENT' });
  });

  it('истёкшая сессия — 410, уборка удаляет её части и резерв, затем 404', async () => {
    const session = await createOk(se, writer, 100);
    await patchOk(se, writer, session.id, 0, Buffer.from('abc'));
    await waitFor(
      'сессия истекла',
      async () => (await patch(se, writer, session.id, 3, Buffer.from('d'))).status,
      (status) => status !== 200,
      { timeoutMs: 5000 },
    );
    await waitFor(
      'уборка удалила сессию',
      () =>
        stat(join(uploadSessionsDir(se.basePath), session.id)).then(
          () => true,
          () => false,
        ),
      (exists) => !exists,
    );
    await expectProblem(
      await patch(se, writer, session.id, 3, Buffer.from('d')),
      404,
      'UPLOAD_SESSION_NOT_FOUND',
    );
  });

  it('истёкшая, но не убранная сессия отвечает 410', async () => {
    const slow = await startSe({ storage: { uploads: { expiration: 300, sweep_interval: '1h' } } });
    try {
      const token = await slow.token(['uploader'], { name: 'alice' });
      const session = await createOk(slow, token, 10);
      await new Promise((resolve) => setTimeout(resolve, 400));
      await expectProblem(
        await patch(slow, token, session.id, 0, Buffer.from('a')),
        410,
        'UPLOAD_SESSION_EXPIRED',
      );
      await expectProblem(
        await fetch(`${slow.url}/api/uploads/${session.id}`, {
          headers: { authorization: `Bearer ${token}` },
        }),
        410,
        'UPLOAD_SESSION_EXPIRED',
      );
    } finally {
      await slow.stop();
    }
  });
});

describe('SE: завершение загрузки без копии байтов (BlobStore.adopt, SPEC IN-1)', { timeout: 60_000 }, () => {
  let se: RunningSe;
  let plain: RunningSe;
  let writer: string;
  let adopted = 0;
  /** Следующая запись attr откажет: сбой между adopt данных и attr (SPEC SE-3). */
  let failNextAttr = false;

  before(async () => {
    se = await startSe({
      wrapBlobs: (blobs): BlobStore => ({
        ...blobs,
        adopt: (localPath, key, options) => {
          adopted += 1;
          return blobs.adopt!(localPath, key, options);
        },
        put: (key, data, options) => {
          if (failNextAttr && key.endsWith('.attr.json')) {
            failNextAttr = false;
            data.destroy();
            return Promise.reject(new Error('внедрённый сбой записи attr'));
          }
          return blobs.put(key, data, options);
        },
      }),
    });
    // Хранилище без adopt (как S3): файл собирается прежним путём — чтением файла данных сессии.
    plain = await startSe({ wrapBlobs: (blobs): BlobStore => ({ ...blobs, adopt: undefined }) });
    writer = await se.token(['uploader'], { name: 'alice' });
  });
  after(async () => {
    await se.stop();
    await plain.stop();
  });

  it('последний кусок: файл данных сессии становится данными записи (тот же inode), отвергнутый кусок не в sha256', async () => {
    const bytes = randomBytes(250_000);
    const session = await createOk(se, writer, bytes.length);
    await patchOk(se, writer, session.id, 0, bytes.subarray(0, 100_000));
    // Отвергнутый кусок прошёл через хеш куска, но в sha256 файла попасть не должен.
    await expectProblem(
      await patch(se, writer, session.id, 100_000, Buffer.alloc(50_000, 1), {
        'upload-checksum': `sha1 ${digest('sha1', Buffer.alloc(50_000, 2))}`,
      }),
      460,
      'UPLOAD_CHECKSUM_MISMATCH',
    );
    const part = join(uploadSessionsDir(se.basePath), session.id, 'data');
    const inode = (await stat(part)).ino;
    const before = adopted;
    const last = await patchOk(se, writer, session.id, 100_000, bytes.subarray(100_000));
    assert.equal(adopted, before + 1);
    assert.equal(last.file?.sha256, sha256(bytes));
    const [data] = (await listStored(se.basePath)).filter(
      (f) => f.includes(session.file_id) && !f.endsWith('.attr.json'),
    );
    assert.ok(data, 'файла данных записи нет в корне');
    assert.equal((await stat(join(se.basePath, data))).ino, inode);
    assert.equal(sha256(await readFile(join(se.basePath, data))), sha256(bytes));
    assert.deepEqual(await readdir(join(uploadSessionsDir(se.basePath), session.id)), ['info.json']);
  });

  it('сбой между adopt и attr: запись откачена, части целы, повтор с Upload-Offset = длине завершает', async () => {
    const bytes = randomBytes(120_000);
    const session = await createOk(se, writer, bytes.length);
    failNextAttr = true;
    await expectProblem(await patch(se, writer, session.id, 0, bytes), 500, 'INTERNAL_ERROR');
    assert.equal((await listStored(se.basePath)).filter((f) => f.includes(session.file_id)).length, 0);
    const part = join(uploadSessionsDir(se.basePath), session.id, 'data');
    assert.equal(sha256(await readFile(part)), sha256(bytes));
    assert.equal(await offsetOf(se, writer, session.id), bytes.length);
    const done = await patchOk(se, writer, session.id, bytes.length, Buffer.alloc(0));
    assert.equal(done.file?.id, session.file_id);
    assert.equal(done.file?.sha256, sha256(bytes));
    const content = await fetch(`${se.url}/api/files/${session.file_id}/content`, {
      headers: { authorization: `Bearer ${await se.token(['admin'], { name: 'root' })}` },
    });
    assert.equal(sha256(Buffer.from(await content.arrayBuffer())), sha256(bytes));
  });

  it('хранилище без adopt: файл собирается чтением частей, sha256 тот же', async () => {
    const token = await plain.token(['uploader'], { name: 'alice' });
    const bytes = randomBytes(150_000);
    const session = await createOk(plain, token, bytes.length);
    await patchOk(plain, token, session.id, 0, bytes.subarray(0, 70_000));
    const last = await patchOk(plain, token, session.id, 70_000, bytes.subarray(70_000));
    assert.equal(last.file?.sha256, sha256(bytes));
    const [data] = (await listStored(plain.basePath)).filter(
      (f) => f.includes(session.file_id) && !f.endsWith('.attr.json'),
    );
    assert.equal(sha256(await readFile(join(plain.basePath, data!))), sha256(bytes));
  });
});

for (const backend of testDatabaseBackends('se_uploads')) {
  describe(`SE: принятое смещение переживает перезапуск (${backend.name})`, () => {
    it('после перезапуска смещение и резерв прежние, неподтверждённый хвост отброшен, загрузка завершается', async () => {
      const root = await mkdtemp(join(tmpdir(), 'artstore-se-uploads-'));
      const issuer = await createTestTokenIssuer();
      const opened = await backend.open();
      const start = () =>
        startTestStorageElement({
          elementId: 'se-resume',
          issuer,
          dataDir: join(root, 'data'),
          basePath: join(root, 'store'),
          shared: { db: opened.db, tablePrefix: 'seup_' },
        });
      try {
        const token = await issuer.mint({ name: 'alice', roles: ['uploader'] });
        const admin = await issuer.mint({ name: 'root', roles: ['admin'] });
        const bytes = randomBytes(200_000);
        let se = await start();
        const session = await createOk(se, token, bytes.length);
        await patchOk(se, token, session.id, 0, bytes.subarray(0, 120_000));
        await se.close();
        // Байты неподтверждённого куска (сбой посреди PATCH) — за принятым смещением: при старте отрезаются.
        const data = join(uploadSessionsDir(join(root, 'store')), session.id, 'data');
        await appendFile(data, Buffer.alloc(5000, 0xff));
        se = await start();
        try {
          assert.equal(await offsetOf(se, token, session.id), 120_000);
          assert.equal((await stat(data)).size, 120_000);
          assert.equal(await reservedBytes(se, admin), bytes.length);
          const done = await patchOk(se, token, session.id, 120_000, bytes.subarray(120_000));
          assert.equal(done.file?.sha256, sha256(bytes));
        } finally {
          await se.close();
        }
      } finally {
        await opened.close();
        await issuer.close();
        await rm(root, { recursive: true, force: true });
      }
    });
  });
}
