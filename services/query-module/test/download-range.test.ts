// Выдача байтов через query (SPEC QR-6, QR-8): матрица Range и условных запросов на файле 11 байт (её решает
// SE по SE-11, прокси обязан донести её клиенту без искажений), Content-Disposition по сырым байтам ответа,
// права по гранту на SE файла, метрика выданных байтов. Оба набора портов.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import type { UploadedFile } from '@artstore/contracts';
import { parseContentDispositionFilename } from '@artstore/core';
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
const BYTES = Buffer.from('hello world');
const NAME = 'Отчёт «итоги» "2026".txt';

/** Ответ как он ушёл по сети: заголовки — сырые байты до пустой строки (fetch и node:http их декодируют).
 * Запрос без end(): полузакрытое соединение сервер закрыл бы, не ответив; Connection: close закроет его после ответа. */
function rawResponse(url: string, path: string, token: string): Promise<{ head: Buffer; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      resolve({ head: all.subarray(0, split), body: all.subarray(split + 4) });
    });
  });
}

async function metricValue(stack: QueryStack, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${stack.queryUrl}/metrics`)).text();
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && pairs.every((pair) => l.includes(pair)));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

for (const backend of SERVICE_BACKENDS) {
  describe(`выдача через query: Range, условные запросы, имя, права (${backend.name})`, () => {
    let stack: QueryStack;
    let reader: string;
    let file: UploadedFile;
    const content = (headers: Record<string, string> = {}, init: { token?: string; method?: string } = {}) =>
      fetch(`${stack.queryUrl}/api/files/${file.id}/content`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${init.token ?? reader}`, ...headers },
      });

    before(async () => {
      stack = await startQueryStack({
        backend,
        sharedCoordination: true,
        pollIntervalMs: 60_000,
        consistencyWaitMs: 1000,
      });
      reader = await stack.issuer.mint({ name: 'reader', roles: ['reader'] });
      file = await uploadToSe(stack, NAME, BYTES, { contentType: 'text/plain' });
      await waitIndexed(stack, seqOf(file), 10_000);
    });
    after(() => stack?.close());

    it('bytes=0-4 → 206 «hello»; bytes=-7 → 206 bytes 4-10/11', TIMEOUT, async () => {
      const head = await content({ range: 'bytes=0-4' });
      assert.equal(head.status, 206);
      assert.equal(head.headers.get('content-range'), 'bytes 0-4/11');
      assert.equal(head.headers.get('content-length'), '5');
      assert.equal(await head.text(), 'hello');

      const tail = await content({ range: 'bytes=-7' });
      assert.equal(tail.status, 206);
      assert.equal(tail.headers.get('content-range'), 'bytes 4-10/11');
      assert.equal(await tail.text(), 'o world');
    });

    it('bytes=11- → 416 RANGE_NOT_SATISFIABLE с Content-Range: bytes */11', TIMEOUT, async () => {
      const response = await content({ range: 'bytes=11-' });
      assert.equal(response.headers.get('content-range'), 'bytes */11');
      await expectProblem(response, 416, 'RANGE_NOT_SATISFIABLE');
    });

    it(
      'много перекрывающихся диапазонов → 200 и ровно одно полное тело (без усиления ответа)',
      TIMEOUT,
      async () => {
        for (const range of [
          'bytes=0-10,0-10,0-10',
          `bytes=${Array.from({ length: 200 }, () => '0-').join(',')}`,
          'bytes=0-5,3-8,-4',
        ]) {
          const response = await content({ range });
          assert.equal(response.status, 200, range.slice(0, 40));
          assert.equal(response.headers.get('content-range'), null);
          assert.doesNotMatch(response.headers.get('content-type') ?? '', /multipart/);
          assert.equal(response.headers.get('content-length'), '11');
          assert.ok(Buffer.from(await response.arrayBuffer()).equals(BYTES));
        }
      },
    );

    it('If-Range: старый ETag → 200 полное тело; текущий → 206', TIMEOUT, async () => {
      const stale = await content({ range: 'bytes=0-4', 'if-range': `"${'0'.repeat(64)}"` });
      assert.equal(stale.status, 200);
      assert.equal(await stale.text(), 'hello world');
      const fresh = await content({ range: 'bytes=0-4', 'if-range': `"${file.sha256}"` });
      assert.equal(fresh.status, 206);
      assert.equal(await fresh.text(), 'hello');
    });

    it(
      'If-None-Match текущий → 304 без тела; поддельный If-Match → 412 PRECONDITION_FAILED',
      TIMEOUT,
      async () => {
        const notModified = await content({ 'if-none-match': `"${file.sha256}"` });
        assert.equal(notModified.status, 304);
        assert.equal(notModified.headers.get('etag'), `"${file.sha256}"`);
        assert.equal((await notModified.arrayBuffer()).byteLength, 0);

        await expectProblem(await content({ 'if-match': '"forged-etag"' }), 412, 'PRECONDITION_FAILED');
        await expectProblem(await content({ 'if-match': `"${'f'.repeat(64)}"` }), 412, 'PRECONDITION_FAILED');
        const matched = await content({ 'if-match': `"${file.sha256}"` });
        assert.equal(matched.status, 200);
        assert.equal(await matched.text(), 'hello world');
      },
    );

    it(
      "кириллическое имя: filename*=UTF-8''… и ASCII-запасной filename; в заголовках только ASCII-байты",
      TIMEOUT,
      async () => {
        const { head, body } = await rawResponse(stack.queryUrl, `/api/files/${file.id}/content`, reader);
        assert.match(head.toString('latin1'), /^HTTP\/1\.1 200 /);
        const nonAscii = [...head].filter(
          (byte) => byte > 0x7e || (byte < 0x20 && byte !== 0x0d && byte !== 0x0a),
        );
        assert.deepEqual(nonAscii, [], 'в заголовках байты вне ASCII');
        const disposition = head
          .toString('ascii')
          .split('\r\n')
          .find((line) => line.toLowerCase().startsWith('content-disposition:'));
        assert.ok(disposition, head.toString('ascii'));
        const value = disposition.slice('content-disposition:'.length).trim();
        assert.match(value, /^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''/);
        // Запасное имя — без кавычек внутри (иначе заголовок разломан) и с тем же расширением.
        const fallback = /filename="([^"]*)"/.exec(value)![1]!;
        assert.match(fallback, /\.txt$/);
        assert.equal(parseContentDispositionFilename(value), NAME);
        assert.ok(body.includes(BYTES));
      },
    );

    it(
      'права (QR-8): грант только на другой SE → 403 на запись, байты и HEAD; грант на SE файла → 200',
      TIMEOUT,
      async () => {
        const elsewhere = await stack.issuer.mint({
          name: 'чужой',
          roles: [],
          grants: ['reader@se:se-other'],
        });
        for (const path of [`/api/files/${file.id}`, `/api/files/${file.id}/content`]) {
          const problem = await expectProblem(
            await fetch(`${stack.queryUrl}${path}`, { headers: { authorization: `Bearer ${elsewhere}` } }),
            403,
            'FORBIDDEN',
          );
          assert.equal(problem.permission, 'files:read');
        }
        assert.equal((await content({}, { token: elsewhere, method: 'HEAD' })).status, 403);

        const here = await stack.issuer.mint({
          name: 'свой',
          roles: [],
          grants: [`reader@se:${ELEMENT_ID}`],
        });
        const allowed = await content({}, { token: here });
        assert.equal(allowed.status, 200);
        assert.equal(await allowed.text(), 'hello world');
        assert.equal(
          (
            await fetch(`${stack.queryUrl}/api/files/${file.id}`, {
              headers: { authorization: `Bearer ${here}` },
            })
          ).status,
          200,
        );
      },
    );

    it(
      'метрика X-3: artstore_query_download_bytes_total считает ушедшие байты по статусу',
      TIMEOUT,
      async () => {
        const labels = (status: string) => ({ via: 'api', status });
        const full = await metricValue(stack, 'artstore_query_download_bytes_total', labels('200'));
        const partial = await metricValue(stack, 'artstore_query_download_bytes_total', labels('206'));
        assert.equal(await (await content()).text(), 'hello world');
        assert.equal(await (await content({ range: 'bytes=0-2' })).text(), 'hel');
        await (await content({ 'if-none-match': `"${file.sha256}"` })).arrayBuffer();
        await (await content({}, { method: 'HEAD' })).arrayBuffer();
        assert.equal(
          await metricValue(stack, 'artstore_query_download_bytes_total', labels('200')),
          full + 11,
        );
        assert.equal(
          await metricValue(stack, 'artstore_query_download_bytes_total', labels('206')),
          partial + 3,
        );
      },
    );
  });
}
