// Тело загрузки, которое можно отдать следующему SE после отказа (SPEC IN-7: повтор — только пока это
// безопасно). Байты читаются из источника, лишь когда их просит попытка (backpressure сохраняется), и
// первые replay_buffer байтов держатся в памяти: пока прочитанное целиком удержано, новая попытка
// повторяет его и продолжает чтение источника. Прочитано больше — удержанное отпускается, и повторить
// тело уже нельзя: файл никогда не буферизуется целиком (IN-1).
import { Readable } from 'node:stream';

export interface ReplayableBody {
  /** Сколько байтов прочитано из источника всеми попытками. */
  readonly consumed: number;
  /** Всё прочитанное удержано: тело можно отправить заново. */
  readonly replayable: boolean;
  /**
   * Поток для новой попытки: удержанные байты, затем остаток источника. Прежняя попытка при этом
   * уничтожается (источник не трогается), её недочитанный кусок достаётся новой.
   */
  attempt(): Promise<Readable>;
}

export function createReplayableBody(source: Readable, limit: number): ReplayableBody {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let retained: Buffer[] = [];
  let consumed = 0;
  let overflow = false;
  /** Ошибка источника (клиент оборвал тело): после неё итератор отвечает «конец», и повтор дал бы обрезанный файл. */
  let failure: { error: unknown } | undefined;
  /** Чтения источника идут по одному: кусок, прочитанный для уничтоженной попытки, не теряется. */
  let reading: Promise<unknown> = Promise.resolve();
  let current: Readable | undefined;

  function pull(): Promise<IteratorResult<Buffer>> {
    const next = reading
      .then(() => chunks.next())
      .then(
        (result) => {
          if (result.done) return result;
          consumed += result.value.length;
          if (!overflow && consumed <= limit) retained.push(result.value);
          else {
            overflow = true;
            retained = [];
          }
          return result;
        },
        (error: unknown) => {
          failure = { error };
          throw error;
        },
      );
    reading = next.catch(() => undefined);
    return next;
  }

  return {
    get consumed() {
      return consumed;
    },
    get replayable() {
      return !overflow && failure === undefined;
    },
    async attempt() {
      current?.destroy();
      await reading;
      if (failure !== undefined) throw failure.error;
      if (overflow) throw new Error('replayable body: прочитано больше удержанного, повтор невозможен');
      let index = 0;
      const stream = new Readable({
        read() {
          if (index < retained.length) {
            this.push(retained[index++]);
            return;
          }
          pull().then(
            (result) => {
              if (result.done) this.push(null);
              else {
                // Кусок уже среди удержанных (если запас не исчерпан) — не повторять его этой же попытке.
                index = retained.length;
                this.push(result.value);
              }
            },
            (error: unknown) => this.destroy(error as Error),
          );
        },
      });
      current = stream;
      return stream;
    },
  };
}
