// Стек очистки тестового стенда: что создано позже, закрывается раньше (сервис → порты → каталог).

/** Шаги выполняются в обратном порядке; ошибка шага не мешает остальным. */
export class CleanupStack {
  readonly #steps: (() => unknown)[] = [];
  #running: Promise<void> | undefined;

  /** onError — что делать с ошибкой шага; по умолчанию она проглатывается (очистка best-effort). */
  constructor(private readonly onError: (error: unknown) => void = () => undefined) {}

  defer(step: () => unknown): void {
    this.#steps.push(step);
  }

  /**
   * Выполняет накопленные шаги. Повторный вызов после завершения ничего не делает; вызов во время
   * очистки (например, по SIGINT) ждёт ту же очистку, а не начинает вторую.
   */
  run(): Promise<void> {
    this.#running ??= (async () => {
      for (let step = this.#steps.pop(); step; step = this.#steps.pop())
        await Promise.resolve().then(step).catch(this.onError);
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }
}

/**
 * Собирает стенд: build регистрирует очистку каждого созданного ресурса в переданном стеке. Если build
 * упал — уже созданное закрывается, а ошибка пробрасывается как есть.
 */
export async function buildWithCleanup<T>(build: (cleanup: CleanupStack) => Promise<T>): Promise<T> {
  const cleanup = new CleanupStack();
  try {
    return await build(cleanup);
  } catch (error) {
    await cleanup.run();
    throw error;
  }
}
