// Сроки хранения через HTTP (SPEC SE-9, BY-4): периодическая проверка — метрики по упреждениям и
// сводка в журнал только при изменении; список истекающих постранично; список истёкших — на
// рассмотрение: файлы не удаляются сами, уходят из списка после удаления человеком. Право retention:read.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { RetentionListResponse } from '@artstore/contracts';
import { createMemoryLogger, type MemoryLogger } from '@artstore/core/testing';
import { expectProblem, getJson, startSe, waitFor, type RunningSe } from './helpers.js';
import { metricValue } from './integrity-fixture.js';
import { uploadOk } from './stack.js';

/** Проверка сроков в тестах — раз в 50 мс. */
const CHECK_MS = 50;

/** Все страницы списка; проверяет, что страницы не больше limit и курсор кончается null. */
async function allPages(
  se: RunningSe,
  token: string,
  path: string,
  limit: number,
): Promise<RetentionListResponse[]> {
  const pages: RetentionListResponse[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const page: RetentionListResponse = await getJson<RetentionListResponse>(
      se,
      `${path}${path.includes('?') ? '&' : '?'}limit=${limit}${query}`,
      token,
    );
    assert.ok(page.files.length <= limit);
    pages.push(page);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return pages;
}

describe('сроки хранения: истекающие (retention 30d)', () => {
  let se: RunningSe;
  let log: MemoryLogger;
  before(async () => {
    log = createMemoryLogger('info');
    se = await startSe({
      retention: '30d',
      logger: log.logger,
      storage: { retention_warnings: { lead_times: ['90d', '30d', '7d'], interval: CHECK_MS } },
    });
  });
  after(() => se.stop());

  const expiringEvents = () =>
    log
      .text()
      .split('\n')
      .filter((line) => line.includes('"retention_expiring"'))
      .map((line) => JSON.parse(line) as { within: string; files: number; previous: number });

  it('метрики по упреждениям; сводка — только при изменении; список постранично по сроку; права', async () => {
    const uploader = await se.token(['uploader']);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await uploadOk(se, `файл ${i}`, { token: uploader, name: `f${i}.txt` })).id);

    await waitFor(
      'проверка увидела 5 файлов',
      async () => (await metricValue(se, 'artstore_se_retention_expiring_files', { within: '30d' })) === 5,
    );
    assert.equal(await metricValue(se, 'artstore_se_retention_expiring_files', { within: '90d' }), 5);
    assert.equal(await metricValue(se, 'artstore_se_retention_expiring_files', { within: '7d' }), 0);
    assert.equal(await metricValue(se, 'artstore_se_retention_expired_files'), 0);

    // Ещё несколько проверок без изменений — новых событий нет; каждое событие — смена числа.
    const seen = expiringEvents().length;
    await delay(CHECK_MS * 5);
    const events = expiringEvents();
    assert.equal(events.length, seen, 'неизменная картина не повторяется в журнале');
    assert.ok(events.every((e) => e.files !== e.previous));
    assert.deepEqual(events.filter((e) => e.within === '30d').at(-1)?.files, 5);
    assert.ok(!events.some((e) => e.within === '7d'), '7d всё время 0 — событий нет');

    const auditor = await se.token(['auditor']);
    const pages = await allPages(se, auditor, '/api/retention/expiring?within=30d', 2);
    assert.deepEqual(
      pages.map((p) => p.files.length),
      [2, 2, 1],
    );
    const files = pages.flatMap((p) => p.files);
    assert.deepEqual(
      files.map((f) => f.id),
      ids,
      'ближайший срок первым — в порядке загрузки',
    );
    const first = pages[0]!;
    assert.ok(Date.parse(first.until) - Date.parse(first.as_of) === 30 * 86_400_000);
    assert.equal(first.element_id, 'se-test');

    assert.deepEqual(
      (await getJson<RetentionListResponse>(se, '/api/retention/expiring?within=7d', auditor)).files,
      [],
    );
    assert.equal(
      (
        await getJson<RetentionListResponse>(
          se,
          '/api/retention/expiring?within=30d',
          await se.token(['operator']),
        )
      ).files.length,
      5,
    );

    const get = async (path: string, roles: string[]) =>
      fetch(`${se.url}${path}`, { headers: { authorization: `Bearer ${await se.token(roles)}` } });
    await expectProblem(await get('/api/retention/expiring?within=30d', ['reader']), 403, 'FORBIDDEN');
    await expectProblem(await get('/api/retention/expiring', ['auditor']), 400, 'VALIDATION_FAILED');
    await expectProblem(
      await get('/api/retention/expiring?within=скоро', ['auditor']),
      400,
      'VALIDATION_FAILED',
    );
    await expectProblem(
      await get('/api/retention/expiring?within=30d&cursor=чужой', ['auditor']),
      400,
      'VALIDATION_FAILED',
    );
  });
});

describe('сроки хранения: истёкшие — список на рассмотрение (retention 0d)', () => {
  let se: RunningSe;
  before(async () => {
    se = await startSe({ retention: '0d', storage: { retention_warnings: { interval: CHECK_MS } } });
  });
  after(() => se.stop());

  it('истёкшие не удаляются сами, список постранично; удалённый человеком файл уходит из списка', async () => {
    const uploader = await se.token(['uploader']);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await uploadOk(se, `старое ${i}`, { token: uploader, name: `old${i}.txt` })).id);

    await waitFor(
      'проверка увидела 3 истёкших',
      async () => (await metricValue(se, 'artstore_se_retention_expired_files')) === 3,
    );
    const auditor = await se.token(['auditor']);
    const pages = await allPages(se, auditor, '/api/retention/expired', 2);
    assert.deepEqual(
      pages.map((p) => p.files.length),
      [2, 1],
    );
    assert.deepEqual(
      pages.flatMap((p) => p.files.map((f) => f.id)),
      ids,
    );
    assert.ok(pages.every((p) => p.until === p.as_of));

    // Несколько проверок спустя файлы на месте: disposition — решение человека, не фоновая задача.
    await delay(CHECK_MS * 4);
    for (const id of ids) {
      const content = await fetch(`${se.url}/api/files/${id}/content`, {
        headers: { authorization: `Bearer ${uploader}` },
      });
      assert.equal(content.status, 200);
      await content.arrayBuffer();
    }

    const operator = await se.token(['operator']);
    const deleted = await fetch(
      `${se.url}/api/files/${ids[0]}?reason=${encodeURIComponent('срок истёк, рассмотрено')}`,
      {
        method: 'DELETE',
        headers: { authorization: `Bearer ${operator}` },
      },
    );
    assert.equal(deleted.status, 200, await deleted.text());
    const rest = await getJson<RetentionListResponse>(se, '/api/retention/expired', operator);
    assert.deepEqual(
      rest.files.map((f) => f.id),
      ids.slice(1),
    );
    await waitFor(
      'метрика истёкших уменьшилась',
      async () => (await metricValue(se, 'artstore_se_retention_expired_files')) === 2,
    );
  });
});
