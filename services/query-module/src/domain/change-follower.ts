// Следование лентам изменений SE (SPEC QR-1): курсор на каждый SE хранится в БД вместе с индексом;
// будит событие из координации, опрос раз в poll_interval — страховка, если событие потерялось.
import type { Coordination, Logger, ServiceClient, Unsubscribe } from '@artstore/core';
import { SE_CHANGES_CHANNEL, type ChangesResponse, type SeChangeEvent } from '@artstore/contracts';
import type { FileIndex } from '../store/file-index.js';

export interface FollowedElement {
  id: string;
  client: ServiceClient;
}

export interface ChangeFollowerDeps {
  elements: readonly FollowedElement[];
  index: FileIndex;
  coordination: Coordination;
  logger: Logger;
  pollIntervalMs: number;
  batchSize: number;
}

export function createChangeFollower(deps: ChangeFollowerDeps) {
  const byId = new Map(deps.elements.map((e) => [e.id, e]));
  /** Текущий прогон по SE и флаг «пришло ещё, прогнать снова». */
  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();
  const cursors = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: Unsubscribe | undefined;
  let stopped = false;

  async function drain(element: FollowedElement): Promise<void> {
    let after = cursors.get(element.id) ?? (await deps.index.cursor(element.id));
    for (;;) {
      const page = await element.client.json<ChangesResponse>('GET', '/api/changes', {
        query: { after, limit: deps.batchSize },
        idempotent: true,
      });
      if (page.changes.length === 0) break;
      await deps.index.apply(element.id, page.changes, page.last_seq);
      after = page.last_seq;
      cursors.set(element.id, after);
      deps.logger.debug({ element_id: element.id, last_seq: after, applied: page.changes.length }, 'index_batch_applied');
      if (page.changes.length < deps.batchSize) break;
    }
    cursors.set(element.id, after);
  }

  /** Запускает догонялку для SE; если она уже идёт — повторит её после завершения. */
  function catchUp(elementId: string): Promise<void> {
    const element = byId.get(elementId);
    if (!element || stopped) return Promise.resolve();
    const current = running.get(elementId);
    if (current) {
      again.add(elementId);
      return current;
    }
    const run = (async () => {
      do {
        again.delete(elementId);
        try {
          await drain(element);
        } catch (error) {
          deps.logger.warn({ element_id: elementId, err: error }, 'index_catch_up_failed');
          break;
        }
      } while (again.has(elementId) && !stopped);
    })().finally(() => running.delete(elementId));
    running.set(elementId, run);
    return run;
  }

  return {
    async start(): Promise<void> {
      unsubscribe = await deps.coordination.subscribe(SE_CHANGES_CHANNEL, (message) => {
        const event = JSON.parse(message) as SeChangeEvent;
        void catchUp(event.element_id);
      });
      const tick = () => {
        for (const id of byId.keys()) void catchUp(id);
        timer = setTimeout(tick, deps.pollIntervalMs);
        timer.unref();
      };
      tick();
    },

    /** Курсор SE в индексе (для read-your-writes и /health/ready). */
    async position(elementId: string): Promise<number> {
      return cursors.get(elementId) ?? deps.index.cursor(elementId);
    },

    /** Ждёт (не дольше timeoutMs), пока индекс SE дойдёт до seq (SPEC QR-4). true — дошёл. */
    async waitFor(elementId: string, seq: number, timeoutMs: number): Promise<boolean> {
      const deadline = performance.now() + timeoutMs;
      while ((await this.position(elementId)) < seq) {
        if (performance.now() >= deadline || !byId.has(elementId)) return false;
        await catchUp(elementId);
        if ((await this.position(elementId)) >= seq) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      return true;
    },

    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await unsubscribe?.();
      await Promise.allSettled(running.values());
    },
  };
}
export type ChangeFollower = ReturnType<typeof createChangeFollower>;
