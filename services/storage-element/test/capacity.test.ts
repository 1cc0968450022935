// Место SE через HTTP (SPEC SE-8, SE-9, BY-5): GET /api/capacity, тревога заполнения — событие на
// пересечение порога, а не на загрузку, метрика уровня, снятие тревоги после очистки. Хранилище здесь
// без statfs (kind s3, как у S3-бэкенда): заполнение диска машины, на которой идёт тест, не влияет на
// уровни. Цифры диска проверяют disk-full.test.ts и модульные тесты capacity.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CapacityStatus } from '@artstore/contracts';
import { createMemoryLogger, type MemoryLogger } from '@artstore/core/testing';
import { expectProblem, getJson, startSe, waitFor, type RunningSe } from './helpers.js';
import { metricValue } from './integrity-fixture.js';
import { uploadOk } from './stack.js';

const MAX = 100_000;

describe('storage-element: место и тревоги заполнения', () => {
  let se: RunningSe;
  let log: MemoryLogger;
  before(async () => {
    log = createMemoryLogger('info');
    se = await startSe({
      maxSize: MAX,
      logger: log.logger,
      storage: { capacity: { alarm_thresholds: [50, 80] } },
      wrapBlobs: (blobs) => ({ ...blobs, kind: 's3' }),
    });
  });
  after(() => se.stop());

  const alarms = () =>
    log
      .text()
      .split('\n')
      .filter((line) => line.includes('"capacity_alarm"'))
      .map(
        (line) =>
          JSON.parse(line) as {
            level: string;
            alarm_level: number;
            previous_alarm_level: number;
            source: string;
          },
      );

  it('цифры места; тревога — одно событие на пересечение порога, метрики; спад после очистки байтов', async () => {
    await expectProblem(await fetch(`${se.url}/api/capacity`), 401, 'AUTH_TOKEN_MISSING');
    const reader = await se.token(['reader']);
    const initial = await getJson<CapacityStatus>(se, '/api/capacity', reader);
    assert.deepEqual(initial, {
      element_id: 'se-test',
      used_bytes: 0,
      reserved_bytes: 0,
      max_bytes: MAX,
      disk_free_bytes: null,
      disk_used_percent: null,
      headroom_bytes: 0,
      available_bytes: MAX,
      usage_percent: 0,
      alarm_level: 0,
      alarm_thresholds: [50, 80],
    });

    const uploader = await se.token(['uploader']);
    await uploadOk(se, Buffer.alloc(30_000), { token: uploader, name: 'a.bin' });
    assert.deepEqual(alarms(), []);
    await uploadOk(se, Buffer.alloc(25_000), { token: uploader, name: 'b.bin' });
    for (let i = 0; i < 3; i++)
      await uploadOk(se, Buffer.alloc(1000), { token: uploader, name: `small-${i}.bin` });
    assert.deepEqual(
      alarms().map((a) => [a.previous_alarm_level, a.alarm_level, a.level, a.source]),
      [[0, 50, 'warn', 'max_size']],
      'пять загрузок выше 50 % — одно событие',
    );
    assert.equal(await metricValue(se, 'artstore_se_capacity_alarm_level'), 50);
    assert.ok(Number.isNaN(await metricValue(se, 'artstore_se_disk_free_bytes')), 'statfs нет — NaN');

    const big = await uploadOk(se, Buffer.alloc(30_000), { token: uploader, name: 'c.bin' });
    const full = await getJson<CapacityStatus>(se, '/api/capacity', reader);
    assert.deepEqual(
      [full.used_bytes, full.usage_percent, full.alarm_level, full.available_bytes],
      [88_000, 88, 80, 12_000],
    );
    assert.deepEqual(alarms().at(-1), {
      ...alarms().at(-1),
      previous_alarm_level: 50,
      alarm_level: 80,
      level: 'error',
    });

    const operator = await se.token(['operator']);
    const deleted = await fetch(`${se.url}/api/files/${big.id}?reason=free-space`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${operator}` },
    });
    assert.equal(deleted.status, 200, await deleted.text());
    await waitFor(
      'очистка байтов сняла тревогу 80',
      async () => (await getJson<CapacityStatus>(se, '/api/capacity', reader)).alarm_level === 50,
    );
    assert.deepEqual(
      alarms().map((a) => [a.previous_alarm_level, a.alarm_level, a.level]),
      [
        [0, 50, 'warn'],
        [50, 80, 'error'],
        [80, 50, 'info'],
      ],
    );
    assert.equal(await metricValue(se, 'artstore_se_capacity_alarm_level'), 50);
  });
});
