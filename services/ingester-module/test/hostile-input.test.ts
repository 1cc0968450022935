// Враждебный ввод на публичном API загрузки (SPEC IN-1, §9, X-8): имена-пути и управляющие символы из
// всех источников имени, тело короче и длиннее заявленного Content-Length, противоречивые заголовки
// длины (контрабанда запросов, RFC 9112 §6.3). Итог всегда ясен — ошибка или закрытое соединение — и
// на SE не остаётся ни записи, ни частичного файла. Длина тела проверяется сырыми сокетами: fetch и
// node:http не дают отправить тело, не совпадающее с Content-Length.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@artstore/core/testing';
import { changes } from '@artstore/storage-element/testing';
import {
  expectNothingStored,
  expectProblem,
  fetchFromSe,
  seFiles,
  seLastSeq,
  startIngesterStack,
  type IngesterStack,
} from './harness.js';

const TIMEOUT = { timeout: 20_000 };

let stack: IngesterStack;
let writer: string;

before(async () => {
  stack = await startIngesterStack();
  writer = await stack.issuer.mint({ name: 'uploader-1', roles: ['uploader'] });
});

after(async () => {
  await stack?.close();
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Всё, что сервер прислал до закрытия соединения, и как оно закрылось. */
interface Exchange {
  received: string;
  /** Соединение закрыл сервер (или оно оборвалось), а не таймаут теста. */
  closed: boolean;
}

/**
 * Сырой обмен по TCP: отправляет байты как есть; затем half-close (end) или обрыв (destroy) — либо
 * ничего, если соединение должен закрыть сервер. Ждёт закрытия не дольше timeoutMs.
 */
function rawExchange(
  request: Buffer,
  finish: 'end' | 'destroy' | 'keep',
  timeoutMs = 5000,
): Promise<Exchange> {
  const { hostname, port } = new URL(stack.ingesterUrl);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: hostname, port: Number(port) });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ received: Buffer.concat(chunks).toString('latin1'), closed: false });
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks).toString('latin1'), closed: true });
    });
    socket.write(request, () => {
      if (finish === 'end') socket.end();
      // Небольшая пауза: сервер успевает начать приём тела и передачу на SE до обрыва.
      if (finish === 'destroy') setTimeout(() => socket.destroy(), 100);
    });
  });
}

function rawUpload(headers: string[], body: Buffer | string): Buffer {
  const head = [
    'PUT /api/files?name=raw.txt HTTP/1.1',
    `Host: ${new URL(stack.ingesterUrl).host}`,
    `Authorization: Bearer ${writer}`,
    'Content-Type: text/plain',
    ...headers,
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]);
}

/** Статусы ответов HTTP/1.1 в сыром потоке по порядку. */
const statuses = (received: string) =>
  [...received.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));

/** Файлы под корнем SE, кроме журнала WAL: он появляется с первой записью и не относится к файлу. */
async function seBytes(): Promise<string[]> {
  return (await seFiles(stack)).filter((f) => !f.startsWith('.artstore/wal/'));
}

/**
 * Ждёт, пока SE затихнет: ни временных файлов, ни изменений ленты и файлов за 300 мс. Передача на SE
 * может начаться уже после закрытия соединения клиентом, а временный файл SE убирает, когда заметит
 * обрыв тела, — и то и другое бывает после ответа (или молчания) ingester.
 */
async function quiet(): Promise<{ seq: number; files: string[] }> {
  const snapshot = async () => ({ seq: await seLastSeq(stack), files: await seBytes() });
  const { second } = await waitFor(
    'SE затих',
    async () => {
      const first = await snapshot();
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { first, second: await snapshot() };
    },
    ({ first, second }) =>
      isDeepStrictEqual(first, second) && !second.files.some((f) => f.startsWith('.artstore/tmp/')),
    { timeoutMs: 10_000 },
  );
  return second;
}

/** После затишья на SE ровно прежние файлы и лента. */
async function settledTo(expected: { seq: number; files: string[] }): Promise<void> {
  assert.deepEqual(await quiet(), expected);
}

describe('имена файлов: путь, NUL и управляющие символы из любого источника → FILE_NAME_INVALID', () => {
  const BAD = [
    '../etc/passwd',
    '..',
    'a/../../b.txt',
    'dir\\file.txt',
    'nul\0.txt',
    'bell\x07.txt',
    'del\x7f.txt',
    'nel\u0085.txt',
    'line\nbreak.txt',
  ];

  it('?name= в PUT и POST', TIMEOUT, async () => {
    await expectNothingStored(stack, async () => {
      for (const method of ['PUT', 'POST']) {
        for (const name of BAD) {
          const response = await fetch(`${stack.ingesterUrl}/api/files?name=${encodeURIComponent(name)}`, {
            method,
            body: 'payload',
            headers: { authorization: `Bearer ${writer}`, 'content-type': 'text/plain' },
          });
          await expectProblem(response, 400, 'FILE_NAME_INVALID');
        }
      }
    });
  });

  it(
    'Content-Disposition: filename="…" и filename*=UTF-8\'\'… (percent-кодированные / и NUL)',
    TIMEOUT,
    async () => {
      const dispositions = [
        'attachment; filename="../secret.txt"',
        'attachment; filename="..\\\\secret.txt"',
        'attachment; filename=../token.txt',
        ...BAD.map((name) => `attachment; filename*=UTF-8''${encodeURIComponent(name)}`),
        `attachment; filename="ok.txt"; filename*=UTF-8''${encodeURIComponent('../override.txt')}`,
      ];
      await expectNothingStored(stack, async () => {
        for (const disposition of dispositions) {
          const response = await fetch(`${stack.ingesterUrl}/api/files`, {
            method: 'PUT',
            body: 'payload',
            headers: {
              authorization: `Bearer ${writer}`,
              'content-type': 'text/plain',
              'content-disposition': disposition,
            },
          });
          await expectProblem(response, 400, 'FILE_NAME_INVALID');
        }
      });
    },
  );

  it('filename части multipart — байты как есть (NUL, ESC, путь)', TIMEOUT, async () => {
    const boundary = 'hostile-boundary';
    await expectNothingStored(stack, async () => {
      for (const name of ['../../x.txt', 'a\0b.txt', 'esc\x1b[31m.txt', '/abs.txt', 'c:\\windows\\x.txt']) {
        const body = Buffer.concat([
          Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="`, 'latin1'),
          Buffer.from(name, 'utf8'),
          Buffer.from(`"\r\ncontent-type: text/plain\r\n\r\npayload\r\n--${boundary}--\r\n`, 'latin1'),
        ]);
        const response = await fetch(`${stack.ingesterUrl}/api/files`, {
          method: 'POST',
          body,
          headers: {
            authorization: `Bearer ${writer}`,
            'content-type': `multipart/form-data; boundary=${boundary}`,
          },
        });
        await expectProblem(response, 400, 'FILE_NAME_INVALID');
      }
    });
  });
});

describe('Content-Length не совпадает с телом (сырые сокеты)', () => {
  it(
    'тело короче заявленного, клиент закрыл передачу (half-close) — соединение закрыто, на SE ничего',
    TIMEOUT,
    async () => {
      const filesBefore = await seBytes();
      const seqBefore = await seLastSeq(stack);
      const exchange = await rawExchange(rawUpload(['Content-Length: 100000'], 'x'.repeat(40_000)), 'end');
      assert.ok(exchange.closed, 'сервер не закрыл соединение');
      // Ответа 2xx быть не может: файла нет целиком. Node закрывает соединение без ответа или с 400.
      assert.ok(
        statuses(exchange.received).every((s) => s >= 400),
        exchange.received,
      );
      await settledTo({ seq: seqBefore, files: filesBefore });
    },
  );

  it(
    'тело короче заявленного, обрыв соединения посреди тела — на SE ни записи, ни временного файла',
    TIMEOUT,
    async () => {
      const filesBefore = await seBytes();
      const seqBefore = await seLastSeq(stack);
      const exchange = await rawExchange(
        rawUpload(['Content-Length: 10000000'], 'y'.repeat(300_000)),
        'destroy',
      );
      assert.ok(exchange.closed);
      assert.deepEqual(statuses(exchange.received), []);
      await settledTo({ seq: seqBefore, files: filesBefore });
    },
  );

  it(
    'тело длиннее заявленного: хвост — не тело (RFC 9112 §6.2), а мусорный запрос: 400 и закрытие; на SE — не больше заявленного',
    TIMEOUT,
    async () => {
      const filesBefore = await seBytes();
      const seqBefore = await seLastSeq(stack);
      const declared = Buffer.from('ровно столько байт заявлено');
      const tail = Buffer.from('\x00\x01 это уже не тело и не HTTP-запрос\r\n\r\n');
      const exchange = await rawExchange(
        Buffer.concat([rawUpload([`Content-Length: ${declared.length}`], declared), tail]),
        'keep',
      );
      assert.ok(exchange.closed, 'сервер не закрыл соединение после мусора');
      // Node разбирает хвост, пока первый запрос ещё идёт, и закрывает соединение с 400: ответ 201 может не
      // успеть уйти. Загрузка первого запроса при этом либо не состоялась, либо сохранила ровно заявленное.
      assert.equal(statuses(exchange.received).at(-1), 400, exchange.received);
      assert.match(exchange.received, /VALIDATION_FAILED/);
      // Загрузка первого запроса идёт своим ходом и после закрытия сокета.
      const { seq: seqAfter } = await quiet();
      if (seqAfter === seqBefore) {
        await settledTo({ seq: seqBefore, files: filesBefore });
        return;
      }
      assert.equal(seqAfter, seqBefore + 1, 'сохранено больше одной записи');
      const page = await changes({ url: stack.seUrl }, stack.adminToken, `after=${seqBefore}`);
      const record = page.changes[0]!.record;
      assert.equal(record.size, declared.length);
      assert.equal(record.sha256, sha256(declared));
      const { bytes } = await fetchFromSe(stack, record.id);
      assert.ok(bytes.equals(declared), 'на SE — ровно заявленные байты, хвост не дописан');
      assert.equal(
        (await seBytes()).length,
        filesBefore.length + 2,
        'кроме данных и attr ничего не осталось',
      );
    },
  );

  it(
    'Content-Length вместе с Transfer-Encoding и два разных Content-Length — 400, на SE ничего',
    TIMEOUT,
    async () => {
      await expectNothingStored(stack, async () => {
        for (const headers of [
          ['Content-Length: 5', 'Transfer-Encoding: chunked'],
          ['Content-Length: 5', 'Content-Length: 7'],
          ['Content-Length: -1'],
          ['Content-Length: 5x'],
        ]) {
          const exchange = await rawExchange(rawUpload(headers, '5\r\nhello\r\n0\r\n\r\n'), 'keep');
          assert.ok(exchange.closed, headers.join(', '));
          assert.deepEqual(statuses(exchange.received), [400], `${headers.join(', ')}: ${exchange.received}`);
        }
      });
    },
  );
});
