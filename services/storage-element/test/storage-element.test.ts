// Интеграционные тесты storage-element в процессе: настоящий HTTP на свободном порту, PGlite,
// локальная ФС во временном каталоге, токены RS256 с проверкой по JWKS (SPEC SE-1…SE-5, SE-8, SE-11).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { uuidv7 } from '@artstore/core';
import { listFiles } from '@artstore/core/testing';
import { chunkedUpload, ELEMENT_ID, expectProblem, listStored, startSe, waitFor, type RunningSe } from './helpers.js';
import { changes, upload, uploadOk, type StoredRecord } from './stack.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Каталог YYYY/MM/DD/HH по времени загрузки в UTC (SPEC SE-1). */
function hourDir(createdAt: string): string {
  const iso = new Date(createdAt).toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}`;
}

/** Путь записи лежит внутри base_path, ровно на пять сегментов ниже, без «.», «..» и пустых сегментов. */
function assertInsideBase(basePath: string, path: string): void {
  const segments = path.split('/');
  assert.equal(segments.length, 5, `ожидалось YYYY/MM/DD/HH/<имя>: ${path}`);
  for (const segment of segments) {
    assert.ok(
      segment !== '' && segment !== '.' && segment !== '..',
      `опасный сегмент в ${JSON.stringify(path)}`,
    );
    assert.doesNotMatch(segment, /[\\\0]/);
  }
  const rel = relative(basePath, resolve(basePath, path));
  assert.ok(rel !== '' && !rel.startsWith('..') && !isAbsolute(rel), `путь вне base_path: ${path}`);
}

async function readAttr(se: RunningSe, path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(se.basePath, `${path}.attr.json`), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** Первый SE живёт весь файл: его БД делит второй SE (экономия на открытии PGlite). */
let first: RunningSe;

before(async () => {
  first = await startSe();
});

after(async () => {
  await first?.stop();
});

describe('storage-element: загрузка, лента, выдача', () => {
  let se: RunningSe;
  let uploader: string;
  let reader: string;
  let indexer: string;
  /** Все успешно загруженные в этом наборе файлы — лента обязана вернуть ровно их. */
  const stored: StoredRecord[] = [];

  async function put(
    body: Buffer,
    name: string,
    extra: { metadata?: unknown; contentType?: string } = {},
  ): Promise<StoredRecord> {
    const record = await uploadOk(se, body, { token: uploader, name, ...extra });
    stored.push(record);
    return record;
  }

  before(async () => {
    se = first;
    [uploader, reader, indexer] = await Promise.all([
      se.token(['uploader'], { name: 'uploader-1' }),
      se.token(['reader']),
      se.token(['indexer']),
    ]);
  });

  it('сырая загрузка: 201 с записью, данные и attr в YYYY/MM/DD/HH (UTC), временный каталог пуст', async () => {
    const bytes = Buffer.concat([Buffer.from('%PDF-1.7\nархив\n'), randomBytes(4096)]);
    const name = 'Отчёт о проверке.PDF';
    const metadata = { description: 'Годовой отчёт', tags: ['проверка', '2026'], custom: { отдел: 'архив' } };
    const record = await put(bytes, name, { metadata, contentType: 'application/pdf' });

    assert.match(record.id, UUID_V7);
    assert.equal(record.name, name);
    assert.equal(record.size, bytes.length);
    assert.equal(record.sha256, sha256(bytes));
    assert.equal(record.content_type, 'application/pdf');
    assert.equal(record.storage_element, ELEMENT_ID);
    assert.equal(record.created_by, 'uploader-1');
    assert.equal(record.status, 'active');
    assert.equal(record.version, 1);
    assert.deepEqual(record.metadata, metadata);
    assert.equal(typeof record.seq, 'number');
    assert.ok(record.seq > 0);

    // Имя на диске: <safe-stem>_<id><.ext>, расширение в нижнем регистре (SPEC SE-1).
    assert.equal(record.path, `${hourDir(record.created_at)}/Отчёт о проверке_${record.id}.pdf`);
    assertInsideBase(se.basePath, record.path);
    assert.deepEqual(await readFile(join(se.basePath, record.path)), bytes);

    const attr = await readAttr(se, record.path);
    assert.equal(attr.schema, 'artstore.attr/v1');
    assert.equal(attr.id, record.id);
    assert.equal(attr.element_id, ELEMENT_ID);
    assert.equal(attr.path, record.path);
    assert.equal(attr.original_name, name);
    assert.equal(attr.content_type, 'application/pdf');
    assert.equal(attr.size, bytes.length);
    assert.equal(attr.sha256, sha256(bytes));
    assert.deepEqual(attr.stored, { encoding: 'identity', size: bytes.length, sha256: sha256(bytes) });
    assert.equal(attr.status, 'active');
    assert.equal(attr.created_by, 'uploader-1');
    assert.deepEqual(attr.metadata, metadata);

    assert.deepEqual(await listStored(se.basePath), [record.path, `${record.path}.attr.json`].sort());
    assert.deepEqual(await listFiles(se.tmpDir), []);

    // Запись о файле читается обратно из кеша.
    const response = await fetch(`${se.url}/api/files/${record.id}`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    assert.equal(response.status, 200);
    const { seq: _seq, ...expected } = record;
    assert.deepEqual(await response.json(), expected);
  });

  it('враждебные имена: файлы только внутри base_path, исходное имя сохранено в attr и в записи', async () => {
    const outsideBefore = (await listFiles(se.root)).filter((f) => !f.startsWith('store/root/'));
    const storedBefore = await listStored(se.basePath);
    const names = [
      '../../etc/passwd',
      '..\\x',
      '/abs/path',
      'счёт\u202Efdp.exe',
      'ж'.repeat(150), // 300 байт UTF-8
    ];
    assert.equal(Buffer.byteLength(names[4]!), 300);
    const records: StoredRecord[] = [];
    for (const name of names) records.push(await put(Buffer.from(`содержимое ${name}`), name));

    for (const [i, record] of records.entries()) {
      const name = names[i]!;
      assert.equal(record.name, name);
      assertInsideBase(se.basePath, record.path);
      const fileName = record.path.split('/').at(-1)!;
      assert.ok(fileName.includes(`_${record.id}`), `в имени на диске нет id: ${fileName}`);
      assert.doesNotMatch(fileName, /[\u202E/\\]/u);
      const stem = fileName.slice(0, fileName.indexOf(`_${record.id}`));
      assert.ok(Buffer.byteLength(stem) <= 120, `основа длиннее 120 байт: ${Buffer.byteLength(stem)}`);
      assert.ok(!stem.startsWith('.'), `скрытый файл: ${fileName}`);
      assert.equal((await readAttr(se, record.path)).original_name, name);
      assert.deepEqual(await readFile(join(se.basePath, record.path)), Buffer.from(`содержимое ${name}`));
    }
    // Расширение выделяется только из «.буквы/цифры» в конце: RTL-подмена не превращает .exe в .pdf.
    assert.ok(records[3]!.path.endsWith(`_${records[3]!.id}.exe`));

    // Появились ровно пары «данные + attr» этих записей, ничего больше — ни etc/passwd, ни файлов снаружи.
    const expectedNew = records.flatMap((r) => [r.path, `${r.path}.attr.json`]);
    assert.deepEqual(await listStored(se.basePath), [...storedBefore, ...expectedNew].sort());
    assert.deepEqual(
      (await listFiles(se.root)).filter((f) => !f.startsWith('store/root/')),
      outsideBefore,
    );
    assert.deepEqual(await listFiles(se.tmpDir), []);
  });

  it('плохие имя и метаданные: NUL → FILE_NAME_INVALID, нет имени → VALIDATION_FAILED, кривые метаданные → 400', async () => {
    const before = await listStored(se.basePath);
    const body = Buffer.from('не должно сохраниться');
    await expectProblem(
      await upload(se, body, { token: uploader, rawName: 'evil%00.txt' }),
      400,
      'FILE_NAME_INVALID',
    );
    await expectProblem(
      await upload(se, body, { token: uploader, rawName: '%E0%A4%A' }),
      400,
      'FILE_NAME_INVALID',
    );
    await expectProblem(await upload(se, body, { token: uploader }), 400, 'VALIDATION_FAILED');
    await expectProblem(
      await upload(se, body, {
        token: uploader,
        name: 'a.txt',
        rawMetadata: Buffer.from('not json').toString('base64url'),
      }),
      400,
      'VALIDATION_FAILED',
    );
    await expectProblem(
      await upload(se, body, {
        token: uploader,
        name: 'a.txt',
        metadata: { description: 'x', unknown_field: 1 },
      }),
      400,
      'VALIDATION_FAILED',
    );
    await expectProblem(
      await upload(se, body, { token: uploader, name: 'a.txt', metadata: ['массив'] }),
      400,
      'VALIDATION_FAILED',
    );
    assert.deepEqual(await listStored(se.basePath), before);
    assert.deepEqual(await listFiles(se.tmpDir), []);
  });

  it('заранее назначенный идентификатор (сага ingester): файл получает его, повтор — FILE_ID_TAKEN, кривой — 400', async () => {
    const id = uuidv7();
    const bytes = randomBytes(2048);
    const record = await put(bytes, 'назначенный.bin');
    assert.notEqual(record.id, id);
    const assigned = await uploadOk(se, bytes, { token: uploader, name: 'назначенный.bin', fileId: id });
    stored.push(assigned);
    assert.equal(assigned.id, id);
    assert.ok(assigned.path.endsWith(`_${id}.bin`));
    const before = await listStored(se.basePath);
    // Одновременные загрузки с одним id: не пишутся обе, и занятый id не перезаписывается.
    const again = await Promise.all(
      [1, 2].map(() => upload(se, Buffer.from('другие байты'), { token: uploader, name: 'x.bin', fileId: id })),
    );
    for (const response of again) await expectProblem(response, 409, 'FILE_ID_TAKEN');
    const twinId = uuidv7();
    const twins = await Promise.all(
      [1, 2].map(() => upload(se, randomBytes(64), { token: uploader, name: 'twin.bin', fileId: twinId })),
    );
    assert.deepEqual(twins.map((r) => r.status).sort(), [201, 409]);
    const winner = twins.find((r) => r.status === 201)!;
    stored.push((await winner.json()) as StoredRecord);
    await expectProblem(twins.find((r) => r.status === 409)!, 409, 'FILE_ID_TAKEN');
    await expectProblem(
      await upload(se, bytes, { token: uploader, name: 'x.bin', fileId: 'not-a-uuid' }),
      400,
      'VALIDATION_FAILED',
    );
    assert.equal((await listStored(se.basePath)).length, before.length + 2);
    const response = await fetch(`${se.url}/api/files/${id}/content`, { headers: { authorization: `Bearer ${reader}` } });
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), bytes);
  });

  it('права: reader не загружает, uploader не читает ленту, indexer читает; без токена — 401', async () => {
    const before = await listStored(se.basePath);
    const forbidden = await expectProblem(
      await upload(se, Buffer.from('x'), { token: reader, name: 'r.txt' }),
      403,
      'FORBIDDEN',
    );
    assert.equal(forbidden.permission, 'files:write');
    await expectProblem(await upload(se, Buffer.from('x'), { name: 'anon.txt' }), 401, 'AUTH_TOKEN_MISSING');
    // Пока пароль не сменён, токен пользователя ничего не разрешает (SPEC §9).
    const pending = await se.token(['admin'], { pwd_change: true });
    await expectProblem(
      await upload(se, Buffer.from('x'), { token: pending, name: 'p.txt' }),
      403,
      'PASSWORD_CHANGE_REQUIRED',
    );
    // Подпись чужим ключом с тем же kid не проходит: kid взят у настоящего токена, подпись — нет.
    const [header, payload] = uploader.split('.');
    const forged = `${header}.${payload}.${Buffer.from('подделка').toString('base64url')}`;
    await expectProblem(
      await upload(se, Buffer.from('x'), { token: forged, name: 'f.txt' }),
      401,
      'AUTH_TOKEN_INVALID',
    );
    assert.deepEqual(await listStored(se.basePath), before);

    const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    const denied = await expectProblem(
      await fetch(`${se.url}/api/changes`, auth(uploader)),
      403,
      'FORBIDDEN',
    );
    assert.equal(denied.permission, 'changes:read');
    await expectProblem(await fetch(`${se.url}/api/changes`), 401, 'AUTH_TOKEN_MISSING');
    assert.equal((await fetch(`${se.url}/api/changes`, auth(indexer))).status, 200);
  });

  it('лента изменений: все загрузки ровно по разу, seq строго растёт, after и limit соблюдаются', async () => {
    // Догружаем, чтобы лента была заметно длиннее одной страницы.
    for (let i = 0; i < 3; i++) await put(Buffer.from(`лента ${i}`), `feed-${i}.txt`);
    const all = await changes(se, indexer, 'after=0');
    assert.equal(all.element_id, ELEMENT_ID);
    assert.deepEqual(
      all.changes.map((c) => c.record.id),
      stored.map((r) => r.id),
      'лента после 0 — ровно успешные загрузки, в порядке загрузки',
    );
    assert.deepEqual(
      all.changes.map((c) => c.seq),
      stored.map((r) => r.seq),
    );
    for (let i = 1; i < all.changes.length; i++) assert.ok(all.changes[i]!.seq > all.changes[i - 1]!.seq);
    const last = all.changes.at(-1)!.seq;
    assert.equal(all.last_seq, last);
    const tail = all.changes.at(-1)!.record;
    const { seq: _seq, ...expectedTail } = stored.at(-1)!;
    assert.deepEqual(tail, expectedTail);

    const empty = await changes(se, indexer, `after=${last}`);
    assert.deepEqual(empty.changes, []);
    assert.equal(empty.last_seq, last);

    const limited = await changes(se, indexer, 'after=0&limit=2');
    assert.deepEqual(
      limited.changes.map((c) => c.seq),
      all.changes.slice(0, 2).map((c) => c.seq),
    );
    assert.equal(limited.last_seq, all.changes[1]!.seq);

    const middle = await changes(se, indexer, `after=${all.changes[1]!.seq}&limit=3`);
    assert.deepEqual(
      middle.changes.map((c) => c.seq),
      all.changes.slice(2, 5).map((c) => c.seq),
    );

    await expectProblem(
      await fetch(`${se.url}/api/changes?limit=0`, { headers: { authorization: `Bearer ${indexer}` } }),
      400,
      'VALIDATION_FAILED',
    );
    await expectProblem(
      await fetch(`${se.url}/api/changes?after=-1`, { headers: { authorization: `Bearer ${indexer}` } }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('20 параллельных загрузок: номера без пропусков, постраничное чтение по 3 возвращает каждую ровно раз', async () => {
    const start = (await changes(se, indexer, 'after=0&limit=10000')).last_seq;
    const records = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        put(Buffer.from(`параллельно ${i} ${'x'.repeat(i * 100)}`), `parallel-${i}.bin`),
      ),
    );
    const seqs = records.map((r) => r.seq).sort((a, b) => a - b);
    assert.equal(new Set(seqs).size, 20);
    assert.equal(seqs[0], start + 1, 'первый номер сразу после предыдущего хвоста ленты');
    assert.equal(seqs[19]! - seqs[0], 19, `номера с пропусками: ${seqs.join(',')}`);

    const seen: { seq: number; id: string }[] = [];
    let cursor = start;
    let pages = 0;
    for (;;) {
      const page = await changes(se, indexer, `after=${cursor}&limit=3`);
      pages++;
      assert.ok(page.changes.length <= 3);
      if (page.changes.length === 0) {
        assert.equal(page.last_seq, cursor);
        break;
      }
      for (const change of page.changes) {
        assert.ok(change.seq > cursor, 'номер не растёт');
        seen.push({ seq: change.seq, id: change.record.id });
        cursor = change.seq;
      }
      assert.equal(page.last_seq, cursor);
      assert.ok(pages < 20, 'лента не кончается');
    }
    assert.equal(pages, 8); // 7 страниц по ≤3 записи и пустая
    assert.deepEqual(seen.map((s) => s.id).sort(), records.map((r) => r.id).sort());
    assert.deepEqual(
      seen.map((s) => s.seq),
      seqs,
    );
    assert.deepEqual(await listFiles(se.tmpDir), []);
  });

  describe('выдача (SPEC SE-11)', () => {
    const bytes = Buffer.from('ArtStore: проверка выдачи по диапазонам 0123456789', 'utf8');
    const name = 'Договор поставки №7 «итог».txt';
    let record: StoredRecord;
    let contentUrl: string;
    const get = (headers: Record<string, string> = {}, method = 'GET') =>
      fetch(contentUrl, { method, headers: { authorization: `Bearer ${reader}`, ...headers } });

    before(async () => {
      record = await put(bytes, name, { contentType: 'text/plain; charset=utf-8' });
      contentUrl = `${se.url}/api/files/${record.id}/content`;
    });

    it('целиком: тело совпадает, ETag = "sha256", Last-Modified, Accept-Ranges', async () => {
      const response = await get();
      assert.equal(response.status, 200);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), bytes);
      assert.equal(response.headers.get('etag'), `"${sha256(bytes)}"`);
      assert.equal(response.headers.get('content-length'), String(bytes.length));
      assert.equal(response.headers.get('accept-ranges'), 'bytes');
      assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(response.headers.get('last-modified'), new Date(record.created_at).toUTCString());
    });

    it('Range: bytes=0-4 и bytes=-7 → 206 с Content-Range; bytes=<size>- → 416 с bytes */<size>', async () => {
      const head = await get({ range: 'bytes=0-4' });
      assert.equal(head.status, 206);
      assert.equal(head.headers.get('content-range'), `bytes 0-4/${bytes.length}`);
      assert.equal(head.headers.get('content-length'), '5');
      assert.deepEqual(Buffer.from(await head.arrayBuffer()), bytes.subarray(0, 5));

      const suffix = await get({ range: 'bytes=-7' });
      assert.equal(suffix.status, 206);
      assert.equal(
        suffix.headers.get('content-range'),
        `bytes ${bytes.length - 7}-${bytes.length - 1}/${bytes.length}`,
      );
      assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), bytes.subarray(bytes.length - 7));

      const beyond = await get({ range: `bytes=${bytes.length}-` });
      assert.equal(beyond.headers.get('content-range'), `bytes */${bytes.length}`);
      await expectProblem(beyond, 416, 'RANGE_NOT_SATISFIABLE');
    });

    it('условные запросы: If-None-Match текущий → 304, чужой If-Match → 412, If-Range со старым тегом → 200', async () => {
      const etag = `"${sha256(bytes)}"`;
      const notModified = await get({ 'if-none-match': etag });
      assert.equal(notModified.status, 304);
      assert.equal((await notModified.arrayBuffer()).byteLength, 0);
      assert.equal(notModified.headers.get('etag'), etag);

      await expectProblem(await get({ 'if-match': '"bogus"' }), 412, 'PRECONDITION_FAILED');
      assert.equal((await get({ 'if-match': etag })).status, 200);

      const stale = await get({ range: 'bytes=0-4', 'if-range': '"stale"' });
      assert.equal(stale.status, 200);
      assert.deepEqual(Buffer.from(await stale.arrayBuffer()), bytes);
    });

    it('HEAD: длина без тела', async () => {
      const response = await get({}, 'HEAD');
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-length'), String(bytes.length));
      assert.equal(response.headers.get('etag'), `"${sha256(bytes)}"`);
      assert.equal((await response.arrayBuffer()).byteLength, 0);
    });

    it("Content-Disposition: только ASCII-байты и filename*=UTF-8'' с кириллицей без потерь", async () => {
      // Через http.request, чтобы увидеть байты заголовка как есть, без перекодирования fetch.
      const raw = await new Promise<Buffer>((resolvePromise, reject) => {
        const req = httpRequest(
          contentUrl,
          { method: 'HEAD', headers: { authorization: `Bearer ${reader}` } },
          (res) => {
            const index = res.rawHeaders.findIndex(
              (h, i) => i % 2 === 0 && h.toLowerCase() === 'content-disposition',
            );
            res.resume();
            if (index < 0) reject(new Error('нет Content-Disposition'));
            else resolvePromise(Buffer.from(res.rawHeaders[index + 1]!, 'latin1'));
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.ok(
        raw.every((b) => b >= 0x20 && b <= 0x7e),
        `не-ASCII байты в Content-Disposition: ${raw.toString('latin1')}`,
      );
      const value = raw.toString('ascii');
      assert.match(value, /^attachment;/);
      const extended = /filename\*=UTF-8''([^;\s]+)/.exec(value);
      assert.ok(extended, value);
      assert.equal(decodeURIComponent(extended[1]!), name);
    });

    it('несуществующий id → 404 FILE_NOT_FOUND, кривой id → 400', async () => {
      const missing = '01890a5d-ac96-774b-bcce-b302099a8057';
      await expectProblem(
        await fetch(`${se.url}/api/files/${missing}/content`, {
          headers: { authorization: `Bearer ${reader}` },
        }),
        404,
        'FILE_NOT_FOUND',
      );
      await expectProblem(
        await fetch(`${se.url}/api/files/not-a-uuid`, { headers: { authorization: `Bearer ${reader}` } }),
        400,
        'VALIDATION_FAILED',
      );
    });
  });
});

describe('storage-element: место (SPEC SE-8) и оборванная загрузка', () => {
  const MAX = 64 * 1024;
  let se: RunningSe;
  let uploader: string;
  let indexer: string;

  before(async () => {
    // Второй SE в той же БД, что и первый, со своим префиксом таблиц (SPEC SE-4): заодно проверяем,
    // что ленты и учёт места не смешиваются.
    se = await startSe({ maxSize: MAX, shared: { db: first.db, tablePrefix: 'se2_' } });
    [uploader, indexer] = await Promise.all([se.token(['uploader']), se.token(['indexer'])]);
  });

  after(async () => {
    await se?.stop();
  });

  it('обрыв на середине тела: ни данных, ни attr, ни временного файла, ни строки кеша; резерв снят', async () => {
    const before = await listStored(se.basePath);
    assert.deepEqual(before, []);
    const declared = 60 * 1024;
    let responded: number | undefined;
    const req = httpRequest(`${se.url}/api/files`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${uploader}`,
        'content-type': 'application/octet-stream',
        'content-length': String(declared),
        'artstore-name': encodeURIComponent('оборвётся.bin'),
      },
    });
    const closed = new Promise<void>((resolvePromise) => {
      req.on('error', () => resolvePromise());
      req.on('close', () => resolvePromise());
    });
    req.on('response', (res) => {
      responded = res.statusCode;
      res.resume();
    });
    req.write(randomBytes(8 * 1024));
    try {
      // Рвём соединение только после того, как байты дошли до временного файла.
      await waitFor('временный файл загрузки', async () => (await listFiles(se.tmpDir)).length > 0);
    } finally {
      req.destroy();
    }
    await closed;
    assert.equal(responded, undefined, 'сервер не должен отвечать успехом на неполное тело');
    await waitFor(
      'временный файл удалён после обрыва',
      async () => (await listFiles(se.tmpDir)).length === 0,
    );

    assert.deepEqual(await listStored(se.basePath), before);
    const feed = await changes(se, indexer, 'after=0');
    assert.deepEqual(feed.changes, []);
    assert.equal(feed.last_seq, 0);

    // Резерв под 60 КиБ снят: 10 КиБ поверх него не поместились бы в 64 КиБ.
    const next = await uploadOk(se, randomBytes(10 * 1024), { token: uploader, name: 'after-abort.bin' });
    assert.ok((await stat(join(se.basePath, next.path))).isFile());
  });

  it('загрузка без Content-Length (chunked, так шлёт ingester файлы из multipart): предел места тоже действует', async () => {
    const feedBefore = await changes(se, indexer, 'after=0');
    const used = feedBefore.changes.reduce((sum, c) => sum + c.record.size, 0);
    const before = await listStored(se.basePath);

    // Заявленной длины нет — резервировать заранее нечего; перебор обязан остановить запись.
    const tooBig = await chunkedUpload(
      se,
      uploader,
      'chunked-too-big.bin',
      randomBytes(MAX - used + 4096),
      8,
    );
    // Отказ посреди тела — всё равно ответ 507, а не обрыв соединения.
    assert.equal(tooBig.status, 507, tooBig.body);
    const problem = JSON.parse(tooBig.body) as Record<string, unknown>;
    assert.equal(problem.code, 'INSUFFICIENT_STORAGE');
    assert.equal(problem.available_bytes, MAX - used);
    assert.equal(problem.max_bytes, MAX);
    assert.ok((problem.required_bytes as number) > MAX - used);
    await waitFor('временный файл удалён', async () => (await listFiles(se.tmpDir)).length === 0);
    assert.deepEqual(await listStored(se.basePath), before);
    assert.deepEqual((await changes(se, indexer, 'after=0')).changes, feedBefore.changes);

    // Влезающая chunked-загрузка проходит, размер посчитан по факту.
    const small = randomBytes(3000);
    const ok = await chunkedUpload(se, uploader, 'chunked-small.bin', small, 3);
    assert.equal(ok.status, 201, ok.body);
    const record = JSON.parse(ok.body) as StoredRecord;
    assert.equal(record.size, small.length);
    assert.equal(record.sha256, sha256(small));
  });

  it('не влезает → 507 INSUFFICIENT_STORAGE с цифрами, ничего не записано; влезающая загрузка проходит', async () => {
    const feedBefore = await changes(se, indexer, 'after=0');
    const used = feedBefore.changes.reduce((sum, c) => sum + c.record.size, 0);
    assert.ok(used > 0 && used < MAX);
    const before = await listStored(se.basePath);

    const tooBig = await upload(se, randomBytes(MAX - used + 1), { token: uploader, name: 'too-big.bin' });
    const problem = await expectProblem(tooBig, 507, 'INSUFFICIENT_STORAGE');
    assert.equal(problem.required_bytes, MAX - used + 1);
    assert.equal(problem.available_bytes, MAX - used);
    assert.equal(problem.used_bytes, used);
    assert.equal(problem.max_bytes, MAX);
    assert.equal(typeof problem.disk_free_bytes, 'number');
    assert.ok((problem.disk_free_bytes as number) > 0);
    assert.match(problem.detail as string, /нет места/);

    assert.deepEqual(await listStored(se.basePath), before);
    assert.deepEqual(await listFiles(se.tmpDir), []);
    assert.deepEqual((await changes(se, indexer, 'after=0')).changes, feedBefore.changes);

    // Ровно остаток места — помещается.
    const fits = await uploadOk(se, randomBytes(MAX - used), { token: uploader, name: 'fits.bin' });
    assert.equal(fits.size, MAX - used);
    // Теперь свободно 0 байт: даже один байт — 507.
    const full = await expectProblem(
      await upload(se, Buffer.from('x'), { token: uploader, name: 'one.bin' }),
      507,
      'INSUFFICIENT_STORAGE',
    );
    assert.equal(full.available_bytes, 0);
    assert.equal(full.used_bytes, MAX);
  });
});
