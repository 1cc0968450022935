import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import {
  decodeSegment,
  encodeFrame,
  MAX_PAYLOAD_BYTES,
  WalError,
  type WalRecord,
  type WalRecordInput,
} from './record-codec.js';
import { nodeWalIo, type WalIo } from './segment.js';
import { openWal, type CheckpointOutcome, type OpenWalOptions } from './write-ahead-log.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempWalDir(): Promise<string> {
  const base = await mkdtemp(path.join(tmpdir(), 'artstore-wal-'));
  dirs.push(base);
  // Каталог WAL ещё не существует: openWal создаёт его сам, как при первом старте SE.
  return path.join(base, '.artstore', 'wal');
}

const SEG = (n: number) => `wal-${String(n).padStart(16, '0')}.log`;
const intent = (tx: string, extra: Record<string, unknown> = {}): WalRecordInput => ({
  type: 'intent',
  tx,
  epoch: 3,
  op: 'put',
  path: `2026/01/02/03/${tx}.bin`,
  ...extra,
});
const commit = (tx: string): WalRecordInput => ({ type: 'commit', tx, epoch: 3 });
const abort = (tx: string): WalRecordInput => ({ type: 'abort', tx, epoch: 3 });
const txs = (records: WalRecord[]) => records.map((r) => `${r.type}:${r.tx}`);

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => /^wal-\d{16}\.log$/.test(name)).sort();
}

function isWalError(code: string) {
  return (error: unknown) => error instanceof WalError && error.code === code;
}

/** io с подсчётом вызовов и отказом k-го fsync или write (k с единицы). */
function instrumentedIo(
  options: { failFsyncAt?: number; failWriteAt?: number; maxWriteBytes?: number } = {},
) {
  const calls = { fsync: 0, write: 0 };
  const io: WalIo = {
    ...nodeWalIo,
    async fsync(handle) {
      calls.fsync++;
      if (calls.fsync === options.failFsyncAt)
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      await nodeWalIo.fsync(handle);
    },
    async write(handle, data, position) {
      calls.write++;
      if (calls.write === options.failWriteAt)
        throw Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' });
      const part = options.maxWriteBytes === undefined ? data : data.subarray(0, options.maxWriteBytes);
      return nodeWalIo.write(handle, part, position);
    },
  };
  return { io, calls };
}

async function reopen(options: OpenWalOptions) {
  const opened = await openWal(options);
  await opened.wal.close();
  return opened.recovered;
}

describe('WAL: воспроизведение (SPEC SE-3)', () => {
  it('записи переживают повторное открытие; после открытия пишется новый сегмент', async () => {
    const dir = await tempWalDir();
    const first = await openWal({ dir });
    assert.deepEqual(first.recovered, { records: [], open: [], corruption: null });
    const written = [
      await first.wal.append(intent('a', { attr_path: 'x.attr.json', tags: ['Отчёт'] })),
      await first.wal.append(intent('b')),
      await first.wal.append(commit('a')),
    ];
    await first.wal.close();
    assert.deepEqual(await segmentFiles(dir), [SEG(1)]);
    const sizeOfFirst = (await stat(path.join(dir, SEG(1)))).size;

    const second = await openWal({ dir });
    assert.deepEqual(second.recovered.records, written);
    assert.deepEqual(txs(second.recovered.open), ['intent:b']);
    assert.equal(second.recovered.corruption, null);
    const late = await second.wal.append(abort('b'));
    await second.wal.close();
    assert.deepEqual(await segmentFiles(dir), [SEG(1), SEG(2)]);
    assert.equal((await stat(path.join(dir, SEG(1)))).size, sizeOfFirst, 'старый сегмент не дописывается');

    const third = await reopen({ dir });
    assert.deepEqual(third.records, [...written, late]);
    assert.deepEqual(third.open, []);
  });

  it('at проставляется из now(), заданный вызывающим сохраняется', async () => {
    const dir = await tempWalDir();
    const { wal } = await openWal({ dir, now: () => new Date('2030-05-06T07:08:09.000Z') });
    assert.equal((await wal.append(intent('a'))).at, '2030-05-06T07:08:09.000Z');
    assert.equal(
      (await wal.append({ ...commit('a'), at: '2029-01-01T00:00:00.000Z' })).at,
      '2029-01-01T00:00:00.000Z',
    );
    await wal.close();
  });

  it('оборванный хвост: записи до него возвращаются, хвост усечён, новые записи читаются после рестарта', async () => {
    const dir = await tempWalDir();
    const { wal } = await openWal({ dir });
    await wal.append(intent('a'));
    await wal.append(commit('a'));
    const b = await wal.append(intent('b'));
    await wal.close();
    const file = path.join(dir, SEG(1));
    const full = (await stat(file)).size;
    const lastFrame = encodeFrame(b).length;
    await truncate(file, full - 5);

    const opened = await openWal({ dir });
    assert.deepEqual(txs(opened.recovered.records), ['intent:a', 'commit:a']);
    assert.deepEqual(opened.recovered.corruption, {
      segment: SEG(1),
      offset: full - lastFrame,
      reason: 'torn',
      quarantined: [],
    });
    assert.equal((await stat(file)).size, full - lastFrame, 'оборванный кадр убран с диска');
    const after = await opened.wal.append(intent('c'));
    await opened.wal.close();

    const again = await reopen({ dir });
    assert.equal(again.corruption, null);
    assert.deepEqual(txs(again.records), ['intent:a', 'commit:a', 'intent:c']);
    assert.deepEqual(again.open, [after]);
  });

  it('перевёрнутый байт в средней записи: воспроизведение до неё, позднее — в карантине и не воспроизводится', async () => {
    const dir = await tempWalDir();
    const first = await openWal({ dir });
    const r1 = await first.wal.append(intent('r1'));
    const r2 = await first.wal.append(intent('r2'));
    await first.wal.append(intent('r3'));
    await first.wal.close();
    const second = await openWal({ dir });
    await second.wal.append(intent('r4'));
    await second.wal.close();

    const file = path.join(dir, SEG(1));
    const original = await readFile(file);
    const damaged = Buffer.from(original);
    const r1Bytes = encodeFrame(r1).length;
    damaged[r1Bytes + encodeFrame(r2).length - 2]! ^= 0x20;
    await writeFile(file, damaged);

    const opened = await openWal({ dir, now: () => new Date('2026-02-03T04:05:06.007Z') });
    assert.deepEqual(opened.recovered.records, [r1]);
    const corruption = opened.recovered.corruption!;
    assert.equal(corruption.segment, SEG(1));
    assert.equal(corruption.offset, r1Bytes);
    assert.equal(corruption.reason, 'checksum');
    // Ничего не уничтожено: поздний сегмент переименован, испорченный скопирован целиком.
    assert.deepEqual(corruption.quarantined.sort(), [
      `${SEG(1)}.corrupt-2026-02-03T04-05-06-007Z`,
      `${SEG(2)}.corrupt-2026-02-03T04-05-06-007Z`,
    ]);
    assert.deepEqual(await readFile(path.join(dir, `${SEG(1)}.corrupt-2026-02-03T04-05-06-007Z`)), damaged);
    assert.equal((await stat(file)).size, r1Bytes);
    assert.deepEqual(await segmentFiles(dir), [SEG(1), SEG(2)], 'новый сегмент занял освободившийся номер');
    await opened.wal.append(intent('r5'));
    await opened.wal.close();

    const again = await reopen({ dir });
    assert.equal(again.corruption, null);
    assert.deepEqual(txs(again.records), ['intent:r1', 'intent:r5']);
  });

  it('дыра в нумерации сегментов — тоже порча: воспроизведение до неё', async () => {
    const dir = await tempWalDir();
    for (const tx of ['s1', 's2', 's3']) {
      const { wal } = await openWal({ dir });
      await wal.append(intent(tx));
      await wal.close();
    }
    await unlink(path.join(dir, SEG(2)));
    const opened = await openWal({ dir });
    assert.deepEqual(txs(opened.recovered.records), ['intent:s1']);
    assert.equal(opened.recovered.corruption?.reason, 'gap');
    assert.equal(opened.recovered.corruption?.segment, SEG(2));
    assert.deepEqual(
      opened.recovered.corruption?.quarantined.map((name) => name.split('.corrupt-')[0]),
      [SEG(3)],
      'сегмент после дыры выведен из воспроизведения',
    );
    await opened.wal.close();
    assert.equal((await reopen({ dir })).corruption, null);
  });
});

describe('WAL: групповая фиксация и отказ fsync', () => {
  it('200 одновременных durable-записей: единицы fsync, все выполнены, порядок на диске — порядок вызовов', async (t) => {
    const dir = await tempWalDir();
    const { io, calls } = instrumentedIo();
    const batches: number[] = [];
    const { wal } = await openWal({ dir, io, onFsync: (_seconds, records) => batches.push(records) });
    const before = calls.fsync;
    const appended = await Promise.all(Array.from({ length: 200 }, (_, i) => wal.append(intent(`t${i}`))));
    const fsyncs = calls.fsync - before;
    t.diagnostic(`fsync на 200 одновременных записей: ${fsyncs}, размеры пакетов: ${batches.join(', ')}`);
    assert.ok(fsyncs >= 1 && fsyncs <= 20, `fsync: ${fsyncs}`);
    await tick();
    assert.equal(
      batches.reduce((a, b) => a + b, 0),
      200,
      'каждая запись закреплена ровно одним fsync',
    );
    await wal.close();
    const recovered = await reopen({ dir });
    assert.deepEqual(recovered.records, appended);
    assert.deepEqual(
      recovered.records.map((r) => r.tx),
      Array.from({ length: 200 }, (_, i) => `t${i}`),
    );
  });

  it('короткие записи ОС дописываются до конца', async () => {
    const dir = await tempWalDir();
    const { io, calls } = instrumentedIo({ maxWriteBytes: 7 });
    const { wal } = await openWal({ dir, io });
    const records = [await wal.append(intent('a')), await wal.append(commit('a'))];
    await wal.close();
    assert.ok(calls.write > 10);
    assert.deepEqual((await reopen({ dir })).records, records);
  });

  for (const op of ['fsync', 'write'] as const) {
    it(`отказ ${op} окончателен: пакет и все следующие записи отклоняются с WAL_FAILED, без повторов`, async () => {
      const dir = await tempWalDir();
      const { io, calls } = instrumentedIo(op === 'fsync' ? { failFsyncAt: 3 } : { failWriteAt: 3 });
      const failures: WalError[] = [];
      const { wal } = await openWal({ dir, io, onFailure: (error) => failures.push(error) });
      const fsyncsAtOpen = calls.fsync;
      const r1 = await wal.append(intent('r1'));
      const r2 = await wal.append(intent('r2'));
      if (op === 'fsync') assert.equal(calls.fsync - fsyncsAtOpen, 2);
      const settled = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => wal.append(intent(`c${i}`), { durable: i % 2 === 0 })),
      );
      assert.equal(settled[0]!.status, 'rejected', 'запись в отказавшем пакете не подтверждена');
      for (const result of settled) {
        if (result.status === 'rejected') assert.ok(isWalError('WAL_FAILED')(result.reason));
        // durable:false выполняется после write, значит мог выполниться только до отказа write.
        else assert.equal(op, 'fsync', 'после отказа write ничего не выполняется');
      }
      if (op === 'write') assert.ok(settled.every((result) => result.status === 'rejected'));
      assert.ok(isWalError('WAL_FAILED')(wal.failed));
      assert.equal((wal.failed!.cause as { code: string }).code, op === 'fsync' ? 'EIO' : 'ENOSPC');

      const { fsync, write } = calls;
      await assert.rejects(wal.append(intent('late')), isWalError('WAL_FAILED'));
      await assert.rejects(wal.append(commit('late'), { durable: false }), isWalError('WAL_FAILED'));
      await assert.rejects(wal.checkpoint(), isWalError('WAL_FAILED'));
      await wal.close();
      assert.deepEqual(
        { fsync: calls.fsync, write: calls.write },
        { fsync, write },
        'ни write, ни fsync не повторяются',
      );
      await tick();
      assert.equal(failures.length, 1);
      assert.equal(failures[0], wal.failed);

      const recovered = await reopen({ dir });
      assert.deepEqual(recovered.records.slice(0, 2), [r1, r2], 'подтверждённое до отказа на месте');
    });
  }
});

describe('WAL: durable:false', () => {
  it('commit без своего fsync выполняется и оказывается на диске после close', async () => {
    const dir = await tempWalDir();
    const { io, calls } = instrumentedIo();
    const { wal } = await openWal({ dir, io, flushIntervalMs: 60_000 });
    const before = calls.fsync;
    const a = await wal.append(intent('a'));
    assert.equal(calls.fsync - before, 1);
    const c = await wal.append(commit('a'), { durable: false });
    assert.equal(calls.fsync - before, 1, 'commit не ждал своего fsync');
    await wal.close();
    assert.equal(calls.fsync - before, 2, 'close закрепил commit');
    const recovered = await reopen({ dir });
    assert.deepEqual(recovered.records, [a, c]);
    assert.deepEqual(recovered.open, []);
  });

  it('незакреплённые записи закрепляет периодический fsync', async () => {
    const dir = await tempWalDir();
    const { io, calls } = instrumentedIo();
    const { wal } = await openWal({ dir, io, flushIntervalMs: 20 });
    const before = calls.fsync;
    await wal.append(commit('a'), { durable: false });
    assert.equal(calls.fsync, before);
    const deadline = Date.now() + 2000;
    while (calls.fsync === before && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(calls.fsync, before + 1);
    await wal.close();
    assert.equal(calls.fsync, before + 1, 'после периодического fsync закреплять нечего');
  });
});

describe('WAL: ротация и контрольные точки', () => {
  const pad = 'x'.repeat(100);

  /** Сегменты и записи в каждом — прямо с диска. */
  async function layout(dir: string) {
    const result = new Map<string, string[]>();
    for (const name of await segmentFiles(dir)) {
      result.set(name, txs(decodeSegment(await readFile(path.join(dir, name))).records));
    }
    return result;
  }

  it('открытая транзакция держит свой сегмент и все новее; после её commit удаляется всё старое', async () => {
    const dir = await tempWalDir();
    const outcomes: CheckpointOutcome[] = [];
    const { wal } = await openWal({ dir, segmentMaxBytes: 512, onCheckpoint: (o) => outcomes.push(o) });
    for (let i = 0; i < 6; i++) {
      await wal.append(intent(`b${i}`, { pad }));
      await wal.append(commit(`b${i}`));
    }
    await wal.append(intent('A', { pad }));
    for (let i = 6; i < 16; i++) {
      await wal.append(intent(`b${i}`, { pad }));
      await wal.append(commit(`b${i}`));
    }
    await wal.checkpoint();
    await tick();

    const pinned = await layout(dir);
    const names = [...pinned.keys()];
    const holder = names.find((name) => pinned.get(name)!.includes('intent:A'))!;
    assert.ok(holder !== undefined, 'сегмент с intent A не удалён');
    assert.equal(names[0], holder, 'удалены ровно сегменты старше сегмента с открытой транзакцией');
    assert.ok(names.length >= 3, 'новее держателя остались все сегменты');
    const autoDeleted = outcomes.flatMap((o) => o.deleted ?? []);
    assert.ok(autoDeleted.length > 0, 'ротация сама вызвала контрольную точку');
    assert.ok(outcomes.every((o) => o.error === null));
    assert.deepEqual(
      autoDeleted.sort(),
      Array.from({ length: Number(holder.slice(4, 20)) - 1 }, (_, i) => SEG(i + 1)),
    );

    await wal.append(commit('A'), { durable: false });
    const { deleted } = await wal.checkpoint();
    assert.ok(deleted.includes(holder));
    const remaining = await segmentFiles(dir);
    assert.ok(remaining.every((name) => !deleted.includes(name) && name > deleted.at(-1)!));
    let onDisk = 0;
    for (const name of remaining) onDisk += (await stat(path.join(dir, name))).size;
    assert.equal(wal.sizeBytes, onDisk);
    await wal.close();

    const recovered = await reopen({ dir });
    assert.equal(recovered.corruption, null);
    assert.deepEqual(recovered.open, []);
    const recorded = recovered.records
      .filter((r) => r.type === 'checkpoint')
      .flatMap((r) => r.deleted as string[]);
    assert.ok(
      deleted.every((name) => recorded.includes(name)),
      'запись checkpoint перечисляет удалённые сегменты',
    );
  });

  it('восстановленный открытый intent держит старый сегмент до abort', async () => {
    const dir = await tempWalDir();
    const first = await openWal({ dir });
    await first.wal.append(intent('done'));
    await first.wal.append(commit('done'));
    const x = await first.wal.append(intent('X'));
    await first.wal.close();

    const { wal, recovered } = await openWal({ dir });
    assert.deepEqual(recovered.open, [x]);
    assert.deepEqual(await wal.checkpoint(), { deleted: [] });
    assert.deepEqual(await segmentFiles(dir), [SEG(1), SEG(2)]);
    await wal.append(abort('X'));
    assert.deepEqual(await wal.checkpoint(), { deleted: [SEG(1)] });
    await wal.close();
    assert.deepEqual(await segmentFiles(dir), [SEG(2)]);

    const again = await reopen({ dir });
    assert.deepEqual(txs(again.records).slice(0, 2), ['abort:X', 'checkpoint:' + again.records[1]!.tx]);
    assert.deepEqual(again.records[1]!.deleted, [SEG(1)]);
    assert.equal(again.records[1]!.epoch, 3, 'эпоха контрольной точки — наибольшая виденная');
    assert.deepEqual(again.open, []);
  });
});

describe('WAL: границы', () => {
  it('запись больше 1 MiB и негодная запись отклоняются, журнал продолжает работать', async () => {
    const dir = await tempWalDir();
    const { wal } = await openWal({ dir });
    await assert.rejects(
      wal.append(intent('big', { pad: 'x'.repeat(MAX_PAYLOAD_BYTES) })),
      isWalError('WAL_RECORD_TOO_LARGE'),
    );
    await assert.rejects(wal.append({ ...intent('neg'), epoch: -1 }), isWalError('WAL_RECORD_INVALID'));
    assert.equal(wal.failed, null);
    const ok = await wal.append(intent('ok'));
    await wal.close();
    assert.deepEqual((await reopen({ dir })).records, [ok]);
  });

  it('после close записи отклоняются с WAL_CLOSED, повторный close безопасен', async () => {
    const dir = await tempWalDir();
    const { wal } = await openWal({ dir });
    const pending = wal.append(intent('a'));
    const closing = wal.close();
    await pending;
    await closing;
    await wal.close();
    await assert.rejects(wal.append(intent('b')), isWalError('WAL_CLOSED'));
    await assert.rejects(wal.checkpoint(), isWalError('WAL_CLOSED'));
  });

  it('негодные параметры отвергаются до касания диска', async () => {
    await assert.rejects(openWal({ dir: '' }), { code: 'CONFIG_INVALID' });
    await assert.rejects(openWal({ dir: '/nonexistent', segmentMaxBytes: 0 }), { code: 'CONFIG_INVALID' });
  });
});
