// Ожидание условия в тестах: читать значение, пока оно не подойдёт, и упасть с последним прочитанным,
// если срок вышел — чтобы по упавшему тесту было видно, на чём остановилось.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';

export async function waitFor<T>(
  what: string,
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50 } = options;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (performance.now() > deadline)
      assert.fail(`${what}: не дождались за ${timeoutMs} мс, последнее: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
