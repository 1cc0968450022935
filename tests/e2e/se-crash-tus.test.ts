// E2E: kill -9 посреди завершения загрузки tus (SPEC SE-3, IN-1, BY-6). Файл данных сессии становится
// данными записи жёсткой ссылкой (BlobStore.adopt) — без второй записи байтов. SE — настоящий процесс
// `artstore start storage-element`, убивающий себя в точке сбоя (ARTSTORE_TEST_FAULTS):
//   • между adopt и attr — восстановление откатывает запись (данные без attr удаляются), а части сессии
//     целы: повторный PATCH с Upload-Offset = длине завершает загрузку теми же байтами;
//   • после attr, до кеша — восстановление доводит запись до конца, повторный PATCH узнаёт готовый файл.
// В обоих случаях корень согласован (каждый attr сходится с байтами на диске), WAL без открытых транзакций.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { UploadPatchResult, UploadSessionView } from '@artstore/contracts';
import { createTestTokenIssuer, type TestTokenIssuer } from '@artstore/core/testing';
import {
  assertStorageConsistent,
  downloadSha256,
  fileExists,
  inspectWal,
  prepareSeNode,
  spawnSe,
  stopGracefully,
  waitReady,
  walkStorage,
} from './se-crash-kit.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let issuer: TestTokenIssuer;
let uploader: string;
let admin: string;

async function createSession(url: string, length: number): Promise<UploadSessionView> {
  const response = await fetch(`${url}/api/uploads`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${uploader}`,
      'artstore-name': encodeURIComponent('большой.bin'),
      'upload-length': String(length),
      'artstore-content-type': 'application/octet-stream',
    },
  });
  const text = await response.text();
  assert.equal(response.status, 201, text);
  return JSON.parse(text) as UploadSessionView;
}

function patch(url: string, id: string, offset: number, body: Buffer): Promise<Response> {
  return fetch(`${url}/api/uploads/${id}`, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${uploader}`,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
    },
    body,
  });
}

async function headOffset(url: string, id: string): Promise<number> {
  const response = await fetch(`${url}/api/uploads/${id}`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${uploader}` },
  });
  assert.equal(response.status, 200);
  return Number(response.headers.get('upload-offset'));
}

/**
 * Загрузка двумя кусками; на последнем SE убивает себя в точке faults. Затем перезапуск, повторный
 * PATCH с пустым телом и проверки. Возвращает снимок корня в момент сбоя.
 */
async function killDuringFinalize(label: string, faults: string) {
  const node = await prepareSeNode(issuer, label);
  try {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const first = spawnSe(node, { faults });
    await waitReady(node, first);
    const session = await createSession(node.url, bytes.length);
    const half = 1024 * 1024;
    assert.equal((await patch(node.url, session.id, 0, bytes.subarray(0, half))).status, 200);
    // Ответа нет: процесс умирает посреди завершения.
    await assert.rejects(patch(node.url, session.id, half, bytes.subarray(half)));
    const exit = await first.exited;
    assert.equal(exit.signal, 'SIGKILL', `SE вышел не от SIGKILL\n${first.output()}`);

    const partDir = join(node.basePath, '.artstore', 'uploads', session.id);
    const atCrash = await walkStorage(node.basePath);
    const walAtCrash = await inspectWal(node.basePath);
    assert.equal(walAtCrash.open.length, 1, 'в момент сбоя ровно одна открытая транзакция — запись файла');
    // Части не тронуты: откат записи не может потерять принятые байты.
    assert.ok(await fileExists(join(partDir, 'data')), 'файл данных сессии пропал при завершении');

    const second = spawnSe(node);
    await waitReady(node, second);
    await assertStorageConsistent(node.basePath);
    assert.equal(await headOffset(node.url, session.id), bytes.length);
    const retry = await patch(node.url, session.id, bytes.length, Buffer.alloc(0));
    const text = await retry.text();
    assert.equal(retry.status, 200, text);
    const done = JSON.parse(text) as UploadPatchResult;
    assert.equal(done.finished, true);
    assert.equal(done.file?.id, session.file_id);
    assert.equal(done.file?.sha256, sha256(bytes));
    assert.deepEqual(await downloadSha256(node.url, admin, session.file_id), {
      status: 200,
      sha256: sha256(bytes),
    });
    const walk = await assertStorageConsistent(node.basePath);
    assert.equal(walk.paired.size, 1);
    assert.deepEqual(await readdir(partDir), ['info.json']);
    await stopGracefully(second);
    assert.deepEqual(
      (await inspectWal(node.basePath)).open,
      [],
      'после восстановления в WAL открытые транзакции',
    );
    return atCrash;
  } finally {
    await node.cleanup.run();
  }
}

describe('E2E: kill -9 при завершении загрузки tus (adopt без копии)', { timeout: 180_000 }, () => {
  before(async () => {
    issuer = await createTestTokenIssuer();
    uploader = await issuer.mint({ roles: ['uploader'], name: 'tus-uploader' });
    admin = await issuer.mint({ roles: ['admin'], name: 'tus-admin' });
  });
  after(() => issuer.close());

  it('между adopt и attr: запись откатывается, части целы, повторный PATCH завершает загрузку', async () => {
    const atCrash = await killDuringFinalize('tus-adopt', 'se.after-data-rename:kill@1');
    // Данные уже были на месте (ссылка на файл сессии), attr — нет: это и откатило восстановление.
    assert.equal(atCrash.dataWithoutAttr.length, 1, 'в момент сбоя нет данных без attr');
    assert.equal(atCrash.paired.size, 0);
  });

  it('после attr, до кеша: восстановление доводит запись, повторный PATCH узнаёт готовый файл', async () => {
    const atCrash = await killDuringFinalize('tus-attr', 'se.after-attr-write:kill@1');
    assert.equal(atCrash.paired.size, 1, 'в момент сбоя нет целой пары данные+attr');
  });
});
