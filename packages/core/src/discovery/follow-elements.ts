// Связка сервиса со списком SE из обнаружения (SPEC AD-8): то, что сервис строит по списку (клиенты
// SE, следование лентам), пересобирается, только когда меняется сам список — id, адрес, приоритет.
// Новые режим, здоровье и место приходят чаще и пересборки не требуют (выбор по ним — SPEC IN-2).
import type { Logger } from '../logger.js';
import type { StaticElementRef } from './document.js';
import type { DiscoveryClient } from './discovery-client.js';

export interface FollowedElements<T> {
  readonly current: T;
  close(): Promise<void>;
}

export function elementRefs(discovery: Pick<DiscoveryClient, 'current'>): StaticElementRef[] {
  return discovery.current().storage_elements.map(({ id, url, priority }) => ({ id, url, priority }));
}

const keyOf = (refs: readonly StaticElementRef[]) =>
  JSON.stringify([...refs].sort((a, b) => a.id.localeCompare(b.id)).map((r) => [r.id, r.url, r.priority]));

/**
 * Строит T по текущему списку и пересобирает при его изменении: новое подставляется до закрытия
 * прежнего, так что запросы, уже взявшие прежнее, дорабатывают (пулы undici закрываются мягко).
 */
export async function followStorageElements<T>(
  discovery: Pick<DiscoveryClient, 'current' | 'onChange'>,
  build: (refs: StaticElementRef[]) => Promise<T> | T,
  close: (value: T) => Promise<void>,
  logger: Logger,
): Promise<FollowedElements<T>> {
  let refs = elementRefs(discovery);
  let current = await build(refs);
  let key = keyOf(refs);
  let rebuilding: Promise<void> = Promise.resolve();
  let closed = false;

  discovery.onChange(() => {
    rebuilding = rebuilding.then(async () => {
      refs = elementRefs(discovery);
      if (closed || keyOf(refs) === key) return;
      const previous = current;
      try {
        current = await build(refs);
      } catch (error) {
        logger.error({ err: error }, 'discovery_rebuild_failed');
        return;
      }
      key = keyOf(refs);
      logger.info({ storage_elements: refs.map((r) => r.id) }, 'discovery_elements_changed');
      await close(previous).catch((error: unknown) =>
        logger.warn({ err: error }, 'discovery_previous_close_failed'),
      );
    });
  });

  return {
    get current() {
      return current;
    },
    async close() {
      closed = true;
      await rebuilding;
      await close(current);
    },
  };
}
