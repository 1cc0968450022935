// Действующий режим при старте: переход через API переживает перезапуск; изменённая оператором
// конфигурация — единственный путь из ar и в edit — перекрывает его (SPEC SE-7).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPgliteDatabase } from '@artstore/adapters';
import { createLogger, isArtError, runMigrations, type Database } from '@artstore/core';
import { storageElementMigrations } from '../store/migrations.js';
import { createStateStore } from '../store/state.js';
import { createModeController } from './mode-controller.js';
import { assertOperationAllowed, type Mode, type Operation } from './modes.js';

const logger = createLogger({ level: 'silent' });

describe('режимы SE', () => {
  let db: Database;
  before(async () => {
    db = await createPgliteDatabase();
    await runMigrations(db, 'storage-element:se_', storageElementMigrations('se_'));
  });
  after(() => db.close());

  it('матрица операций', () => {
    const expected: Record<Mode, Operation[]> = {
      edit: ['create', 'read', 'read_content', 'update_metadata', 'delete'],
      rw: ['create', 'read', 'read_content', 'update_metadata'],
      ro: ['read', 'read_content'],
      ar: ['read', 'read_content'],
    };
    const all: Operation[] = ['create', 'read', 'read_content', 'update_metadata', 'delete'];
    for (const mode of Object.keys(expected) as Mode[]) {
      for (const op of all) {
        const allowed = expected[mode].includes(op);
        if (allowed) assertOperationAllowed('se-m', mode, op);
        else assert.throws(() => assertOperationAllowed('se-m', mode, op), (e) => isArtError(e, 'MODE_FORBIDS_OPERATION'), `${mode}/${op}`);
      }
    }
  });

  it('переход через API переживает перезапуск; смена storage.mode оператором его перекрывает', async () => {
    const state = createStateStore(db, 'se_');
    const first = await createModeController({ elementId: 'se-m', configured: 'rw', state, logger });
    await first.change('ro', 'operator');
    await first.change('ar', 'operator');
    const restarted = await createModeController({ elementId: 'se-m', configured: 'rw', state, logger });
    assert.equal(restarted.mode, 'ar');
    const reconfigured = await createModeController({ elementId: 'se-m', configured: 'edit', state, logger });
    assert.equal(reconfigured.mode, 'edit');
    await assert.rejects(reconfigured.change('ro', 'operator'), (e) => isArtError(e, 'MODE_TRANSITION_FORBIDDEN'));
  });
});
