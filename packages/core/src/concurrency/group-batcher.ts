// Групповое выполнение («group commit»): вызовы, пришедшие, пока выполняется пачка, уходят следующей
// пачкой одним вызовом run. Так 16 параллельных загрузок платят за одну транзакцию БД, а не за 16.
// Одиночный вызов без очереди выполняется сразу — задержки ради накопления пачки нет.

export interface GroupBatcherOptions {
  /** Наибольшая пачка; остаток очереди уходит следующей. */
  maxBatch: number;
}

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * run получает элементы пачки и обязан вернуть результаты в том же порядке. Если пачка из нескольких
 * элементов отказала целиком, каждый элемент повторяется поодиночке: один плохой элемент не роняет
 * соседей, а его вызывающий получает свою ошибку.
 */
export function createGroupBatcher<T, R>(run: (items: T[]) => Promise<R[]>, options: GroupBatcherOptions): (item: T) => Promise<R> {
  if (!Number.isSafeInteger(options.maxBatch) || options.maxBatch < 1) throw new RangeError('maxBatch должен быть целым ≥ 1');
  const queue: Pending<T, R>[] = [];
  let draining = false;

  async function settle(batch: Pending<T, R>[]): Promise<void> {
    try {
      const results = await run(batch.map((entry) => entry.item));
      if (results.length !== batch.length) throw new Error(`run вернул ${results.length} результатов на ${batch.length} элементов`);
      batch.forEach((entry, index) => entry.resolve(results[index]!));
    } catch (error) {
      if (batch.length === 1) batch[0]!.reject(error);
      else for (const entry of batch) await settle([entry]);
    }
  }

  async function drain(): Promise<void> {
    draining = true;
    try {
      while (queue.length > 0) await settle(queue.splice(0, options.maxBatch));
    } finally {
      draining = false;
    }
  }

  return (item) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!draining) void drain();
    });
}
