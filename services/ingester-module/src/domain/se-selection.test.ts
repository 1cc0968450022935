// Выбор SE по документу обнаружения (SPEC IN-2): чистые функции, без сети.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isArtError, type DiscoveryElement } from '@artstore/core';
import {
  explicitRefusalError,
  findElement,
  noCandidateError,
  rankCandidates,
  type Refusal,
  type SelectionContext,
} from './se-selection.js';

const MiB = 2 ** 20;

function element(
  id: string,
  fields: Partial<DiscoveryElement> & { available?: number } = {},
): DiscoveryElement {
  const { available, ...rest } = fields;
  return {
    id,
    name: id,
    url: `http://127.0.0.1:9/${id}`,
    priority: 100,
    mode: 'edit',
    health: 'up',
    capacity:
      available === undefined
        ? null
        : {
            max_bytes: 100 * MiB,
            used_bytes: 100 * MiB - available,
            available_bytes: available,
            usage_percent: 0,
            alarm_level: 0,
          },
    ...rest,
  };
}

const context = (fields: Partial<SelectionContext> = {}): SelectionContext => ({
  requiredBytes: MiB,
  mayWrite: () => true,
  circuitOpen: () => false,
  ...fields,
});

const ids = (elements: readonly DiscoveryElement[]) => elements.map((e) => e.id);

describe('rankCandidates: кто может принять новый файл', () => {
  it('ro и ar исключены по режиму, edit и rw — кандидаты; режим неизвестен (null) — не исключает', () => {
    const { candidates, refusals } = rankCandidates(
      [
        element('se-ro', { mode: 'ro' }),
        element('se-ar', { mode: 'ar' }),
        element('se-rw', { mode: 'rw' }),
        element('se-edit'),
        element('se-new', { mode: null }),
      ],
      context(),
    );
    assert.deepEqual(ids(candidates).sort(), ['se-edit', 'se-new', 'se-rw']);
    assert.deepEqual(Object.fromEntries(refusals), {
      'se-ro': { reason: 'mode', mode: 'ro' },
      'se-ar': { reason: 'mode', mode: 'ar' },
    });
  });

  it('down — не исключён, а в конце списка, даже с лучшим приоритетом; degraded и unknown — как up', () => {
    const { candidates, refusals } = rankCandidates(
      [
        element('se-down', { health: 'down', priority: 1 }),
        element('se-down-late', { health: 'down', priority: 5 }),
        element('se-degraded', { health: 'degraded', priority: 3 }),
        element('se-unknown', { health: 'unknown', priority: 2 }),
      ],
      context(),
    );
    assert.deepEqual(ids(candidates), ['se-unknown', 'se-degraded', 'se-down', 'se-down-late']);
    assert.equal(refusals.size, 0);
  });

  it('места меньше нужного — исключён с цифрами; ровно нужное — кандидат; место неизвестно — кандидат', () => {
    const { candidates, refusals } = rankCandidates(
      [
        element('se-small', { available: MiB - 1 }),
        element('se-exact', { available: MiB }),
        element('se-unknown'),
      ],
      context(),
    );
    assert.deepEqual(ids(candidates), ['se-exact', 'se-unknown']);
    assert.deepEqual(refusals.get('se-small'), {
      reason: 'room',
      available_bytes: MiB - 1,
      required_bytes: MiB,
    });
  });

  it('нет права files:write — исключён, даже если по остальному подходит; разомкнутый автомат — исключён', () => {
    const { candidates, refusals } = rankCandidates(
      [element('se-a'), element('se-b'), element('se-c')],
      context({
        mayWrite: (id) => id !== 'se-a',
        circuitOpen: (e) => e.id === 'se-b',
      }),
    );
    assert.deepEqual(ids(candidates), ['se-c']);
    assert.deepEqual(Object.fromEntries(refusals), {
      'se-a': { reason: 'permission' },
      'se-b': { reason: 'circuit' },
    });
  });

  it('порядок: priority по возрастанию, при равном — больше места, неизвестное место — последним, затем id', () => {
    const { candidates } = rankCandidates(
      [
        element('se-late', { priority: 5, available: 90 * MiB }),
        element('se-unknown', { priority: 1 }),
        element('se-less', { priority: 1, available: 10 * MiB }),
        element('se-more', { priority: 1, available: 50 * MiB }),
        element('se-b', { priority: 3, available: 20 * MiB }),
        element('se-a', { priority: 3, available: 20 * MiB }),
      ],
      context(),
    );
    assert.deepEqual(ids(candidates), ['se-more', 'se-less', 'se-unknown', 'se-a', 'se-b', 'se-late']);
  });
});

describe('ошибки выбора', () => {
  const room = (available: number): Refusal => ({
    reason: 'room',
    available_bytes: available,
    required_bytes: 5 * MiB,
  });

  it('всем не хватает места → 507 INSUFFICIENT_STORAGE: цифры самого свободного SE и причины по каждому', () => {
    const error = noCandidateError(
      new Map([
        ['se-a', room(MiB)],
        ['se-b', room(3 * MiB)],
      ]),
    );
    assert.ok(isArtError(error, 'INSUFFICIENT_STORAGE'));
    assert.equal(error.status, 507);
    assert.equal(error.extra?.available_bytes, 3 * MiB);
    assert.equal(error.extra?.required_bytes, 5 * MiB);
    assert.equal(error.extra?.storage_element, 'se-b');
    assert.deepEqual(error.extra?.reasons, { 'se-a': room(MiB), 'se-b': room(3 * MiB) });
    assert.match(error.message, /se-b — 3\.0 MiB, нужно 5\.0 MiB/);
  });

  it('нет места там, где можно писать, а остальные — ro или без права → тоже 507', () => {
    const error = noCandidateError(
      new Map<string, Refusal>([
        ['se-a', room(MiB)],
        ['se-ro', { reason: 'mode', mode: 'ro' }],
        ['se-other', { reason: 'permission' }],
      ]),
    );
    assert.ok(isArtError(error, 'INSUFFICIENT_STORAGE'));
  });

  it('есть преходящая причина (автомат, отказ SE) → 503 NO_STORAGE_ELEMENT с причиной по каждому SE', () => {
    const refusals = new Map<string, Refusal>([
      ['se-a', room(MiB)],
      [
        'se-b',
        {
          reason: 'unavailable',
          code: 'UPSTREAM_UNAVAILABLE',
          detail: 'se-b: нет соединения (ECONNREFUSED)',
        },
      ],
      ['se-c', { reason: 'circuit' }],
      ['se-d', { reason: 'unavailable', code: 'SE_NO_MASTER', detail: 'мастер не выбран' }],
    ]);
    const error = noCandidateError(refusals);
    assert.ok(isArtError(error, 'NO_STORAGE_ELEMENT'));
    assert.equal(error.status, 503);
    assert.deepEqual(error.extra?.reasons, Object.fromEntries(refusals));
    for (const text of [
      'se-a — свободно 1.0 MiB',
      'se-b — UPSTREAM_UNAVAILABLE: se-b: нет соединения',
      'se-c — автомат',
      'se-d — SE_NO_MASTER: мастер не выбран',
    ]) {
      assert.ok(error.message.includes(text), `${text} ∉ ${error.message}`);
    }
  });

  it('SE нет вовсе → 503 NO_STORAGE_ELEMENT', () => {
    const error = noCandidateError(new Map());
    assert.ok(isArtError(error, 'NO_STORAGE_ELEMENT'));
    assert.deepEqual(error.extra?.reasons, {});
  });

  it('явный выбор: режим → 409 MODE_FORBIDS_OPERATION с режимом; место → 507 с цифрами', () => {
    const mode = explicitRefusalError('se-ro', { reason: 'mode', mode: 'ro' });
    assert.ok(isArtError(mode, 'MODE_FORBIDS_OPERATION'));
    assert.deepEqual(mode.extra, { element_id: 'se-ro', mode: 'ro', operation: 'create' });
    const full = explicitRefusalError('se-a', room(MiB));
    assert.ok(isArtError(full, 'INSUFFICIENT_STORAGE'));
    assert.equal(full.extra?.available_bytes, MiB);
  });

  it('явный выбор неизвестного SE → VALIDATION_FAILED', () => {
    assert.throws(
      () => findElement([element('se-a')], 'se-x'),
      (e) => isArtError(e, 'VALIDATION_FAILED') && /se-x/.test(e.message),
    );
    assert.equal(findElement([element('se-a')], 'se-a').id, 'se-a');
  });
});
