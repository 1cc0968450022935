// Тело с запасом для повтора на другом SE (SPEC IN-7): повтор отдаёт те же байты, запас ограничен,
// источник читается только по запросу попытки, ошибка источника не превращается в обрезанный файл.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { createReplayableBody } from './replayable-body.js';

/** Источник из кусков по запросу: pulled — сколько кусков у него уже взяли. */
function source(chunks: Buffer[], failAt?: number) {
  let pulled = 0;
  const stream = new Readable({
    highWaterMark: 1,
    read() {
      if (pulled === failAt) {
        this.destroy(new Error('клиент оборвал тело'));
        return;
      }
      this.push(pulled < chunks.length ? chunks[pulled] : null);
      pulled++;
    },
  });
  return { stream, pulled: () => pulled };
}

const chunk = (byte: number, size = 100) => Buffer.alloc(size, byte);

/** Читает из попытки не меньше bytes байтов (или до конца) и возвращает прочитанное. */
async function take(stream: Readable, bytes = Infinity): Promise<Buffer> {
  const got: Buffer[] = [];
  let size = 0;
  for await (const piece of stream) {
    got.push(piece as Buffer);
    size += (piece as Buffer).length;
    if (size >= bytes) break;
  }
  return Buffer.concat(got);
}

describe('createReplayableBody', () => {
  it('повтор после отказа: новая попытка отдаёт удержанное и продолжает источник — байт в байт', async () => {
    const chunks = [chunk(1), chunk(2), chunk(3), chunk(4)];
    const body = createReplayableBody(source(chunks).stream, 1000);
    const first = await body.attempt();
    const part = await take(first, 150);
    assert.ok(
      part.length < 400 && Buffer.concat(chunks).subarray(0, part.length).equals(part),
      `прочитано ${part.length}`,
    );
    assert.ok(body.consumed >= part.length);
    assert.equal(body.replayable, true);
    assert.deepEqual(await take(await body.attempt()), Buffer.concat(chunks));
  });

  it('прочитано больше запаса — повтор невозможен, удержанное отпущено; попытка дочитывает до конца', async () => {
    const chunks = [chunk(1), chunk(2), chunk(3)];
    const body = createReplayableBody(source(chunks).stream, 150);
    const attempt = await body.attempt();
    assert.deepEqual(await take(attempt), Buffer.concat(chunks));
    assert.equal(body.replayable, false);
    assert.equal(body.consumed, 300);
    await assert.rejects(body.attempt(), /повтор невозможен/);
  });

  it('запас 0: пустое тело повторяемо, тело хоть с одним байтом — нет', async () => {
    const empty = createReplayableBody(source([]).stream, 0);
    assert.equal((await take(await empty.attempt())).length, 0);
    assert.equal(empty.replayable, true);
    const one = createReplayableBody(source([Buffer.from('x')]).stream, 0);
    await take(await one.attempt());
    assert.equal(one.replayable, false);
  });

  it('источник читается только по запросу попытки (backpressure), а без попытки — не читается вовсе', async () => {
    const chunks = Array.from({ length: 1000 }, (_, i) => chunk(i % 256, 1024));
    const src = source(chunks);
    const body = createReplayableBody(src.stream, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(body.consumed, 0);
    const attempt = await body.attempt();
    await take(attempt, 3 * 1024);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Взято лишь несколько кусков сверх прочитанного: буферы потоков, а не весь источник.
    assert.ok(src.pulled() < 40, `из источника взято ${src.pulled()} кусков из 1000`);
  });

  it('ошибка источника (клиент оборвал тело): попытка падает с ней, повтор не отдаёт обрезанное тело', async () => {
    const body = createReplayableBody(source([chunk(1), chunk(2), chunk(3)], 2).stream, 10_000);
    await assert.rejects(take(await body.attempt()), /клиент оборвал тело/);
    assert.equal(body.replayable, false);
    await assert.rejects(body.attempt(), /клиент оборвал тело/);
  });

  it('кусок, прочитанный для уничтоженной попытки, достаётся следующей — порядок байтов сохранён', async () => {
    const chunks = [chunk(1), chunk(2), chunk(3)];
    const body = createReplayableBody(source(chunks).stream, 1000);
    const first = await body.attempt();
    // Запрос куска и тут же уничтожение попытки: чтение источника ещё в пути.
    first.read(0);
    first.destroy();
    assert.deepEqual(await take(await body.attempt()), Buffer.concat(chunks));
  });
});
