// Учёт места SE с подменённым statfs (SPEC SE-8, BY-5): запас для WAL и attr недоступен загрузкам,
// statfs не на каждую загрузку, но и устаревший снимок не «обещает» уже занятое; без statfs (S3) —
// только max_size; тревоги заполнения.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isArtError } from '@artstore/core';
import { createMemoryLogger } from '@artstore/core/testing';
import { createCapacity, type CapacityOptions } from './capacity.js';
import { SNAPSHOT_TTL_MS } from './disk-space.js';

const MiB = 2 ** 20;
const BSIZE = 4096;

/** Файловая система-подделка: total байт, из них available свободно; считает вызовы statfs. */
function fakeDisk(total: number, available: number) {
  const disk = {
    available,
    calls: 0,
    clock: 0,
    statfs: () => {
      disk.calls++;
      const blocks = total / BSIZE;
      const free = Math.floor(disk.available / BSIZE);
      return Promise.resolve({ bsize: BSIZE, blocks, bfree: free, bavail: free });
    },
  };
  return disk;
}

function capacityOn(disk: ReturnType<typeof fakeDisk>, options: Partial<CapacityOptions> = {}) {
  return createCapacity({
    elementId: 'se-u',
    maxBytes: 2 ** 40,
    diskPath: '/fake',
    usedBytes: () => Promise.resolve(0),
    statfs: disk.statfs,
    now: () => disk.clock,
    ...options,
  });
}

async function refused(promise: Promise<unknown>): Promise<Record<string, unknown> & { message: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isArtError(error, 'INSUFFICIENT_STORAGE'), String(error));
    return { ...error.extra, message: error.message };
  }
  assert.fail('ожидался отказ INSUFFICIENT_STORAGE');
}

describe('место SE: запас для WAL и attr, снимок statfs', () => {
  it('загрузка не занимает запас: отказ с цифрами и словами о запасе; без запаса влезла бы', async () => {
    const disk = fakeDisk(100 * MiB, 10 * MiB);
    const capacity = await capacityOn(disk, { headroomBytes: 2 * MiB });
    (await capacity.reserve(8 * MiB)).release();
    const problem = await refused(capacity.reserve(8 * MiB + 1));
    assert.equal(problem.available_bytes, 8 * MiB);
    assert.equal(problem.disk_free_bytes, 10 * MiB);
    assert.equal(problem.headroom_bytes, 2 * MiB);
    assert.match(problem.message, /из них 2\.0 MiB — запас для WAL и attr \(storage\.capacity\.headroom\)/);

    // Предел max_size теснее диска — обычное сообщение, без слов о запасе.
    const small = await capacityOn(fakeDisk(100 * MiB, 10 * MiB), { headroomBytes: 2 * MiB, maxBytes: MiB });
    const bySize = await refused(small.reserve(MiB + 1));
    assert.equal(bySize.available_bytes, MiB);
    assert.doesNotMatch(bySize.message, /запас/);
  });

  it('statfs не на каждую загрузку: снимок живёт SNAPSHOT_TTL_MS', async () => {
    const disk = fakeDisk(100 * MiB, 50 * MiB);
    const capacity = await capacityOn(disk);
    const before = disk.calls;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        const reservation = await capacity.reserve(1000);
        reservation.commit(1000);
      }),
    );
    assert.equal(disk.calls, before, '50 загрузок в пределах снимка — ни одного statfs');
    disk.clock += SNAPSHOT_TTL_MS + 1;
    await Promise.all([capacity.reserve(10), capacity.reserve(10), capacity.reserve(10)]);
    assert.equal(disk.calls, before + 1, 'устаревший снимок обновляется одним statfs на всех');
  });

  it('сохранённое после снимка вычитается в памяти; отказ — только по свежему statfs', async () => {
    const disk = fakeDisk(100 * MiB, 10 * MiB);
    const capacity = await capacityOn(disk, { headroomBytes: MiB });
    const calls = disk.calls;
    const first = await capacity.reserve(5 * MiB);
    disk.available -= 5 * MiB; // байты легли на диск
    first.commit(5 * MiB);
    // По снимку «свободно 10 MiB», но 5 MiB из них уже заняты: сверх запаса остаётся 4 MiB, а не 9.
    const problem = await refused(capacity.reserve(4 * MiB + 1));
    assert.equal(problem.available_bytes, 4 * MiB);
    assert.equal(disk.calls, calls + 1, 'перед отказом — свежий statfs');
    (await capacity.reserve(4 * MiB)).release();
    assert.equal(disk.calls, calls + 1, 'влезающая загрузка решена по снимку');
    (await capacity.reserve(1)).release();
    assert.equal(disk.calls, calls + 2, 'сорвавшаяся загрузка (release) сбросила снимок');

    // Место освободили вне SE (удалили чужой файл): отказа нет, хотя снимок ещё не устарел.
    disk.available += 20 * MiB;
    (await capacity.reserve(20 * MiB)).release();
  });

  it('без statfs (S3, diskPath null): только max_size, запас не действует', async () => {
    const capacity = await createCapacity({
      elementId: 'se-s3',
      maxBytes: 10 * MiB,
      diskPath: null,
      headroomBytes: 256 * MiB,
      usedBytes: () => Promise.resolve(MiB),
      statfs: () => assert.fail('statfs без diskPath'),
    });
    (await capacity.reserve(9 * MiB)).release();
    const problem = await refused(capacity.reserve(9 * MiB + 1));
    assert.equal(problem.disk_free_bytes, null);
    assert.equal(problem.headroom_bytes, 0);
    const status = await capacity.status();
    assert.deepEqual(
      {
        disk: status.disk_free_bytes,
        percent: status.usage_percent,
        available: status.available_bytes,
        headroom: status.headroom_bytes,
      },
      { disk: null, percent: 10, available: 9 * MiB, headroom: 0 },
    );
  });

  it('тревога: заполнение по max_size или по диску — что полнее; событие на пересечение, не на загрузку', async () => {
    const disk = fakeDisk(100 * MiB, 60 * MiB);
    const log = createMemoryLogger('info');
    const capacity = await capacityOn(disk, {
      maxBytes: 10 * MiB,
      alarms: { thresholds: [50, 80], logger: log.logger },
    });
    assert.equal(capacity.alarmLevel, 0);
    for (let i = 0; i < 6; i++) (await capacity.reserve(MiB)).commit(MiB);
    assert.equal(capacity.alarmLevel, 50, '60 % от max_size');
    // Диск заполнили извне до 85 %: видно при следующем снимке.
    disk.available = 15 * MiB;
    disk.clock += SNAPSHOT_TTL_MS + 1;
    const status = await capacity.status();
    assert.equal(status.alarm_level, 80);
    assert.equal(status.disk_used_percent, 85);
    assert.equal(status.usage_percent, 85);
    const events = log
      .text()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; alarm_level: number; source: string });
    assert.deepEqual(
      events.map((e) => [e.msg, e.alarm_level, e.source]),
      [
        ['capacity_alarm', 50, 'max_size'],
        ['capacity_alarm', 80, 'disk'],
      ],
    );
  });
});
