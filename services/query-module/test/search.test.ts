// Интеграционные тесты query-module (SPEC QR-1, QR-2, QR-4, QR-6, §9): настоящий SE в том же процессе,
// общая с ним координация — события SE будят query. Опрос редкий (60 с), поэтому всё, что индекс
// успевает раньше, — заслуга событий или ожидания по consistency_token.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FileRecord, SearchResponse, UploadedFile } from '@artstore/contracts';
import { seqOf } from '@artstore/storage-element/testing';
import {
  ELEMENT_ID,
  expectProblem,
  startQueryStack,
  uploadToSe,
  waitIndexed,
  type QueryStack,
} from './harness.js';

const TIMEOUT = { timeout: 20_000 };
const CONSISTENCY_WAIT_MS = 1000;

let stack: QueryStack;
let readerToken: string;

before(async () => {
  stack = await startQueryStack({ sharedCoordination: true, pollIntervalMs: 60_000, consistencyWaitMs: CONSISTENCY_WAIT_MS });
  readerToken = await stack.issuer.mint({ name: 'reader-1', roles: ['reader'] });
});

after(async () => {
  await stack?.close();
});

function get(path: string, init: { token?: string | null; headers?: Record<string, string>; method?: string } = {}) {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? readerToken : init.token;
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${stack.queryUrl}${path}`, { headers, method: init.method ?? 'GET' });
}

async function search(params: Record<string, string | number>): Promise<{ body: SearchResponse; response: Response }> {
  const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
  const response = await get(`/api/search?${qs.toString()}`);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return { body: JSON.parse(text) as SearchResponse, response };
}

describe('индекс и read-your-writes (QR-1, QR-4)', () => {
  it('событие SE будит query: индекс догоняет без опроса', TIMEOUT, async () => {
    const file = await uploadToSe(stack, 'событие.txt', 'x');
    // Опрос раз в 60 с (первый прошёл при старте) — раньше индекс может дойти только по событию.
    await waitIndexed(stack, seqOf(file), 5000);
    const { body } = await search({ q: 'событие' });
    assert.deepEqual(body.items.map((i) => i.id), [file.id]);
  });

  it('20 раз подряд: загрузка и сразу поиск с consistency_token — файл найден каждый раз', TIMEOUT, async () => {
    for (let i = 0; i < 20; i++) {
      const word = `ryw${i}x${randomBytes(4).toString('hex')}`;
      const file = await uploadToSe(stack, `${word}.txt`, `содержимое ${i}`);
      const { body, response } = await search({ q: word, consistency_token: file.consistency_token });
      assert.equal(response.headers.get('artstore-consistency'), null, `итерация ${i}: индекс не догнал`);
      assert.deepEqual(body.items.map((item) => item.id), [file.id], `итерация ${i}`);
      assert.equal(body.total, 1);
    }
  });

  it('токен дальше ленты: ожидание ограничено consistency_wait_ms, ответ помечен stale', TIMEOUT, async () => {
    const file = await uploadToSe(stack, 'stale.txt', 'x');
    const started = performance.now();
    const { response } = await search({ q: 'stale', consistency_token: `${ELEMENT_ID}:${seqOf(file) + 1000}` });
    const elapsed = performance.now() - started;
    assert.equal(response.headers.get('artstore-consistency'), 'stale');
    assert.ok(elapsed >= CONSISTENCY_WAIT_MS - 50, `ответ через ${elapsed.toFixed(0)} мс — раньше срока ожидания`);
    assert.ok(elapsed < CONSISTENCY_WAIT_MS + 2000, `ответ через ${elapsed.toFixed(0)} мс`);

    // Неизвестный этому узлу SE: ждать нечего — ответ сразу, тоже stale.
    const unknownStarted = performance.now();
    const unknown = await search({ q: 'stale', consistency_token: 'se-elsewhere:5' });
    assert.equal(unknown.response.headers.get('artstore-consistency'), 'stale');
    assert.ok(performance.now() - unknownStarted < CONSISTENCY_WAIT_MS);
  });

  it('некорректный consistency_token → 400 VALIDATION_FAILED', TIMEOUT, async () => {
    for (const token of ['abc', `${ELEMENT_ID}:`, `${ELEMENT_ID}:-1`, `${ELEMENT_ID}:1:2`, 'SE-Q:1', `${ELEMENT_ID}:1.5`, `:5`]) {
      await expectProblem(await get(`/api/search?q=x&consistency_token=${encodeURIComponent(token)}`), 400, 'VALIDATION_FAILED');
    }
  });
});

describe('полнотекстовый поиск (QR-2)', () => {
  let report: UploadedFile;
  let annual: UploadedFile;

  before(async () => {
    report = await uploadToSe(stack, 'Отчёт о проверке.pdf', '%PDF-1.7 ru', {
      contentType: 'application/pdf',
      metadata: { description: 'Архивные документы предприятия' },
    });
    annual = await uploadToSe(stack, 'Annual report 2026.pdf', '%PDF-1.7 en', { contentType: 'application/pdf' });
    await waitIndexed(stack, seqOf(annual), 5000);
  });

  const cases: [string, string, () => UploadedFile][] = [
    ['отчёт', 'морфология, нижний регистр', () => report],
    ['Отчёт', 'как в имени', () => report],
    ['ОТЧЁТ', 'верхний регистр', () => report],
    ['проверке', 'слово из имени', () => report],
    ['проверка', 'другая форма слова (русская морфология)', () => report],
    ['пров', 'подстрока имени', () => report],
    ['документ', 'описание, «документы» → «документ»', () => report],
    ['предприятие', 'описание, другая форма', () => report],
    ['report', 'английское слово', () => annual],
    ['reports', 'английская морфология (reports → report)', () => annual],
    ['REPORT', 'регистр', () => annual],
    ['2026', 'число из имени', () => annual],
  ];
  for (const [q, why, expected] of cases) {
    it(`«${q}» находит ровно нужный файл (${why})`, TIMEOUT, async () => {
      const { body } = await search({ q });
      assert.deepEqual(
        body.items.map((i) => i.name),
        [expected().name],
        `q=${q}: ${JSON.stringify(body.items.map((i) => i.name))}`,
      );
      assert.equal(body.total, 1);
      assert.equal(body.next_cursor, null);
      assert.deepEqual(body.items[0], stripToken(expected()));
    });
  }

  it('ничего не найдено — пустой ответ с total 0', TIMEOUT, async () => {
    const { body } = await search({ q: 'несуществующеесловоzzz' });
    assert.deepEqual(body, { items: [], total: 0, next_cursor: null });
  });

  it('спецсимволы LIKE и tsquery в запросе не ломают поиск', TIMEOUT, async () => {
    for (const q of ['%', '_', '\\', "'", '!(&|)', '"незакрытая', 'a:*']) {
      // Ни в одном имени нет этих символов: экранирование должно искать их буквально, а не как шаблон.
      const { body } = await search({ q });
      assert.deepEqual(body, { items: [], total: 0, next_cursor: null }, `q=${q}`);
    }
  });
});

describe('пагинация курсором', () => {
  it('limit=2 по 5 совпадениям: каждый файл ровно один раз, total на каждой странице', TIMEOUT, async () => {
    const uploaded: UploadedFile[] = [];
    for (let i = 1; i <= 5; i++) uploaded.push(await uploadToSe(stack, `Журнал смены ${i}.txt`, `смена ${i}`));
    await waitIndexed(stack, seqOf(uploaded.at(-1)!), 5000);

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | null = null;
    do {
      const params: Record<string, string | number> = { q: 'журнал', limit: 2 };
      if (cursor !== null) params.cursor = cursor;
      const { body }: { body: SearchResponse } = await search(params);
      assert.equal(body.total, 5);
      pageSizes.push(body.items.length);
      seen.push(...body.items.map((i) => i.id));
      cursor = body.next_cursor;
      assert.ok(pageSizes.length <= 5, 'курсор зациклился');
    } while (cursor !== null);
    assert.deepEqual(pageSizes, [2, 2, 1]);
    // Новые первыми: порядок (created_at, id) по убыванию — у загрузок в одну миллисекунду решает id.
    const expected = [...uploaded]
      .sort((a, b) => (a.created_at === b.created_at ? a.id.localeCompare(b.id) : a.created_at.localeCompare(b.created_at)))
      .reverse()
      .map((f) => f.id);
    assert.deepEqual(seen, expected);
  });

  it('испорченный курсор → 400 VALIDATION_FAILED', TIMEOUT, async () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const bad = [
      'мусор',
      'bm90LWpzb24',
      b64([1, 2]),
      b64(['2026-01-01T00:00:00.000Z', 'not-a-uuid']),
      b64({ created_at: '2026-01-01T00:00:00.000Z' }),
      b64('строка'),
      b64(null),
      // Date.parse/new Date в V8 принимают «1», «2026-02-30» и «+010000-…», PostgreSQL — нет: нужен 400, а не 500.
      b64(['1', randomUUID()]),
      b64(['Tue, 99 Foo 2026', randomUUID()]),
      b64(['2026-02-30T00:00:00.000Z', randomUUID()]),
      b64(['+010000-01-01T00:00:00.000Z', randomUUID()]),
    ];
    for (const cursor of bad) {
      await expectProblem(await get(`/api/search?q=x&cursor=${encodeURIComponent(cursor)}`), 400, 'VALIDATION_FAILED');
    }
  });

  it('limit вне 1..200 → 400 VALIDATION_FAILED', TIMEOUT, async () => {
    for (const limit of ['0', '201', 'abc']) {
      await expectProblem(await get(`/api/search?q=x&limit=${limit}`), 400, 'VALIDATION_FAILED');
    }
  });
});

function stripToken(file: UploadedFile): FileRecord {
  const { consistency_token: _token, ...record } = file;
  return record;
}

describe('запись о файле и байты (§9, QR-6)', () => {
  let file: UploadedFile;
  const bytes = Buffer.concat([Buffer.from('0123456789'), randomBytes(300 * 1024)]);

  before(async () => {
    file = await uploadToSe(stack, 'Скан договора.bin', bytes, { contentType: 'application/x-scan', metadata: { tags: ['договор'] } });
    await waitIndexed(stack, seqOf(file), 5000);
  });

  it('GET /api/files/{id} — запись как на SE', TIMEOUT, async () => {
    const response = await get(`/api/files/${file.id}`);
    assert.equal(response.status, 200);
    const record = (await response.json()) as FileRecord;
    assert.deepEqual(record, stripToken(file));
    const onSe = await fetch(`${stack.seUrl}/api/files/${file.id}`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    assert.deepEqual(record, await onSe.json());
  });

  it('неизвестный id → 404 FILE_NOT_FOUND; не UUID → 400 VALIDATION_FAILED', TIMEOUT, async () => {
    const unknown = randomUUID();
    await expectProblem(await get(`/api/files/${unknown}`), 404, 'FILE_NOT_FOUND');
    await expectProblem(await get(`/api/files/${unknown}/content`), 404, 'FILE_NOT_FOUND');
    await expectProblem(await get('/api/files/not-a-uuid'), 400, 'VALIDATION_FAILED');
    await expectProblem(await get('/api/files/not-a-uuid/content'), 400, 'VALIDATION_FAILED');
    await expectProblem(await get(`/api/files/${file.id.toUpperCase()}`), 400, 'VALIDATION_FAILED');
  });

  it('GET content отдаёт байты с ETag, типом и именем', TIMEOUT, async () => {
    const response = await get(`/api/files/${file.id}/content`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('etag'), `"${file.sha256}"`);
    assert.equal(response.headers.get('content-type'), 'application/x-scan');
    assert.equal(response.headers.get('content-length'), String(bytes.length));
    assert.equal(response.headers.get('accept-ranges'), 'bytes');
    assert.ok(
      (response.headers.get('content-disposition') ?? '').includes(`filename*=UTF-8''${encodeURIComponent('Скан договора.bin')}`),
      response.headers.get('content-disposition') ?? '',
    );
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes), 'байты отличаются');
  });

  it('Range bytes=0-4 → 206 и Content-Range; открытый диапазон с конца', TIMEOUT, async () => {
    const head = await get(`/api/files/${file.id}/content`, { headers: { range: 'bytes=0-4' } });
    assert.equal(head.status, 206);
    assert.equal(head.headers.get('content-range'), `bytes 0-4/${bytes.length}`);
    assert.equal(head.headers.get('content-length'), '5');
    assert.equal(await head.text(), '01234');

    const tail = await get(`/api/files/${file.id}/content`, { headers: { range: 'bytes=-7' } });
    assert.equal(tail.status, 206);
    assert.equal(tail.headers.get('content-range'), `bytes ${bytes.length - 7}-${bytes.length - 1}/${bytes.length}`);
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 7)));
  });

  it('If-None-Match с текущим ETag → 304 без тела; с чужим → 200', TIMEOUT, async () => {
    const notModified = await get(`/api/files/${file.id}/content`, { headers: { 'if-none-match': `"${file.sha256}"` } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get('etag'), `"${file.sha256}"`);
    assert.equal((await notModified.arrayBuffer()).byteLength, 0);

    const changed = await get(`/api/files/${file.id}/content`, { headers: { 'if-none-match': '"0000"' } });
    assert.equal(changed.status, 200);
    assert.equal((await changed.arrayBuffer()).byteLength, bytes.length);
  });

  it('диапазон за концом файла → 416 с Content-Range: bytes */<size>', TIMEOUT, async () => {
    const response = await get(`/api/files/${file.id}/content`, { headers: { range: `bytes=${bytes.length + 10}-` } });
    assert.equal(response.headers.get('content-range'), `bytes */${bytes.length}`);
    await expectProblem(response, 416, 'RANGE_NOT_SATISFIABLE');
  });

  it('HEAD — заголовки с Content-Length, без тела', TIMEOUT, async () => {
    const response = await get(`/api/files/${file.id}/content`, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), String(bytes.length));
    assert.equal(response.headers.get('etag'), `"${file.sha256}"`);
    assert.equal((await response.arrayBuffer()).byteLength, 0);
  });

  it('без files:read (roles: []) → 403 FORBIDDEN на поиск, запись и байты; без токена → 401', TIMEOUT, async () => {
    const nobody = await stack.issuer.mint({ roles: [] });
    for (const path of [`/api/search?q=x`, `/api/files/${file.id}`, `/api/files/${file.id}/content`]) {
      const problem = await expectProblem(await get(path, { token: nobody }), 403, 'FORBIDDEN');
      assert.equal(problem.permission, 'files:read');
      await expectProblem(await get(path, { token: null }), 401, 'AUTH_TOKEN_MISSING');
    }
    // У ответа на HEAD нет тела: проверяем статус.
    assert.equal((await get(`/api/files/${file.id}/content`, { token: nobody, method: 'HEAD' })).status, 403);
  });

  it('сервисный токен запрошен у admin один раз и переиспользуется', TIMEOUT, () => {
    assert.equal(stack.tokenRequests, 1);
  });

  // Последним: останавливает SE до конца файла.
  it('SE недоступен: выдача байтов — быстрый 503 problem+json, поиск и запись — из индекса', TIMEOUT, async () => {
    await stack.stopStorageElement();
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const response = await get(`/api/files/${file.id}/content`);
      const elapsed = performance.now() - started;
      await expectProblem(response, 503, ['UPSTREAM_UNAVAILABLE', 'CIRCUIT_OPEN']);
      assert.ok(elapsed < 500, `отказ занял ${elapsed.toFixed(0)} мс`);
    }
    const { body } = await search({ q: 'договора' });
    assert.deepEqual(body.items.map((i) => i.id), [file.id]);
    const record = await get(`/api/files/${file.id}`);
    assert.equal(record.status, 200);
  });
});
