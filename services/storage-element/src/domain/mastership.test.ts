// Выборы мастера SE (SPEC SE-12): пишет один узел; роль переходит при освобождении или истечении
// аренды; узел, который не смог продлить аренду, перестаёт писать раньше, чем её получит другой;
// фиксация прежней эпохи отвергается базой.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createInProcessCoordination, createPgliteDatabase } from '@artstore/adapters';
import { createLogger, isArtError, runMigrations, type Coordination, type Database } from '@artstore/core';
import { createMemoryLogger } from '@artstore/core/testing';
import { createEpochStore } from '../store/epochs.js';
import { storageElementMigrations } from '../store/migrations.js';
import { createElection, leaseDrift, type ElectionOptions } from './mastership.js';

const TTL = 600;
const logger = createLogger({ level: 'silent' });

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) assert.fail(`не дождались: ${what}`);
    await sleep(10);
  }
  return performance.now() - started;
}

describe('выборы мастера SE', () => {
  let db: Database;
  before(async () => {
    db = await createPgliteDatabase();
    await runMigrations(db, 'storage-element:se_', storageElementMigrations('se_'));
  });
  after(() => db.close());

  function node(nodeId: string, coordination: Coordination, overrides: Partial<ElectionOptions> = {}) {
    const promoted: number[] = [];
    const demoted: string[] = [];
    const election = createElection({
      elementId: 'se-e',
      nodeId,
      url: () => `http://${nodeId}.test:9000`,
      ttlMs: TTL,
      coordination,
      epochs: createEpochStore(db, 'se_'),
      logger,
      onPromoted: (epoch) => {
        promoted.push(epoch);
        return Promise.resolve();
      },
      onDemoted: (reason) => {
        demoted.push(reason);
      },
      ...overrides,
    });
    election.start();
    return { election, promoted, demoted };
  }

  it('один мастер; не-мастер перенаправляет на него; освобождённая роль переходит с новой эпохой', async () => {
    const coordination = createInProcessCoordination();
    const a = node('a', coordination);
    await until(() => a.election.isMaster, 2000, 'a — мастер');
    const b = node('b', coordination);
    await sleep(TTL);
    assert.equal(a.election.isMaster, true);
    assert.equal(b.election.isMaster, false, 'аренда занята: b — кандидат');
    const refusal = b.election.refusal('/api/files?name=x');
    assert.ok(isArtError(refusal, 'SE_NOT_MASTER'));
    assert.equal(refusal.status, 307);
    assert.equal(refusal.headers?.location, 'http://a.test:9000/api/files?name=x');
    assert.throws(() => b.election.writeEpoch(), (error) => isArtError(error, 'SE_NO_MASTER'));
    const epochA = a.election.writeEpoch();

    await a.election.close();
    assert.deepEqual(a.demoted, ['shutdown']);
    const waited = await until(() => b.election.isMaster, TTL * 2, 'b — мастер');
    assert.ok(waited < TTL, `освобождённую аренду b берёт за период опроса (${waited.toFixed(0)} мс)`);
    assert.equal(b.promoted.length, 1);
    assert.ok(b.election.epoch > epochA, 'эпоха растёт');
    // Фиксация в эпохе a отвергается базой (store/file-cache.test.ts): ранний отказ — здесь же, в узле.
    assert.throws(() => b.election.assertEpoch(epochA), (error) => isArtError(error, 'SE_WRITE_FENCED'));
    await b.election.close();
    await coordination.close();
  });

  it('мастер, не сумевший продлить аренду, перестаёт писать до того, как её получит другой', async () => {
    const coordination = createInProcessCoordination();
    // «Замерший» узел: продление уходит и не возвращается (как процесс под SIGSTOP или сеть в обрыве).
    let frozen = false;
    const stuck: Coordination = {
      ...coordination,
      renewLease: (lease) => (frozen ? new Promise(() => {}) : coordination.renewLease(lease)),
    };
    const a = node('a', stuck);
    await until(() => a.election.isMaster, 2000, 'a — мастер');
    const b = node('b', coordination);
    frozen = true;
    const frozenAt = performance.now();
    let overlap = false;
    let aStoppedAt = 0;
    while (!b.election.isMaster) {
      if (a.election.isMaster && b.election.isMaster) overlap = true;
      if (!a.election.isMaster && aStoppedAt === 0) aStoppedAt = performance.now();
      assert.ok(performance.now() - frozenAt < TTL * 4, 'b так и не стал мастером');
      await sleep(2);
    }
    const bAt = performance.now();
    assert.equal(overlap, false, 'два мастера одновременно');
    assert.ok(aStoppedAt > 0 && aStoppedAt <= bAt, 'a перестал писать раньше, чем b начал');
    assert.ok(aStoppedAt - frozenAt <= TTL - leaseDrift(TTL) + 50, `a писал после своего срока (${(aStoppedAt - frozenAt).toFixed(0)} мс)`);
    assert.throws(() => a.election.writeEpoch(), (error) => isArtError(error, 'SE_NO_MASTER'));
    await until(() => a.demoted.length > 0, TTL, 'a снял роль (сторож срока)');
    assert.deepEqual(a.demoted, ['lease_expired']);
    await b.election.close();
    frozen = false;
    await a.election.close();
    await coordination.close();
  });

  it('сбой при получении роли (воспроизведение журналов) — роль отдаётся и берётся заново', async () => {
    const coordination = createInProcessCoordination();
    const memory = createMemoryLogger();
    let attempts = 0;
    const a = node('a', coordination, {
      logger: memory.logger,
      onPromoted: () => (++attempts === 1 ? Promise.reject(new Error('журнал не читается')) : Promise.resolve()),
    });
    await until(() => a.election.isMaster, TTL * 3, 'a — мастер со второй попытки');
    assert.equal(attempts, 2);
    assert.match(memory.text(), /se_master_promotion_failed/);
    await a.election.close();
    await coordination.close();
  });
});
