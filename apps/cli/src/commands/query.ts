// artstore query reindex — перестроение глобального индекса query-module с нуля (SPEC QR-1) через точку входа:
// POST /api/index/reindex (право storage:manage). Перестроение идёт в работающих query, поиск отвечает всё время;
// --wait ждёт, пока у всех SE rebuilding станет false (GET /api/index).
import type { IndexRebuildStarted, IndexStatusResponse } from '@artstore/contracts';
import { CliError, type ApiClient } from '../client.js';

export interface QueryReindexOptions {
  wait?: boolean;
  /** Сколько ждать при --wait, мс. */
  timeoutMs: number;
  pollMs?: number;
}

export interface QueryReindexResult {
  started: IndexRebuildStarted;
  /** Состояние индекса после ожидания (только с --wait). */
  status?: IndexStatusResponse;
}

export async function reindexQuery(
  client: ApiClient,
  options: QueryReindexOptions,
  progress: (status: IndexStatusResponse) => void = () => undefined,
): Promise<QueryReindexResult> {
  const started = await client.json<IndexRebuildStarted>('POST', '/api/index/reindex');
  if (!options.wait) return { started };
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    const status = await client.json<IndexStatusResponse>('GET', '/api/index');
    progress(status);
    // Эпоха больше начатой — кто-то запустил перестроение заново; его окончание тоже годится.
    // Только SE, которые перестроение затронуло: курсор выведенного из состава SE не двигается.
    const done = started.elements.every((id) => {
      const element = status.elements[id];
      return element !== undefined && !element.rebuilding && element.epoch >= started.epoch;
    });
    if (done) return { started, status };
    if (performance.now() > deadline)
      throw new CliError(`Перестроение индекса не закончилось за ${options.timeoutMs} мс`);
    await new Promise((r) => setTimeout(r, options.pollMs ?? 1000));
  }
}
