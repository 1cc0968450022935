// Следование лентам изменений SE (SPEC QR-1): курсор на каждый SE хранится в БД вместе с индексом;
// будит событие из координации, опрос раз в poll_interval — страховка, если событие потерялось.
// После каждой применённой пачки — новое поколение кеша (SPEC QR-5), и только потом позиция в памяти, по
// которой отвечают read-your-writes (QR-4) и готовность: «индекс дошёл до seq» значит и «кеш это видит».
import type { Coordination, Logger, ServiceClient, Unsubscribe } from '@artstore/core';
import { SE_CHANGES_CHANNEL, type ChangesResponse, type SeChangeEvent } from '@artstore/contracts';
import type { FileIndex, IndexCursor } from '../store/file-index.js';
import type { ElementIndexStatus, IndexMetrics } from './index-metrics.js';
import type { RecordCache } from './record-cache.js';

/** Канал «курсоры сброшены перестроением» — будит followers всех экземпляров query. */
export const INDEX_RESET_CHANNEL = 'query.index.reset';

export interface FollowedElement {
  id: string;
  client: ServiceClient;
}

export interface ChangeFollowerDeps {
  elements: readonly FollowedElement[];
  index: FileIndex;
  cache: Pick<RecordCache, 'invalidate'>;
  metrics: IndexMetrics;
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
  /** Курсор, до которого этот экземпляр сам применил ленту и сменил поколение кеша. */
  const cursors = new Map<string, IndexCursor>();
  /** Голова ленты SE: из событий SE и из last_seq прочитанных страниц. */
  const heads = new Map<string, number>();
  /** С какого момента (Date.now()) индекс позади известной головы. */
  const behindSince = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  const unsubscribes: Unsubscribe[] = [];
  let stopped = false;

  function refreshLag(elementId: string): void {
    const behind = (heads.get(elementId) ?? 0) > (cursors.get(elementId)?.last_seq ?? 0);
    if (!behind) behindSince.delete(elementId);
    else if (!behindSince.has(elementId)) behindSince.set(elementId, Date.now());
  }

  function statusAt(elementId: string, lastSeq: number): ElementIndexStatus {
    const head = Math.max(heads.get(elementId) ?? 0, lastSeq);
    const since = behindSince.get(elementId);
    return {
      last_seq: lastSeq,
      head_seq: head,
      lag: head - lastSeq,
      lag_seconds: head > lastSeq && since !== undefined ? (Date.now() - since) / 1000 : 0,
    };
  }

  function noteHead(elementId: string, seq: number): void {
    if (seq > (heads.get(elementId) ?? 0)) heads.set(elementId, seq);
    refreshLag(elementId);
  }

  /**
   * Курсор для продолжения. Впервые или после смены эпохи (перестроение, в том числе запущенное другим
   * экземпляром — событие могло потеряться) берётся из БД, и поколение кеша меняется ПОСЛЕ его чтения: всё, что
   * закоммитил другой экземпляр до этой позиции, читатели уже увидят мимо старых ключей.
   */
  async function sync(elementId: string): Promise<IndexCursor> {
    const stored = await deps.index.cursor(elementId);
    const known = cursors.get(elementId);
    if (known?.epoch === stored.epoch) return known;
    await deps.cache.invalidate();
    cursors.set(elementId, stored);
    refreshLag(elementId);
    return stored;
  }

  async function drain(element: FollowedElement): Promise<void> {
    let cursor = await sync(element.id);
    for (;;) {
      const page = await element.client.json<ChangesResponse>('GET', '/api/changes', {
        query: { after: cursor.last_seq, limit: deps.batchSize },
        idempotent: true,
      });
      noteHead(element.id, page.last_seq);
      if (page.changes.length > 0) {
        if (!(await deps.index.apply(element.id, page.changes, page.last_seq, cursor.epoch))) {
          // Курсор сброшен перестроением после чтения страницы: начинаем заново с позиции из БД.
          cursor = await sync(element.id);
          continue;
        }
        await deps.cache.invalidate();
        cursor = { ...cursor, last_seq: page.last_seq };
        cursors.set(element.id, cursor);
        refreshLag(element.id);
        deps.metrics.applied.inc({ element_id: element.id }, page.changes.length);
        deps.logger.debug(
          { element_id: element.id, last_seq: page.last_seq, applied: page.changes.length },
          'index_batch_applied',
        );
      }
      if (page.changes.length < deps.batchSize) break;
    }
    // Лента дочитана до головы: строки SE, не обновлённые в эпохе перестроения, — файлы, которых в ленте нет.
    if (cursor.sweep_pending) {
      const removed = await deps.index.sweep(element.id, cursor.epoch);
      if (removed !== null) {
        await deps.cache.invalidate();
        deps.logger.info({ element_id: element.id, epoch: cursor.epoch, removed }, 'index_rebuild_finished');
      }
      cursors.set(element.id, { ...cursor, sweep_pending: false });
    }
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

  const catchUpAll = () => {
    for (const id of byId.keys()) void catchUp(id);
  };

  return {
    async start(): Promise<void> {
      unsubscribes.push(
        await deps.coordination.subscribe(SE_CHANGES_CHANNEL, (message) => {
          const event = JSON.parse(message) as SeChangeEvent;
          if (!byId.has(event.element_id)) return;
          noteHead(event.element_id, event.seq);
          void catchUp(event.element_id);
        }),
        await deps.coordination.subscribe(INDEX_RESET_CHANNEL, catchUpAll),
      );
      const tick = () => {
        catchUpAll();
        timer = setTimeout(tick, deps.pollIntervalMs);
        timer.unref();
      };
      tick();
    },

    /** Курсор SE в индексе (для /health/ready); до первой догонялки — из БД. */
    async position(elementId: string): Promise<number> {
      return cursors.get(elementId)?.last_seq ?? (await deps.index.cursor(elementId)).last_seq;
    },

    /** Отставание SE (SPEC QR-1): курсор, голова ленты, разница в изменениях и секундах. */
    async status(elementId: string): Promise<ElementIndexStatus> {
      return statusAt(elementId, await this.position(elementId));
    },

    /** Отставание по всем SE, для которых этот экземпляр уже знает курсор (метрики). */
    statuses(): Map<string, ElementIndexStatus> {
      const result = new Map<string, ElementIndexStatus>();
      for (const [id, cursor] of cursors) if (byId.has(id)) result.set(id, statusAt(id, cursor.last_seq));
      return result;
    },

    /**
     * Ждёт (не дольше timeoutMs), пока этот экземпляр применит ленту SE до seq (SPEC QR-4). true — дошёл.
     * Смотрит только на позицию в памяти: она сдвигается после коммита и смены поколения кеша.
     */
    async waitFor(elementId: string, seq: number, timeoutMs: number): Promise<boolean> {
      if (!byId.has(elementId)) return false;
      const deadline = performance.now() + timeoutMs;
      const reached = () => (cursors.get(elementId)?.last_seq ?? 0) >= seq;
      while (!reached()) {
        const left = deadline - performance.now();
        if (left <= 0 || stopped) return false;
        let timeout: NodeJS.Timeout | undefined;
        await Promise.race([catchUp(elementId), new Promise((r) => (timeout = setTimeout(r, left)))]);
        clearTimeout(timeout);
        if (!reached())
          await new Promise((r) => setTimeout(r, Math.min(25, Math.max(0, deadline - performance.now()))));
      }
      return true;
    },

    /**
     * Перестроение индекса с нуля (SPEC QR-1): курсоры в 0 с новой эпохой, ленты применяются заново поверх
     * существующих строк (поиск не пустеет), дочитавший ленту SE убирает свои неотмеченные строки.
     */
    async reindex(): Promise<{ epoch: number; elements: string[] }> {
      const reset = await deps.index.reset([...byId.keys()]);
      deps.logger.info(reset, 'index_rebuild_started');
      await deps.coordination.publish(INDEX_RESET_CHANNEL, JSON.stringify(reset));
      catchUpAll();
      return reset;
    },

    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await Promise.all(unsubscribes.map((u) => u()));
      await Promise.allSettled(running.values());
    },
  };
}
export type ChangeFollower = ReturnType<typeof createChangeFollower>;
