// Контрактный набор тестов порта Coordination (CONVENTIONS, «Contract suites as functions taking a
// factory»): одна и та же семантика pub/sub, ключей с TTL и аренд с fencing-токенами (SPEC SE-12,
// HA-4) проверяется против Redis и встроенной реализации.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Coordination } from '../ports/coordination.js';

/**
 * Каждый вызов factory открывает НОВЫЙ дескриптор поверх ОДНОГО общего хранилища (как два процесса
 * над одним Redis): тесты проверяют, что дескрипторы видят ключи, аренды и сообщения друг друга.
 * Хранилище общее на весь набор, поэтому каждый тест берёт уникальные имена.
 */
export type CoordinationFactory = () => Promise<Coordination>;

const unique = (label: string): string => `${label}-${randomUUID()}`;

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) assert.fail(`Не дождались: ${what}`);
    await sleep(10);
  }
}

export function coordinationContract(name: string, factory: CoordinationFactory): void {
  void describe(`Coordination contract: ${name}`, () => {
    const opened: Coordination[] = [];
    const open = async (): Promise<Coordination> => {
      const handle = await factory();
      opened.push(handle);
      return handle;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((handle) => handle.close()));
    });

    void describe('pub/sub', () => {
      void it('доставляет сообщения по порядку всем подписчикам, в том числе на другом дескрипторе', async () => {
        const [a, b, publisher] = [await open(), await open(), await open()];
        const channel = unique('ch');
        const got: string[][] = [[], [], []];
        await a.subscribe(channel, (m) => got[0]?.push(m));
        await a.subscribe(channel, (m) => got[1]?.push(m));
        await b.subscribe(channel, (m) => got[2]?.push(m));
        // Сотня сообщений, а не пара: обычный PUBLISH в Redis Cluster уходит на случайный мастер и
        // переставляет соседние сообщения лишь изредка (≈ 4 %).
        const sent = Array.from({ length: 100 }, (_, i) => `сообщение ${i}`);
        for (const message of sent) await publisher.publish(channel, message);
        await waitFor('три подписчика получат все сообщения', () => got.every((g) => g.length === sent.length));
        for (const g of got) assert.deepEqual(g, sent);
      });

      void it('вызывает обработчик не внутри publish(), а асинхронно — как по сети', async () => {
        const c = await open();
        const channel = unique('ch');
        let insidePublish = false;
        let seenInside: boolean | undefined;
        await c.subscribe(channel, () => {
          seenInside = insidePublish;
        });
        insidePublish = true;
        const published = c.publish(channel, 'm');
        insidePublish = false;
        await published;
        await waitFor('сообщение', () => seenInside !== undefined);
        assert.equal(seenInside, false);
      });

      void it('не доставляет сообщения, опубликованные до подписки и после отписки', async () => {
        const [publisher, subscriber] = [await open(), await open()];
        const channel = unique('ch');
        const sentinelChannel = unique('sentinel');
        await publisher.publish(channel, 'до подписки');
        const first: string[] = [];
        const second: string[] = [];
        const sentinel: string[] = [];
        const unsubscribeFirst = await subscriber.subscribe(channel, (m) => first.push(m));
        const unsubscribeSecond = await subscriber.subscribe(channel, (m) => second.push(m));
        await subscriber.subscribe(sentinelChannel, (m) => sentinel.push(m));
        await publisher.publish(channel, 'после подписки');
        await waitFor('сообщение после подписки', () => first.length === 1 && second.length === 1);
        assert.deepEqual(first, ['после подписки']);

        // Отписка одного обработчика не затрагивает другой на том же канале.
        await unsubscribeFirst();
        await publisher.publish(channel, 'после первой отписки');
        await waitFor('сообщение второму обработчику', () => second.length === 2);
        assert.deepEqual(first, ['после подписки']);

        // Последний обработчик снят: сообщение в канал не приходит. Контрольное сообщение в другой
        // канал публикуется следом тем же дескриптором — когда оно дошло, предыдущее дошло бы тоже.
        await unsubscribeSecond();
        await publisher.publish(channel, 'после полной отписки');
        await publisher.publish(sentinelChannel, 'контроль');
        await waitFor('контрольное сообщение', () => sentinel.length === 1);
        assert.deepEqual(second, ['после подписки', 'после первой отписки']);
      });
    });

    void describe('ключи', () => {
      void it('get/set/delete и ifAbsent; запись видна другому дескриптору', async () => {
        const [a, b] = [await open(), await open()];
        const key = unique('k');
        assert.equal(await a.get(key), null);
        assert.equal(await a.set(key, 'v1'), true);
        assert.equal(await b.get(key), 'v1');
        assert.equal(await b.set(key, 'v2', { ifAbsent: true }), false);
        assert.equal(await a.get(key), 'v1');
        assert.equal(await b.set(key, 'v3'), true);
        assert.equal(await a.get(key), 'v3');
        await a.delete(key);
        assert.equal(await b.get(key), null);
        assert.equal(await b.set(key, 'v4', { ifAbsent: true }), true);
        assert.equal(await a.get(key), 'v4');
        await a.delete(unique('absent'));
      });

      void it('ключ с TTL истекает; перезапись без ttlMs снимает TTL; истёкший ключ считается отсутствующим', async () => {
        const c = await open();
        const [expiring, persisted] = [unique('k'), unique('k')];
        assert.equal(await c.set(expiring, 'a', { ttlMs: 200 }), true);
        await c.set(persisted, 'b', { ttlMs: 200 });
        await c.set(persisted, 'b2');
        assert.equal(await c.get(expiring), 'a');
        await sleep(350);
        assert.equal(await c.get(expiring), null);
        assert.equal(await c.get(persisted), 'b2');
        assert.equal(await c.set(expiring, 'c', { ttlMs: 300, ifAbsent: true }), true);
        assert.equal(await c.get(expiring), 'c');
        await c.delete(persisted);
      });
    });

    void describe('счётчики (increment)', () => {
      void it('считает с 1, общий для дескрипторов; TTL ставит первое увеличение и не продлевают следующие', async () => {
        const [a, b] = [await open(), await open()];
        const key = unique('counter');
        const first = await a.increment(key, 1000);
        assert.equal(first.count, 1);
        assert.ok(first.ttlMs > 0 && first.ttlMs <= 1000, `ttlMs ${first.ttlMs}`);
        await sleep(300);
        const second = await b.increment(key, 1000);
        assert.equal(second.count, 2);
        assert.ok(second.ttlMs <= 1000 - 250, `окно не сдвинулось: ttlMs ${second.ttlMs}`);
        // Значение видно через get, как у обычного ключа; истекает по TTL первого увеличения.
        assert.equal(await a.get(key), '2');
        const deadline = performance.now() + 3000;
        while ((await a.get(key)) !== null) {
          assert.ok(performance.now() < deadline, 'ключ не истёк за 3 с');
          await sleep(20);
        }
        assert.equal((await b.increment(key, 1000)).count, 1, 'после истечения счёт начинается заново');
        await a.delete(key);
        assert.equal((await a.increment(key, 1000)).count, 1, 'delete сбрасывает счёт');
        await a.delete(key);
      });

      void it('одновременные увеличения с разных дескрипторов атомарны', async () => {
        const handles = [await open(), await open()];
        const key = unique('counter');
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) => handles[i % 2]!.increment(key, 5000)));
        assert.deepEqual(
          results.map((r) => r.count).sort((x, y) => x - y),
          Array.from({ length: 40 }, (_, i) => i + 1),
        );
        await handles[0]!.delete(key);
      });

      void it('ключ без TTL получает TTL; нецелое значение и неверный ttlMs — отказ', async () => {
        const c = await open();
        const [persisted, text] = [unique('counter'), unique('counter')];
        await c.set(persisted, '41');
        const value = await c.increment(persisted, 300);
        assert.equal(value.count, 42);
        assert.ok(value.ttlMs > 0 && value.ttlMs <= 300);
        await sleep(400);
        assert.equal(await c.get(persisted), null);
        await c.set(text, 'abc', { ttlMs: 5000 });
        await assert.rejects(c.increment(text, 1000));
        assert.equal(await c.get(text), 'abc', 'неудачное увеличение не портит значение');
        for (const ttl of [0, -1, 1.5]) await assert.rejects(c.increment(unique('counter'), ttl), `ttlMs ${ttl}`);
        await c.delete(text);
      });
    });

    void describe('аренды', () => {
      void it('занятую аренду не выдают другому; продление сохраняет токен; после освобождения токен нового владельца больше', async () => {
        const [a, b] = [await open(), await open()];
        const lease = unique('lease');
        const before = performance.now();
        const first = await a.acquireLease(lease, 'A', 5000);
        const after = performance.now();
        assert.ok(first);
        assert.deepEqual({ name: first.name, owner: first.owner, ttlMs: first.ttlMs }, { name: lease, owner: 'A', ttlMs: 5000 });
        assert.ok(Number.isSafeInteger(first.token) && first.token > 0);
        // acquiredAt — момент ДО ответа сервера (SPEC SE-12), на монотонной шкале performance.now().
        assert.ok(first.acquiredAt >= before && first.acquiredAt <= after);

        assert.equal(await b.acquireLease(lease, 'B', 5000), null);
        const renewed = await a.renewLease(first);
        assert.ok(renewed);
        assert.equal(renewed.token, first.token);
        assert.ok(renewed.acquiredAt >= first.acquiredAt);

        await a.releaseLease(renewed);
        assert.equal(await a.renewLease(renewed), null);
        const second = await b.acquireLease(lease, 'B', 5000);
        assert.ok(second);
        assert.ok(second.token > first.token, `токен ${second.token} должен быть больше ${first.token}`);
        await b.releaseLease(second);
      });

      void it('тот же владелец повторно захватывает живую аренду с тем же токеном и продлевает её', async () => {
        const [a, b] = [await open(), await open()];
        const lease = unique('lease');
        const first = await a.acquireLease(lease, 'A', 400);
        assert.ok(first);
        await sleep(200);
        const again = await a.acquireLease(lease, 'A', 400);
        assert.ok(again);
        assert.equal(again.token, first.token);
        // Первый срок истёк бы к этому моменту; повторный захват его продлил.
        await sleep(250);
        assert.equal(await b.acquireLease(lease, 'B', 400), null);

        // Новая выдача после освобождения — даже тому же владельцу — даёт больший токен.
        await a.releaseLease(again);
        const renewedOwnership = await a.acquireLease(lease, 'A', 5000);
        assert.ok(renewedOwnership);
        assert.ok(renewedOwnership.token > first.token);
        await a.releaseLease(renewedOwnership);
      });

      void it('истёкшая аренда переходит к другому с большим токеном; прежний владелец не продлит и не освободит её', async () => {
        const [a, b] = [await open(), await open()];
        const lease = unique('lease');
        const stale = await a.acquireLease(lease, 'A', 250);
        assert.ok(stale);
        await sleep(400);
        const current = await b.acquireLease(lease, 'B', 5000);
        assert.ok(current, 'истёкшая аренда должна достаться другому владельцу');
        assert.ok(current.token > stale.token);

        assert.equal(await a.renewLease(stale), null);
        await a.releaseLease(stale);
        assert.equal(await a.acquireLease(lease, 'C', 5000), null, 'release прежнего владельца не должен снять чужую аренду');
        const stillOurs = await b.renewLease(current);
        assert.ok(stillOurs);
        assert.equal(stillOurs.token, current.token);
        await b.releaseLease(stillOurs);
      });

    });

    void it('ping отвечает на открытом дескрипторе и отказывает после close()', async () => {
      const c = await factory();
      await c.ping();
      await c.close();
      await assert.rejects(c.ping());
    });
  });
}
