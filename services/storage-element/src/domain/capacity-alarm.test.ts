// Уровень тревоги заполнения (SPEC SE-9, BY-5): наибольший пройденный порог, спуск с гистерезисом,
// событие журнала — одно на пересечение.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryLogger } from '@artstore/core/testing';
import { ALARM_HYSTERESIS, alarmLevel, createCapacityAlarm } from './capacity-alarm.js';

const THRESHOLDS = [80, 90, 95];

describe('alarmLevel', () => {
  it('рост: наибольший пройденный порог, ровно порог — уже тревога', () => {
    const cases: Array<[number, number]> = [
      [0, 0],
      [79.99, 0],
      [80, 80],
      [89.9, 80],
      [90, 90],
      [94.99, 90],
      [95, 95],
      [100, 95],
    ];
    for (const [percent, expected] of cases)
      assert.equal(alarmLevel(percent, THRESHOLDS, 0), expected, `${percent} %`);
    // Скачок через несколько порогов сразу.
    assert.equal(alarmLevel(97, THRESHOLDS, 80), 95);
  });

  it('спуск: достигнутый порог держится, пока заполнение не ушло ниже него на гистерезис', () => {
    assert.equal(alarmLevel(80 - ALARM_HYSTERESIS, THRESHOLDS, 80), 80);
    assert.equal(alarmLevel(80 - ALARM_HYSTERESIS - 0.01, THRESHOLDS, 80), 0);
    assert.equal(alarmLevel(94.5, THRESHOLDS, 95), 95);
    // С 95 вниз до 89.5: 95 отпущен, 90 ещё держится гистерезисом, а с уровня 0 было бы 80.
    assert.equal(alarmLevel(89.5, THRESHOLDS, 95), 90);
    assert.equal(alarmLevel(89.5, THRESHOLDS, 0), 80);
    assert.equal(alarmLevel(50, THRESHOLDS, 95), 0);
  });

  it('без порогов тревоги нет', () => {
    assert.equal(alarmLevel(100, [], 0), 0);
  });
});

describe('createCapacityAlarm', () => {
  it('одно событие на пересечение: рост — warn, верхний порог — error, спад — info', () => {
    const log = createMemoryLogger('info');
    const alarm = createCapacityAlarm({ elementId: 'se-a', thresholds: THRESHOLDS, logger: log.logger });
    const percents = [10, 81, 82, 85, 81, 79.5, 91, 96, 99, 96, 70];
    for (const percent of percents) alarm.update({ percent, source: 'max_size' }, { used_bytes: percent });
    const events = log
      .text()
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            msg: string;
            level: string;
            alarm_level: number;
            previous_alarm_level: number;
            element_id: string;
            used_bytes: number;
          },
      );
    assert.ok(events.every((e) => e.msg === 'capacity_alarm' && e.element_id === 'se-a'));
    assert.deepEqual(
      events.map((e) => [e.previous_alarm_level, e.alarm_level, e.level, e.used_bytes]),
      [
        [0, 80, 'warn', 81],
        [80, 90, 'warn', 91],
        [90, 95, 'error', 96],
        [95, 0, 'info', 70],
      ],
    );
    assert.equal(alarm.level, 0);
  });
});
