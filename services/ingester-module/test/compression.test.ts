// Сжатие на лету (SPEC IN-3) и тело загрузки с Content-Encoding (IN-1) через настоящий ingester и
// настоящий SE, на обоих наборах портов: что сжимать, решает политика ingester, сжимает SE; в attr —
// размер и sha256 исходных байтов, в stored — того, что на диске. Сжатая бомба упирается в границу
// распаковки: ясная ошибка, память и время ограничены, на SE ничего не остаётся.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { brotliCompressSync, brotliDecompressSync, deflateSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import type { UploadedFile, UploadResponse } from '@artstore/contracts';
import { listFiles, rawGet, waitFor } from '@artstore/core/testing';
import { expectProblem } from './harness.js';
import { startMultiSeStack, type MultiSeStack } from './multi-se-stack.js';

const SE = 'se-main';
const TIMEOUT = { timeout: 60_000 };
const MiB = 1024 * 1024;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function jsonLines(bytes: number): Buffer {
  const lines: string[] = [];
  let total = 0;
  for (let i = 0; total < bytes; i++) {
    const line = `{"n":${i},"event":"отгрузка партии ${i * 7919}","ok":${i % 5 !== 0}}\n`;
    lines.push(line);
    total += Buffer.byteLength(line);
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

interface StoredAttr {
  size: number;
  sha256: string;
  stored: { encoding: string; size: number; sha256: string };
}

for (const backend of SERVICE_BACKENDS) {
  describe(`сжатие на лету и Content-Encoding (${backend.name})`, () => {
    let stack: MultiSeStack;
    let writer: string;

    before(async () => {
      stack = await startMultiSeStack(backend, [{ id: SE }], {
        compression: { min_size: '1KiB' },
        content_encoding: { max_ratio: 100, allowance: '1MiB', max_size: '1GiB' },
      });
      writer = await stack.issuer.mint({ name: 'uploader-1', roles: ['uploader'] });
    });
    after(async () => {
      await stack?.close();
    });

    const upload = (
      method: 'POST' | 'PUT',
      query: string,
      body: RequestInit['body'],
      headers: Record<string, string> = {},
    ) =>
      fetch(`${stack.ingesterUrl}/api/files${query}`, {
        method,
        body,
        headers: { authorization: `Bearer ${writer}`, ...headers },
      });

    async function created(response: Response): Promise<UploadedFile> {
      const text = await response.text();
      assert.equal(response.status, 201, `${text}\n${stack.logs()}`);
      return (JSON.parse(text) as UploadResponse).files[0]!;
    }

    const attrOf = async (file: UploadedFile) =>
      JSON.parse(await readFile(join(stack.se(SE).basePath, `${file.path}.attr.json`), 'utf8')) as StoredAttr;
    const diskOf = (file: UploadedFile) => readFile(join(stack.se(SE).basePath, file.path));
    const download = (file: UploadedFile, headers: Record<string, string> = {}) =>
      rawGet(`${stack.se(SE).url}/api/files/${file.id}/content`, {
        authorization: `Bearer ${stack.adminToken}`,
        ...headers,
      });

    /** Лента и файлы SE (без журнала WAL: он не относится к файлам). */
    const seState = async () => {
      const { seq, files } = await stack.state(SE);
      return { seq, files: files.filter((f) => !f.startsWith('.artstore/wal/')) };
    };

    /**
     * Действие не оставляет на SE ни изменения в ленте, ни файла (в том числе временного). SE убирает
     * временный файл, когда заметит обрыв тела, — возможно, после ответа ingester: ждём затишья (ни
     * временных файлов, ни изменений за 300 мс).
     */
    async function expectNothingStored(action: () => Promise<void>): Promise<void> {
      const before = await seState();
      await action();
      const { second } = await waitFor(
        'SE затих',
        async () => {
          const first = await seState();
          await new Promise((resolve) => setTimeout(resolve, 300));
          return { first, second: await seState() };
        },
        ({ first, second }) =>
          isDeepStrictEqual(first, second) && !second.files.some((f) => f.startsWith('.artstore/tmp/')),
        { timeoutMs: 10_000 },
      );
      assert.deepEqual(second, before);
    }

    it(
      'текст сжимается (br): stored меньше, в записи — размер и sha256 исходных; выдача — исходные или сжатые',
      TIMEOUT,
      async () => {
        const text = jsonLines(512 * 1024 + 3);
        const file = await created(
          await upload('PUT', '?name=journal.ndjson', text, { 'content-type': 'application/x-ndjson' }),
        );
        assert.equal(file.size, text.length);
        assert.equal(file.sha256, sha256(text));
        const attr = await attrOf(file);
        const disk = await diskOf(file);
        assert.equal(attr.stored.encoding, 'br');
        assert.equal(attr.stored.size, disk.length);
        assert.equal(attr.stored.sha256, sha256(disk));
        assert.ok(disk.length * 4 < text.length, `сжатое ${disk.length} из ${text.length}`);
        assert.ok(brotliDecompressSync(disk).equals(text));

        const plain = await download(file);
        assert.equal(plain.headers['content-encoding'], undefined);
        assert.equal(plain.headers['content-length'], String(text.length));
        assert.ok(plain.body.equals(text));
        const ranged = await download(file, {
          range: 'bytes=300000-300099',
          'accept-encoding': 'gzip, deflate, br',
        });
        assert.equal(ranged.status, 206);
        assert.ok(ranged.body.equals(text.subarray(300000, 300100)));
        const encoded = await download(file, { 'accept-encoding': 'gzip, deflate, br' });
        assert.equal(encoded.headers['content-encoding'], 'br');
        assert.equal(encoded.headers.vary, 'Accept-Encoding');
        assert.ok(encoded.body.equals(disk));
      },
    );

    it(
      'multipart (длина части неизвестна) сжимается по типу; несжимаемые типы и мелкие файлы — как есть',
      TIMEOUT,
      async () => {
        const text = jsonLines(64 * 1024);
        const png = randomBytes(64 * 1024);
        const form = new FormData();
        form.append('file', new Blob([text], { type: 'text/csv' }), 'table.csv');
        form.append('file', new Blob([png], { type: 'image/png' }), 'photo.png');
        form.append('file', new Blob([png], { type: 'application/octet-stream' }), 'blob.bin');
        const response = await upload('POST', '', form);
        const body = await response.text();
        assert.equal(response.status, 201, body);
        const [csv, image, binary] = (JSON.parse(body) as UploadResponse).files as [
          UploadedFile,
          UploadedFile,
          UploadedFile,
        ];
        assert.equal((await attrOf(csv)).stored.encoding, 'br');
        assert.ok((await download(csv)).body.equals(text));
        for (const file of [image, binary]) {
          const attr = await attrOf(file);
          assert.deepEqual(attr.stored, { encoding: 'identity', size: png.length, sha256: sha256(png) });
          assert.ok((await diskOf(file)).equals(png));
        }
        // Заявленная длина меньше min_size (1 КиБ): заголовки кодировки съели бы выигрыш.
        const small = await created(
          await upload('PUT', '?name=small.txt', 'коротко', { 'content-type': 'text/plain' }),
        );
        assert.equal((await attrOf(small)).stored.encoding, 'identity');
      },
    );

    it(
      'PUT: имя из Content-Disposition, описание, теги и SE — из заголовков (percent-encoded UTF-8)',
      TIMEOUT,
      async () => {
        const file = await created(
          await upload('PUT', '', 'содержимое', {
            'content-type': 'text/plain',
            'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent('Отчёт.txt')}`,
            'artstore-description': encodeURIComponent('описание из заголовка'),
            'artstore-tags': encodeURIComponent('архив, 2026'),
            'artstore-storage-element': SE,
          }),
        );
        assert.equal(file.name, 'Отчёт.txt');
        assert.equal(file.metadata.description, 'описание из заголовка');
        assert.deepEqual(file.metadata.tags, ['архив', '2026']);
        assert.equal(file.storage_element, SE);
        await expectProblem(
          await upload('PUT', '?name=x.txt', 'x', {
            'content-type': 'text/plain',
            'artstore-description': '%E0%A4%A',
          }),
          400,
          'VALIDATION_FAILED',
        );
      },
    );

    it(
      'тело с Content-Encoding gzip, br, deflate распаковывается: хранится и выдаётся файл, а не сжатое тело',
      TIMEOUT,
      async () => {
        const text = jsonLines(200 * 1024);
        for (const [coding, encode] of [
          ['gzip', gzipSync],
          ['br', brotliCompressSync],
          ['deflate', deflateSync],
        ] as const) {
          const file = await created(
            await upload(
              'PUT',
              `?name=${coding}.txt&description=${encodeURIComponent('сжато клиентом')}`,
              encode(text),
              {
                'content-type': 'text/plain; charset=utf-8',
                'content-encoding': coding,
              },
            ),
          );
          assert.equal(file.size, text.length, coding);
          assert.equal(file.sha256, sha256(text), coding);
          assert.equal(file.metadata.description, 'сжато клиентом');
          assert.ok((await download(file)).body.equals(text), coding);
        }
        // Несжимаемый тип, присланный сжатым: хранится распакованным и без сжатия.
        const random = randomBytes(100 * 1024);
        const bin = await created(
          await upload('POST', '?name=r.bin', gzipSync(random), {
            'content-type': 'application/octet-stream',
            'content-encoding': 'gzip',
          }),
        );
        assert.deepEqual((await attrOf(bin)).stored, {
          encoding: 'identity',
          size: random.length,
          sha256: sha256(random),
        });
      },
    );

    it(
      'tus: файл, собранный из кусков, хранится сжатым по той же политике; выдаётся исходным',
      TIMEOUT,
      async () => {
        const bytes = jsonLines(3 * MiB);
        const tus = { authorization: `Bearer ${writer}`, 'tus-resumable': '1.0.0' };
        const meta = (value: string) => Buffer.from(value).toString('base64');
        const creation = await fetch(`${stack.ingesterUrl}/api/uploads`, {
          method: 'POST',
          headers: {
            ...tus,
            'upload-length': String(bytes.length),
            'upload-metadata': `filename ${meta('журнал.jsonl')},filetype ${meta('application/x-ndjson')}`,
          },
        });
        assert.equal(creation.status, 201, await creation.text());
        const location = new URL(creation.headers.get('location')!, stack.ingesterUrl);
        let offset = 0;
        let fileId: string | null = null;
        for (const size of [MiB, 2 * MiB]) {
          const patch = await fetch(location, {
            method: 'PATCH',
            headers: {
              ...tus,
              'upload-offset': String(offset),
              'content-type': 'application/offset+octet-stream',
            },
            body: bytes.subarray(offset, offset + size),
          });
          assert.equal(patch.status, 204, await patch.text());
          offset = Number(patch.headers.get('upload-offset'));
          fileId = patch.headers.get('artstore-file-id');
        }
        assert.ok(fileId !== null, 'последний PATCH не вернул Artstore-File-Id');
        const record = (await (
          await fetch(`${stack.se(SE).url}/api/files/${fileId}`, {
            headers: { authorization: `Bearer ${stack.adminToken}` },
          })
        ).json()) as UploadedFile;
        const attr = await attrOf(record);
        assert.equal(attr.stored.encoding, 'br');
        assert.equal(attr.sha256, sha256(bytes));
        assert.ok(attr.stored.size < bytes.length / 2, `сжато до ${attr.stored.size} из ${bytes.length}`);
        const original = await download(record);
        assert.equal(original.status, 200);
        assert.ok(original.body.equals(bytes), 'выдан не исходный файл');
      },
    );

    it(
      'неизвестная или составная кодировка — 415, испорченное сжатое тело — 400; ничего не записано',
      TIMEOUT,
      async () => {
        await expectNothingStored(async () => {
          for (const coding of ['zstd', 'gzip, br', 'compress']) {
            const response = await upload('PUT', '?name=x.txt', gzipSync(jsonLines(10_000)), {
              'content-type': 'text/plain',
              'content-encoding': coding,
            });
            await expectProblem(response, 415, 'UNSUPPORTED_CONTENT_ENCODING');
          }
          // Порча в середине: первые сотни КиБ успевают уйти на SE, и запись там откатывается.
          const broken = gzipSync(jsonLines(2 * MiB));
          broken.fill(0x55, broken.length >> 1, (broken.length >> 1) + 300);
          await expectProblem(
            await upload('PUT', '?name=broken.txt', broken, {
              'content-type': 'text/plain',
              'content-encoding': 'gzip',
            }),
            400,
            'VALIDATION_FAILED',
          );
          // Порча в самом начале: тело падает раньше, чем SE начал его читать, — ясная ошибка, процесс жив.
          const early = gzipSync(jsonLines(2 * MiB));
          early.fill(0x55, 100, 400);
          await expectProblem(
            await upload('PUT', '?name=early.txt', early, {
              'content-type': 'text/plain',
              'content-encoding': 'gzip',
            }),
            400,
            'VALIDATION_FAILED',
          );
        });
      },
    );

    it(
      'gzip-бомба (10 ГиБ нулей, поток): 413 CONTENT_ENCODING_BOMB быстро и без роста памяти, на SE ничего',
      TIMEOUT,
      async (t) => {
        // Члены gzip можно склеивать (RFC 1952 §2.2): 10 240 раз по 1 МиБ нулей — без 10 ГиБ в памяти теста.
        const member = gzipSync(Buffer.alloc(MiB), { level: 9 });
        const members = 10 * 1024;
        let peakRss = 0;
        const sampler = setInterval(() => {
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
        }, 5);
        const rssBefore = process.memoryUsage().rss;
        const started = performance.now();
        let result: { status: number; body: string; sentMembers: number } | undefined;
        try {
          await expectNothingStored(async () => {
            result = await new Promise((resolve, reject) => {
              let sent = 0;
              let done = false;
              const req = httpRequest(`${stack.ingesterUrl}/api/files?name=bomb.txt`, {
                method: 'PUT',
                headers: {
                  authorization: `Bearer ${writer}`,
                  'content-type': 'text/plain',
                  'content-encoding': 'gzip',
                  'content-length': String(member.length * members),
                },
              });
              req.on('response', (res) => {
                done = true;
                const chunks: Buffer[] = [];
                res.on('data', (c: Buffer) => chunks.push(c));
                res.on('end', () => {
                  req.destroy();
                  resolve({
                    status: res.statusCode ?? 0,
                    body: Buffer.concat(chunks).toString(),
                    sentMembers: sent,
                  });
                });
              });
              // Сервер закрывает соединение после ответа: запись в закрытый сокет — не ошибка теста.
              req.on('error', (error) => {
                if (!done) reject(error);
              });
              const pump = () => {
                while (!done && sent < members) {
                  sent++;
                  if (!req.write(member)) {
                    req.once('drain', pump);
                    return;
                  }
                }
                if (sent === members) req.end();
              };
              pump();
            });
          });
        } finally {
          clearInterval(sampler);
        }
        const elapsed = performance.now() - started;
        assert.ok(result);
        assert.equal(result.status, 413, result.body);
        assert.equal((JSON.parse(result.body) as { code: string }).code, 'CONTENT_ENCODING_BOMB');
        // Ответ пришёл до конца тела: сервер не дочитывал сжатое (часть записанного осела в буферах сокетов).
        assert.ok(result.sentMembers < members, `клиент отправил все ${members} членов до ответа`);
        assert.ok(elapsed < 10_000, `отказ через ${Math.round(elapsed)} мс`);
        assert.ok(
          peakRss - rssBefore < 128 * MiB,
          `память выросла на ${Math.round((peakRss - rssBefore) / MiB)} МиБ`,
        );
        assert.deepEqual(await listFiles(join(stack.se(SE).basePath, '.artstore', 'tmp')), []);
        t.diagnostic(
          `бомба: отказ через ${Math.round(elapsed)} мс, рост RSS ${Math.round((peakRss - rssBefore) / MiB)} МиБ, членов отправлено ${result.sentMembers}`,
        );
      },
    );

    it(
      'сжатое в пределах границы (ratio ≤ 100) принимается, длина заявлена на сжатое тело',
      TIMEOUT,
      async () => {
        // 3 МиБ нулей сжимаются ~1000:1, но allowance 1 МиБ + 100 × ~3 КиБ их не пропускает; текст (~5:1) проходит.
        const text = jsonLines(3 * MiB);
        const encoded = gzipSync(text);
        const file = await created(
          await upload('PUT', '?name=ok.txt', encoded, {
            'content-type': 'text/plain',
            'content-encoding': 'gzip',
          }),
        );
        assert.equal(file.size, text.length);
        assert.equal(file.sha256, sha256(text));
        await expectNothingStored(async () => {
          const zeros = gzipSync(Buffer.alloc(3 * MiB));
          await expectProblem(
            await upload('PUT', '?name=zeros.txt', zeros, {
              'content-type': 'text/plain',
              'content-encoding': 'gzip',
            }),
            413,
            'CONTENT_ENCODING_BOMB',
          );
        });
      },
    );
  });
}
