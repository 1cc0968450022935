// Устойчивость ingester к отказу SE посреди загрузки (SPEC IN-7, issue «Ingester»: «an SE that dies
// mid-upload fails that upload cleanly (no partial file anywhere) and new uploads go to the next SE»).
// Три отдельных процесса `artstore start`: два SE и ingester; SE убивается SIGKILL, пока ingester
// передаёт ему тело. Токены — тестовый издатель с JWKS в процессе теста.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { UploadResponse } from '@artstore/contracts';
import { CleanupStack, createTestTokenIssuer, waitFor, type TestTokenIssuer } from '@artstore/core/testing';
import { startIngesterProcess, uploadStream } from './ingester-kit.js';
import {
  assertStorageConsistent,
  killHard,
  prepareSeNode,
  spawnSe,
  waitReady,
  type SeNode,
  type SeProcess,
} from './se-crash-kit.js';

const MiB = 1024 * 1024;

async function uploadSmall(
  url: string,
  token: string,
  bytes: Buffer,
): Promise<{ status: number; element?: string; text: string }> {
  const response = await fetch(`${url}/api/files?name=small.bin`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  const text = await response.text();
  const element =
    response.status === 201 ? (JSON.parse(text) as UploadResponse).files[0]!.storage_element : undefined;
  return { status: response.status, element, text };
}

/** Значение счётчика из /metrics ingester (метрики открыты по умолчанию, http.public_metrics). */
async function counter(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Открытые транзакции записи SE (GET /api/transactions). */
async function openTransactions(url: string, token: string): Promise<number> {
  const response = await fetch(`${url}/api/transactions`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { transactions: unknown[] }).transactions.length;
}

describe('ingester: SE умирает посреди загрузки (SPEC IN-7)', { timeout: 240_000 }, () => {
  const cleanup = new CleanupStack();
  let issuer: TestTokenIssuer;
  let token: string;
  let nodeA: SeNode;
  let nodeB: SeNode;
  let seA: SeProcess;
  let ingesterUrl: string;

  before(async () => {
    issuer = await createTestTokenIssuer();
    cleanup.defer(() => issuer.close());
    token = await issuer.mint({ name: 'tester', roles: ['admin'] });
    nodeA = await prepareSeNode(issuer, 'a', undefined, { storage: { element_id: 'se-a' } });
    cleanup.defer(() => nodeA.cleanup.run());
    nodeB = await prepareSeNode(issuer, 'b', undefined, { storage: { element_id: 'se-b' } });
    cleanup.defer(() => nodeB.cleanup.run());
    seA = spawnSe(nodeA);
    const seB = spawnSe(nodeB);
    await Promise.all([waitReady(nodeA, seA), waitReady(nodeB, seB)]);

    ({ url: ingesterUrl } = await startIngesterProcess(
      issuer,
      [
        { id: 'se-a', url: nodeA.url, priority: 1 },
        { id: 'se-b', url: nodeB.url, priority: 2 },
      ],
      cleanup,
    ));
  });

  after(() => cleanup.run());

  it('клиент бросил загрузку: SE получает обрыв и откатывает запись, соединение ingester→SE не висит', async () => {
    const controller = new AbortController();
    const sink = new Readable({ read() {} });
    sink.push(randomBytes(2 * MiB));
    const abandoned = fetch(`${ingesterUrl}/api/files?name=abandoned.bin`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        'content-length': String(64 * MiB),
      },
      body: Readable.toWeb(sink) as ReadableStream,
      duplex: 'half',
      signal: controller.signal,
    }).catch(() => undefined);
    await waitFor(
      'запись на se-a началась',
      () => openTransactions(nodeA.url, token),
      (open) => open === 1,
    );
    controller.abort();
    await abandoned;
    await waitFor(
      'SE узнал об обрыве и закрыл транзакцию записи',
      () => openTransactions(nodeA.url, token),
      (open) => open === 0,
    );
    // Соединения пула ingester исправны: следующая загрузка идёт на тот же SE сразу.
    const next = await uploadSmall(ingesterUrl, token, randomBytes(1024));
    assert.equal(next.status, 201, next.text);
    assert.equal(next.element, 'se-a');
  });

  it('SIGKILL SE посреди тела: загрузка получает ясную ошибку, частичного файла нет нигде, новые идут на следующий SE', async () => {
    const before = await uploadSmall(ingesterUrl, token, randomBytes(4096));
    assert.equal(before.element, 'se-a');

    let killed: Promise<void> | undefined;
    const started = Date.now();
    const answer = await uploadStream(ingesterUrl, token, 512 * MiB, {
      // 16 МиБ — много больше запаса повтора (256 КиБ): файл уже не передать другому SE.
      onSent: (sent) => {
        if (sent >= 16 * MiB && killed === undefined) killed = killHard(seA);
      },
    });
    await killed;
    const seconds = (Date.now() - started) / 1000;
    assert.ok(
      answer.status >= 500 || answer.status === 0,
      `ожидалась ошибка, получено ${answer.status} ${answer.body}`,
    );
    if (answer.status !== 0) {
      const problem = JSON.parse(answer.body) as { code: string; stack?: unknown };
      assert.match(problem.code, /^UPSTREAM_|^SE_|^CIRCUIT_OPEN$/, answer.body);
      assert.equal(problem.stack, undefined);
    }
    assert.ok(seconds < 60, `ответ об отказе шёл ${seconds} с`);

    // Новые загрузки — на se-b; после 5 отказов подряд автомат защиты se-a размыкается и его не пробуют.
    for (let i = 0; i < 8; i++) {
      const next = await uploadSmall(ingesterUrl, token, randomBytes(2048));
      assert.equal(next.status, 201, next.text);
      assert.equal(next.element, 'se-b');
    }
    assert.ok(
      (await counter(ingesterUrl, 'artstore_ingester_se_refusals_total', 'reason="circuit"')) >= 1,
      'автомат защиты se-a не разомкнулся',
    );

    // Перезапуск se-a: восстановление откатывает незавершённую запись; на обоих SE корень согласован.
    seA = spawnSe(nodeA);
    await waitReady(nodeA, seA);
    const walkA = await assertStorageConsistent(nodeA.basePath);
    assert.equal(
      walkA.paired.size,
      2,
      'на se-a — только подтверждённые файлы (брошенная загрузка не в счёт)',
    );
    assert.equal([...walkA.paired.values()].filter((attr) => attr.original_name === 'big.bin').length, 0);
    const walkB = await assertStorageConsistent(nodeB.basePath);
    assert.equal(walkB.paired.size, 8);
    const hashes = [...walkB.paired.values()].map((attr) => attr.sha256);
    assert.equal(new Set(hashes).size, 8);
    assert.ok(hashes.every((h) => h !== createHash('sha256').update('').digest('hex')));

    // После паузы разомкнутого автомата пробная загрузка снова идёт на se-a (приоритет 1).
    await waitFor(
      'ingester вернулся к se-a после перезапуска',
      async () => (await uploadSmall(ingesterUrl, token, randomBytes(512))).element,
      (element) => element === 'se-a',
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
  });
});
