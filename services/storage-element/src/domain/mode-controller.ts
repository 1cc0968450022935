// Действующий режим SE (SPEC SE-7). Режим из конфигурации — исходный; переход через API сохраняется
// в БД вместе с режимом конфигурации на тот момент. При старте: если оператор с тех пор изменил
// storage.mode (единственный путь для edit и выхода из ar), действует конфигурация; иначе —
// сохранённый переход (rw→ro, ro→ar не откатываются перезапуском).
import type { Logger } from '@artstore/core';
import type { StateStore } from '../store/state.js';
import { assertApiTransition, assertOperationAllowed, type Mode, type Operation } from './modes.js';

export async function createModeController(options: { elementId: string; configured: Mode; state: StateStore; logger: Logger }) {
  let mode: Mode = options.configured;
  async function load(): Promise<void> {
    const persisted = await options.state.mode();
    mode = persisted && persisted.configured === options.configured ? persisted.mode : options.configured;
    if (persisted && persisted.configured !== options.configured) {
      options.logger.warn({ persisted: persisted.mode, configured: options.configured }, 'se_mode_reset_by_configuration');
    }
    options.logger.info({ mode, configured: options.configured }, 'se_mode');
  }
  await load();

  return {
    get mode(): Mode {
      return mode;
    },
    get configured(): Mode {
      return options.configured;
    },
    assert(operation: Operation): void {
      assertOperationAllowed(options.elementId, mode, operation);
    },
    /** Перечитать режим из БД: узел стал мастером, а режим мог сменить прежний мастер (SPEC SE-12). */
    reload: load,
    async change(to: Mode, actor: string): Promise<{ from: Mode; to: Mode }> {
      const from = mode;
      assertApiTransition(from, to);
      await options.state.saveMode({ mode: to, configured: options.configured, changed_at: new Date().toISOString(), changed_by: actor });
      mode = to;
      options.logger.warn({ from, to, actor }, 'se_mode_changed');
      return { from, to };
    },
  };
}
export type ModeController = Awaited<ReturnType<typeof createModeController>>;
