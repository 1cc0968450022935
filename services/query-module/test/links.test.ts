// Временные ссылки на скачивание (SPEC QR-6, §9 POST /api/links, GET/HEAD /api/links/{token}): подпись и её
// проверка, общий ключ экземпляров query, выдача без входа через прокси к SE с Range и условными запросами,
// заголовки для CDN, срок, одноразовость, права создателя, аудит. Оба набора портов.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createPgliteDatabase } from '@artstore/adapters';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import { LINK_EXPIRES_IN, type TemporaryLink, type UploadedFile } from '@artstore/contracts';
import { isArtError, runMigrations, type Database } from '@artstore/core';
import { captureAuditEvents, CleanupStack, type CapturedAuditEvents } from '@artstore/core/testing';
import { seqOf } from '@artstore/storage-element/testing';
import { createLinkSigner, type LinkClaims } from '../src/domain/links.js';
import { createLinkStore } from '../src/store/link-store.js';
import { queryMigrations } from '../src/store/migrations.js';
import {
  ELEMENT_ID,
  expectProblem,
  seLastSeq,
  startQueryStack,
  uploadToSe,
  waitIndexed,
  type QueryStack,
} from './harness.js';

const TIMEOUT = { timeout: 20_000 };
const BYTES = Buffer.from('hello world');

const key = (kid: string) => ({ kid, secret: randomBytes(32) });
const claims = (overrides: Partial<LinkClaims> = {}): LinkClaims => ({
  id: randomUUID(),
  fileId: randomUUID(),
  expiresAt: new Date(Date.now() + 60_000),
  singleUse: false,
  ...overrides,
});
const rejects = (code: string, open: () => unknown, what: string) =>
  assert.throws(open, (error: unknown) => isArtError(error) && error.code === code, what);

describe('токен ссылки: подпись HMAC-SHA256 и проверка', () => {
  it('подписанное открывается как было', () => {
    const signer = createLinkSigner([key('k1')]);
    const original = claims({ singleUse: true });
    assert.deepEqual(signer.open(signer.sign(original)), original);
    const token = signer.sign(claims());
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    assert.ok(`/api/links/${token}`.length < 120, 'ссылка короче предела параметра маршрута');
  });

  it('любой изменённый символ, обрезка, мусор, чужой ключ, неизвестный kid → LINK_INVALID', () => {
    const signer = createLinkSigner([key('k1')]);
    const token = signer.sign(claims());
    for (let i = 0; i < token.length; i++) {
      if (token[i] === '.') continue;
      const changed = `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
      rejects('LINK_INVALID', () => signer.open(changed), `символ ${i}`);
    }
    for (const bad of [
      '',
      '.',
      'abc',
      token.split('.')[0]!,
      `${token}.x`,
      token.slice(0, -1),
      `${token}A`,
      `.${token.split('.')[1]}`,
    ]) {
      rejects('LINK_INVALID', () => signer.open(bad), bad);
    }
    rejects('LINK_INVALID', () => createLinkSigner([key('k1')]).open(token), 'другой секрет с тем же kid');
    rejects('LINK_INVALID', () => createLinkSigner([key('k2')]).open(token), 'неизвестный kid');
  });

  it('срок проверяется после подписи: истёкшая настоящая → LINK_EXPIRED, истёкшая поддельная → LINK_INVALID', () => {
    const signer = createLinkSigner([key('k1')]);
    const token = signer.sign(claims({ expiresAt: new Date(Date.now() - 1) }));
    rejects('LINK_EXPIRED', () => signer.open(token), 'истёкшая');
    rejects('LINK_INVALID', () => signer.open(`${token.slice(0, -2)}AA`), 'истёкшая с чужой подписью');
  });

  it('после смены ключа ссылки, подписанные прежним, действуют (kid в payload)', () => {
    const old = key('k1');
    const token = createLinkSigner([old]).sign(claims());
    const rotated = createLinkSigner([key('k2'), old]);
    assert.ok(rotated.open(token));
    assert.ok(rotated.sign(claims()) !== token);
  });
});

for (const backend of SERVICE_BACKENDS) {
  describe(`ключ подписи ссылок общий для экземпляров query (${backend.name})`, () => {
    const cleanup = new CleanupStack();
    after(() => cleanup.run());

    it(
      'одновременный первый старт двух экземпляров — один ключ у обоих, повторный старт его не меняет',
      TIMEOUT,
      async () => {
        const opened = await backend.open(cleanup, 'query_link_keys');
        let db: Database;
        if (opened.sharedDb) db = opened.sharedDb;
        else {
          db = await createPgliteDatabase();
          cleanup.defer(() => db.close());
        }
        await runMigrations(db, 'query-module', queryMigrations);
        const [a, b] = await Promise.all([
          createLinkStore(db).signingKeys(),
          createLinkStore(db).signingKeys(),
        ]);
        assert.equal(a.length, 1);
        assert.deepEqual(a, b);
        assert.equal(a[0]!.secret.length, 32);
        assert.deepEqual(await createLinkStore(db).signingKeys(), a);
        const token = createLinkSigner(a).sign(claims());
        assert.ok(createLinkSigner(b).open(token), 'ссылку одного экземпляра принимает другой');
      },
    );
  });

  describe(`временные ссылки через query (${backend.name})`, () => {
    let stack: QueryStack;
    let reader: string;
    let file: UploadedFile;
    let audit: CapturedAuditEvents;

    before(async () => {
      stack = await startQueryStack({
        backend,
        sharedCoordination: true,
        pollIntervalMs: 60_000,
        consistencyWaitMs: 1000,
      });
      audit = captureAuditEvents(stack.jobs);
      reader = await stack.issuer.mint({ sub: 'user-links', name: 'reader', roles: ['reader'] });
      file = await uploadToSe(stack, 'Отчёт.txt', BYTES, { contentType: 'text/plain' });
      await waitIndexed(stack, seqOf(file), 10_000);
    });
    after(async () => {
      await audit?.close();
      await stack?.close();
    });

    const create = (body: Record<string, unknown>, token: string | null = reader) =>
      fetch(`${stack.queryUrl}/api/links`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        },
        body: JSON.stringify(body),
      });
    async function createOk(body: Record<string, unknown>): Promise<TemporaryLink> {
      const response = await create(body);
      const text = await response.text();
      assert.equal(response.status, 201, text);
      return JSON.parse(text) as TemporaryLink;
    }
    /** Без входа: никакого Authorization. */
    const open = (link: TemporaryLink | string, headers: Record<string, string> = {}, method = 'GET') =>
      fetch(`${stack.queryUrl}${typeof link === 'string' ? link : link.url}`, { method, headers });

    it(
      'создание: token, url, expires_at (по умолчанию час), single_use false; аудит link.create',
      TIMEOUT,
      async () => {
        const before = Date.now();
        const link = await createOk({ file_id: file.id });
        assert.equal(link.url, `/api/links/${link.token}`);
        assert.equal(link.file_id, file.id);
        assert.equal(link.single_use, false);
        const expires = Date.parse(link.expires_at) - before;
        assert.ok(
          expires >= LINK_EXPIRES_IN.default * 1000 && expires < LINK_EXPIRES_IN.default * 1000 + 5000,
          String(expires),
        );
        const event = await audit.waitFor(
          'link.create',
          (e) => e.action === 'link.create' && e.details.link_id === link.id,
        );
        assert.deepEqual(
          [event.target, event.actor.subject, event.details.single_use],
          [file.id, 'user-links', false],
        );
      },
    );

    it(
      'выдача без входа: байты, ETag и Last-Modified от SE, Cache-Control public до истечения; Range и 304',
      TIMEOUT,
      async () => {
        const link = await createOk({ file_id: file.id, expires_in: 600 });
        const response = await open(link);
        assert.equal(response.status, 200);
        assert.equal(await response.text(), 'hello world');
        assert.equal(response.headers.get('etag'), `"${file.sha256}"`);
        assert.ok(response.headers.get('last-modified'));
        assert.match(response.headers.get('content-disposition') ?? '', /filename\*=UTF-8''/);
        const maxAge = Number(
          /^public, max-age=(\d+)$/.exec(response.headers.get('cache-control') ?? '')?.[1],
        );
        assert.ok(maxAge > 590 && maxAge <= 600, response.headers.get('cache-control') ?? '');

        const ranged = await open(link, { range: 'bytes=-5' });
        assert.equal(ranged.status, 206);
        assert.equal(ranged.headers.get('content-range'), 'bytes 6-10/11');
        assert.equal(await ranged.text(), 'world');
        const notModified = await open(link, { 'if-none-match': `"${file.sha256}"` });
        assert.equal(notModified.status, 304);
        assert.match(notModified.headers.get('cache-control') ?? '', /^public, max-age=/);
        await expectProblem(await open(link, { range: 'bytes=11-' }), 416, 'RANGE_NOT_SATISFIABLE');
        // Многоразовая — сколько угодно раз.
        assert.equal(await (await open(link)).text(), 'hello world');

        const event = await audit.waitFor(
          'file.download по ссылке',
          (e) => e.action === 'file.download' && e.details.link_id === link.id,
        );
        assert.deepEqual(
          [event.target, event.details.storage_element, event.actor.subject],
          [file.id, ELEMENT_ID, `link:${link.id}`],
        );
      },
    );

    it('подделанный или испорченный токен → 401 LINK_INVALID', TIMEOUT, async () => {
      const link = await createOk({ file_id: file.id });
      const [payload, signature] = link.token.split('.') as [string, string];
      const foreign = createLinkSigner([key('k1')]).sign(claims({ fileId: file.id }));
      // Замена символа всегда меняет его (замена хвоста на «AA» была пустой, если хвост и так «AA»: флаги — 0).
      const flip = (text: string, at: number) =>
        `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
      for (const token of [
        `${payload}.${flip(signature, 10)}`,
        `${flip(payload, 10)}.${signature}`,
        'мусор',
        'a.b',
        foreign,
      ]) {
        await expectProblem(await open(`/api/links/${encodeURIComponent(token)}`), 401, 'LINK_INVALID');
      }
      assert.equal((await open(`/api/links/${foreign}`, {}, 'HEAD')).status, 401);
    });

    it('истёкшая → 410 LINK_EXPIRED', TIMEOUT, async () => {
      const link = await createOk({ file_id: file.id, expires_in: 1 });
      assert.equal((await open(link)).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const problem = await expectProblem(await open(link), 410, 'LINK_EXPIRED');
      assert.equal(problem.expired_at, link.expires_at);
    });

    it(
      'одноразовая: HEAD не расходует, первая выдача — байты с no-store, вторая → 410 LINK_USED',
      TIMEOUT,
      async () => {
        const link = await createOk({ file_id: file.id, single_use: true });
        for (let i = 0; i < 2; i++) {
          const head = await open(link, {}, 'HEAD');
          assert.equal(head.status, 200);
          assert.equal(head.headers.get('content-length'), '11');
          assert.equal(head.headers.get('cache-control'), 'no-store');
        }
        const first = await open(link);
        assert.equal(first.status, 200);
        assert.equal(first.headers.get('cache-control'), 'no-store');
        assert.equal(await first.text(), 'hello world');
        await expectProblem(await open(link), 410, 'LINK_USED');
        assert.equal((await open(link, {}, 'HEAD')).status, 410);
      },
    );

    it(
      'одноразовая, 6 одновременных скачиваний — байты получает ровно одно, остальные 410',
      TIMEOUT,
      async () => {
        const link = await createOk({ file_id: file.id, single_use: true });
        const responses = await Promise.all(Array.from({ length: 6 }, () => open(link)));
        const statuses = await Promise.all(responses.map(async (r) => [r.status, await r.text()] as const));
        assert.deepEqual(
          statuses.filter(([status]) => status === 200).map(([, body]) => body),
          ['hello world'],
          JSON.stringify(statuses),
        );
        assert.deepEqual(
          statuses
            .filter(([status]) => status !== 200)
            .map(([status, body]) => [status, (JSON.parse(body) as { code: string }).code]),
          Array(5).fill([410, 'LINK_USED']),
        );
      },
    );

    it(
      'создание: проверка тела → 400; без входа → 401; чужой SE → 403; нет файла → 404',
      TIMEOUT,
      async () => {
        for (const body of [
          {},
          { file_id: 'not-a-uuid' },
          { file_id: file.id, expires_in: 0 },
          { file_id: file.id, expires_in: LINK_EXPIRES_IN.max + 1 },
          { file_id: file.id, expires_in: 1.5 },
          { file_id: file.id, single_use: 'yes' },
          { file_id: file.id, extra: true },
        ]) {
          await expectProblem(await create(body), 400, 'VALIDATION_FAILED');
        }
        assert.equal((await create({ file_id: file.id, expires_in: LINK_EXPIRES_IN.max })).status, 201);
        await expectProblem(await create({ file_id: file.id }, null), 401, 'AUTH_TOKEN_MISSING');
        const elsewhere = await stack.issuer.mint({ roles: [], grants: ['reader@se:se-other'] });
        const problem = await expectProblem(await create({ file_id: file.id }, elsewhere), 403, 'FORBIDDEN');
        assert.equal(problem.permission, 'files:read');
        await expectProblem(
          await create({ file_id: file.id }, await stack.issuer.mint({ roles: [] })),
          403,
          'FORBIDDEN',
        );
        await expectProblem(await create({ file_id: randomUUID() }), 404, 'FILE_NOT_FOUND');
      },
    );

    it('файл удалён после создания ссылки → 404 FILE_NOT_FOUND', TIMEOUT, async () => {
      const doomed = await uploadToSe(stack, 'удалят.txt', 'x');
      await waitIndexed(stack, seqOf(doomed), 10_000);
      const link = await createOk({ file_id: doomed.id });
      assert.equal((await open(link)).status, 200);
      const deleted = await fetch(
        `${stack.seUrl}/api/files/${doomed.id}?reason=test&override_retention=true`,
        {
          method: 'DELETE',
          headers: { authorization: `Bearer ${stack.adminToken}` },
        },
      );
      assert.ok(deleted.ok, await deleted.text());
      await waitIndexed(stack, await seLastSeq(stack), 10_000);
      await expectProblem(await open(link), 404, 'FILE_NOT_FOUND');
    });

    it('OpenAPI: выдача по ссылке описана как маршрут без входа', TIMEOUT, async () => {
      const spec = (await (await fetch(`${stack.queryUrl}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { security?: unknown[] }>>;
      };
      assert.deepEqual(spec.paths['/api/links/{token}']?.get?.security, []);
      assert.equal(
        spec.paths['/api/links']?.post?.security,
        undefined,
        'создание — со входом (общая схема bearer)',
      );
    });

    // Последним: останавливает SE до конца набора.
    it('SE недоступен: выдача по ссылке — быстрый 503 problem+json', TIMEOUT, async () => {
      const link = await createOk({ file_id: file.id, single_use: true });
      await stack.stopStorageElement();
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        await expectProblem(await open(link), 503, ['UPSTREAM_UNAVAILABLE', 'CIRCUIT_OPEN']);
        assert.ok(
          performance.now() - started < 500,
          `отказ занял ${(performance.now() - started).toFixed(0)} мс`,
        );
      }
    });
  });
}
