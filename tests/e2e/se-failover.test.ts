// Смена мастера SE (issue «Storage element», SPEC SE-12): два процесса `artstore start
// storage-element` над одним корнем хранилища, настоящими PostgreSQL (эпоха) и Redis (аренда).
//   1. kill -9 мастера под нагрузкой записи: второй узел берёт роль за < 30 с, каждая подтверждённая
//      загрузка читается с тем же sha256.
//   2. Мастер замирает (SIGSTOP) посреди загрузки; аренда истекает, мастером становится другой;
//      разбуженный (SIGCONT) прежний мастер не подтверждает загрузку, и её файлы не появляются.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createThrowawayPostgres, deleteKeysWithPrefix, testRedisUrl, uniqueTestPrefix, type ThrowawayPostgres } from '@artstore/adapters/testing';
import { CleanupStack, createTestTokenIssuer, type TestTokenIssuer } from '@artstore/core/testing';
import {
  downloadSha256,
  killHard,
  planUploads,
  prepareSeNode,
  readChangeFeed,
  spawnSe,
  waitReady,
  walkStorage,
  type PlannedUpload,
  type SeNode,
  type SeProcess,
} from './se-crash-kit.js';
import { databaseSection } from './harness.js';

const LEASE_TTL_MS = 4000;
/** Issue: другой узел берёт роль не позже чем через 30 с. */
const FAILOVER_LIMIT_MS = 30_000;

interface Cluster {
  nodes: SeNode[];
  processes: Map<SeNode, SeProcess>;
}

describe('SE: смена мастера (kill -9, SIGSTOP) на PostgreSQL и Redis', () => {
  const cleanup = new CleanupStack();
  let issuer: TestTokenIssuer;
  let token: string;
  let pg: ThrowawayPostgres;
  let shared: string;
  const cluster: Cluster = { nodes: [], processes: new Map() };

  before(async () => {
    issuer = await createTestTokenIssuer();
    cleanup.defer(() => issuer.close());
    token = await issuer.mint({ roles: ['admin'], name: 'failover' });
    pg = await createThrowawayPostgres('se_failover');
    cleanup.defer(() => pg.drop());
    const redisPrefix = uniqueTestPrefix('se-failover');
    cleanup.defer(() => deleteKeysWithPrefix(testRedisUrl(), redisPrefix));
    shared = await mkdtemp(join(tmpdir(), 'artstore-se-failover-'));
    cleanup.defer(() => rm(shared, { recursive: true, force: true }));
    for (const nodeId of ['node-a', 'node-b']) {
      const node = await prepareSeNode(issuer, nodeId, undefined, {
        database: databaseSection(pg),
        redis: { url: testRedisUrl(), key_prefix: redisPrefix },
        storage: {
          node_id: nodeId,
          election: { enabled: true, lease_ttl: LEASE_TTL_MS },
          // Общий корень и общий ключ подписи attr — как у узлов над одним NFS.
          local: { base_path: join(shared, 'store') },
          signing_key_path: join(shared, 'attr-signing-ed25519.pem'),
        },
      });
      cleanup.defer(() => node.cleanup.run());
      cluster.nodes.push(node);
    }
  });
  after(() => cleanup.run());

  async function start(node: SeNode): Promise<SeProcess> {
    const se = spawnSe(node, { logLevel: 'info' });
    cluster.processes.set(node, se);
    await waitReady(node, se);
    return se;
  }

  /** Одна попытка записи прямо на узел, без перехода по 307: статус и тело. */
  async function postTo(url: string, upload: PlannedUpload): Promise<{ status: number; body: string; location: string | null }> {
    const response = await fetch(`${url}/api/files`, {
      method: 'POST',
      redirect: 'manual',
      headers: { authorization: `Bearer ${token}`, 'artstore-name': encodeURIComponent(upload.name), 'content-type': 'application/octet-stream' },
      body: upload.body,
      // Замерший (SIGSTOP) узел принимает соединение, но не отвечает: долго его не ждём.
      signal: AbortSignal.timeout(5_000),
    });
    return { status: response.status, body: await response.text(), location: response.headers.get('location') };
  }

  /**
   * Клиент кластера: пишет на любой живой узел, идёт по 307 к мастеру, пережидает выборы (503) и
   * обрывы. Возвращает запись и момент подтверждения.
   */
  async function uploadToCluster(upload: PlannedUpload, deadline: number): Promise<{ id: string; at: number; by: string }> {
    let attempt = 0;
    for (;;) {
      const node = cluster.nodes[attempt++ % cluster.nodes.length]!;
      try {
        let by = node.url;
        let answer = await postTo(by, upload);
        if (answer.status === 307 && answer.location) {
          by = new URL(answer.location).origin;
          answer = await postTo(by, upload);
        }
        if (answer.status === 201) return { id: (JSON.parse(answer.body) as { id: string }).id, at: performance.now(), by };
      } catch {
        // Узел убит или не отвечает — следующий.
      }
      if (performance.now() >= deadline) {
        const outputs = [...cluster.processes.entries()].map(([n, p]) => `── ${n.url}\n${p.output().slice(-4000)}`).join('\n');
        assert.fail(`загрузка ${upload.name} не подтверждена до срока\n${outputs}`);
      }
      await sleep(100);
    }
  }

  it('kill -9 мастера под нагрузкой: роль переходит за < 30 с, подтверждённое читается', async () => {
    const [a, b] = cluster.nodes as [SeNode, SeNode];
    const seA = await start(a);
    const warmup = planUploads(1, 'warmup')[0]!;
    await uploadToCluster(warmup, performance.now() + 30_000);
    await start(b);

    // Нагрузка идёт, пока после сбоя не подтвердится AFTER_KILL загрузок: сбой всегда приходится на запись.
    const AFTER_KILL = 20;
    const acknowledged = new Map<string, PlannedUpload>();
    let killedAt = 0;
    let afterKill = 0;
    let firstAfterKill = Number.POSITIVE_INFINITY;
    let index = 0;
    const deadline = performance.now() + 90_000;
    const workers = Array.from({ length: 8 }, async () => {
      while (afterKill < AFTER_KILL) {
        const upload = planUploads(3, `failover-${index++}`)[2]!;
        const { id, at, by } = await uploadToCluster(upload, deadline);
        acknowledged.set(id, upload);
        if (killedAt > 0 && by === b.url) {
          afterKill++;
          firstAfterKill = Math.min(firstAfterKill, at);
        }
      }
    });
    await sleep(1500);
    assert.ok(acknowledged.size > 0, 'до сбоя мастер принимал запись');
    killedAt = performance.now();
    await killHard(seA);
    await Promise.all(workers);

    const failoverMs = firstAfterKill - killedAt;
    assert.ok(failoverMs < FAILOVER_LIMIT_MS, `новый мастер принял запись через ${failoverMs.toFixed(0)} мс`);
    const feed = await readChangeFeed(b.url, token);
    for (const [id, upload] of acknowledged) {
      assert.ok(feed.has(id), `подтверждённая загрузка ${upload.name} есть в ленте`);
      const { status, sha256 } = await downloadSha256(b.url, token, id);
      assert.deepEqual({ status, sha256 }, { status: 200, sha256: upload.sha256 }, upload.name);
    }
    const walk = await walkStorage(b.basePath);
    assert.deepEqual(walk.dataWithoutAttr, [], 'нет данных без attr');
    console.log(`# kill -9 мастера: запись на новом мастере через ${(failoverMs / 1000).toFixed(1)} с (TTL аренды ${LEASE_TTL_MS / 1000} с); подтверждено ${acknowledged.size}`);
  });

  it('SIGSTOP мастера посреди загрузки: после SIGCONT он не подтверждает запись, файлов не остаётся', async () => {
    const [a, b] = cluster.nodes as [SeNode, SeNode];
    // После первого теста мастер — b; a возвращается кандидатом.
    await start(a);
    const seB = cluster.processes.get(b)!;
    const probe = planUploads(1, 'probe')[0]!;
    assert.equal((await postTo(b.url, probe)).status, 201, 'b — мастер');

    const name = `замерший-${Date.now()}.bin`;
    const half = Buffer.alloc(256 * 1024, 1);
    let resumeUpload: () => void = () => undefined;
    const outcome = new Promise<{ status: number; body: string }>((resolve) => {
      const req = request(`${b.url}/api/files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'artstore-name': encodeURIComponent(name), 'content-type': 'application/octet-stream' },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', (error) => resolve({ status: 0, body: error.message }));
      req.write(half);
      // Вторая половина — после пробуждения b (ниже).
      resumeUpload = () => req.end(half);
    });
    await sleep(300);
    seB.child.kill('SIGSTOP');
    const stoppedAt = performance.now();
    try {
      const during = planUploads(1, 'during-stop')[0]!;
      await uploadToCluster(during, performance.now() + FAILOVER_LIMIT_MS);
      assert.ok(performance.now() - stoppedAt < FAILOVER_LIMIT_MS);
    } finally {
      seB.child.kill('SIGCONT');
    }
    resumeUpload();
    const { status, body } = await outcome;
    assert.ok(status < 200 || status >= 300, `разбуженный прежний мастер подтвердил запись: ${status} ${body}`);
    assert.equal(status, 503, `ожидался отказ по эпохе или роли (503), получено ${status} ${body}\n${seB.output().slice(-3000)}`);
    await sleep(500);
    const feed = await readChangeFeed(a.url, token);
    assert.ok(![...feed.values()].some((record) => record.name === name), 'незафиксированная запись видна в ленте');
    const walk = await walkStorage(a.basePath);
    assert.ok(![...walk.paired.values()].some((attr) => attr.original_name === name), 'файлы незафиксированной записи остались');
    console.log(`# SIGSTOP: прежний мастер после пробуждения ответил ${status} ${body.slice(0, 120)}`);
  });
});
