import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isArtError } from './errors.js';
import { createFaultInjector } from './faults.js';

const SE_POINTS = ['se.after-wal-intent', 'se.after-attr-write'] as const;

describe('createFaultInjector', () => {
  it('без спецификации ничего не делает', () => {
    createFaultInjector(SE_POINTS, undefined, 'production').hit('se.after-wal-intent');
    createFaultInjector(SE_POINTS, ' ', 'embedded').hit('se.after-attr-write');
  });

  it('в профиле production спецификация запрещена', () => {
    assert.throws(
      () => createFaultInjector(SE_POINTS, 'se.after-wal-intent:kill@1', 'production'),
      (e) => isArtError(e, 'CONFIG_INVALID'),
    );
  });

  it('неизвестная точка своего сервиса и кривой формат — ошибка конфигурации; точки других сервисов пропускаются', () => {
    for (const spec of ['se.after-nothing:kill@1', 'se.after-wal-intent:stop@1', 'kill']) {
      assert.throws(
        () => createFaultInjector(SE_POINTS, spec, 'embedded'),
        (e) => isArtError(e, 'CONFIG_INVALID'),
        spec,
      );
    }
    // Точка ingester в общей переменной `artstore start all` — не дело SE; проход своей точки не убивает процесс.
    const injector = createFaultInjector(
      SE_POINTS,
      'ingester.saga.after-reserve:kill@1,se.after-wal-intent:kill@3',
      'embedded',
    );
    injector.hit('se.after-attr-write');
    assert.equal(injector.armed('se.after-wal-intent'), true);
    assert.equal(injector.armed('se.after-attr-write'), false);
  });
});
