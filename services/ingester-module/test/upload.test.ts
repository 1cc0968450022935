// Интеграционные тесты POST /api/files (SPEC §9, IN-1): настоящий SE в том же процессе, запросы —
// через fetch на настоящие порты. Байты проверяются на SE напрямую, минуя ingester.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import type { UploadedFile, UploadResponse } from '@artstore/contracts';
import { seqOf } from '@artstore/storage-element/testing';
import {
  ELEMENT_ID,
  expectNothingStored,
  expectProblem,
  fetchFromSe,
  seFiles,
  startIngesterStack,
  type IngesterStack,
} from './harness.js';

const TIMEOUT = { timeout: 15_000 };

let stack: IngesterStack;
let writerToken: string;

before(async () => {
  stack = await startIngesterStack();
  writerToken = await stack.issuer.mint({ name: 'uploader-1', roles: ['uploader'] });
});

after(async () => {
  await stack?.close();
});

function post(body: RequestInit['body'], options: { query?: string; headers?: Record<string, string>; token?: string | null } = {}) {
  const headers = new Headers(options.headers);
  const token = options.token === undefined ? writerToken : options.token;
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${stack.ingesterUrl}/api/files${options.query ?? ''}`, { method: 'POST', body, headers });
}

async function expectCreated(response: Response, count: number): Promise<UploadedFile[]> {
  const text = await response.text();
  assert.equal(response.status, 201, text);
  const { files } = JSON.parse(text) as UploadResponse;
  assert.equal(files.length, count, text);
  for (const file of files) {
    assert.match(file.consistency_token, new RegExp(`^${ELEMENT_ID}:\\d+$`));
    assert.equal(file.storage_element, ELEMENT_ID);
    assert.equal(file.status, 'active');
  }
  return files;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('multipart/form-data', () => {
  it('два файла с метаданными перед ними: две записи, метаданные применены, байты на SE совпадают', TIMEOUT, async () => {
    const first = randomBytes(200 * 1024 + 3);
    const second = Buffer.from('вторая часть, текст в UTF-8\n');
    const form = new FormData();
    form.append('description', 'Архивные документы предприятия');
    form.append('tags', 'архив, 2026 ,архив,,проверка');
    form.append('metadata', JSON.stringify({ department: 'бухгалтерия', case: 'A-17' }));
    form.append('file', new Blob([first], { type: 'application/pdf' }), 'Отчёт о проверке.pdf');
    form.append('file', new Blob([second], { type: 'text/plain' }), 'notes.txt');
    const files = await expectCreated(await post(form), 2);

    const [a, b] = files as [UploadedFile, UploadedFile];
    assert.equal(a.name, 'Отчёт о проверке.pdf');
    assert.equal(b.name, 'notes.txt');
    assert.ok(seqOf(b) > seqOf(a), 'номера изменений растут в порядке файлов формы');
    assert.notEqual(a.id, b.id);
    for (const [file, bytes, type] of [
      [a, first, 'application/pdf'],
      [b, second, 'text/plain'],
    ] as const) {
      assert.equal(file.size, bytes.length);
      assert.equal(file.sha256, sha256(bytes));
      assert.equal(file.content_type, type);
      assert.equal(file.created_by, 'uploader-1');
      const expected = {
        description: 'Архивные документы предприятия',
        tags: ['архив', '2026', 'проверка'],
        custom: { department: 'бухгалтерия', case: 'A-17' },
      };
      assert.deepEqual(file.metadata, expected);
      const stored = await fetchFromSe(stack, file.id);
      assert.ok(stored.bytes.equals(bytes), `байты ${file.name} на SE отличаются от отправленных`);
      assert.deepEqual(stored.record.metadata, expected, 'метаданные записаны на SE');
      assert.equal(stored.record.name, file.name);
    }
  });

  it('tags в форме JSON-массива', TIMEOUT, async () => {
    const form = new FormData();
    form.append('tags', JSON.stringify(['договор', 'скан 2026', 'договор']));
    form.append('file', new Blob(['x']), 'tags.txt');
    const [file] = await expectCreated(await post(form), 1);
    assert.deepEqual(file!.metadata.tags, ['договор', 'скан 2026']);
    assert.deepEqual((await fetchFromSe(stack, file!.id)).record.metadata.tags, ['договор', 'скан 2026']);
  });

  it('поля применяются только к файлам после них: поздние поля не попадают в ранние файлы', TIMEOUT, async () => {
    // Документируем фактическое поведение: файл уходит на SE, как только встречен в потоке формы,
    // поэтому поля действуют на последующие файлы; поля после последнего файла молча игнорируются.
    const form = new FormData();
    form.append('description', 'раннее');
    form.append('file', new Blob(['early']), 'early.txt');
    form.append('description', 'позднее');
    form.append('tags', 'поздний');
    form.append('file', new Blob(['late']), 'late.txt');
    form.append('metadata', JSON.stringify({ after_all: 'да' }));
    const [early, late] = (await expectCreated(await post(form), 2)) as [UploadedFile, UploadedFile];
    assert.deepEqual(early.metadata, { description: 'раннее', tags: [], custom: {} });
    assert.deepEqual(late.metadata, { description: 'позднее', tags: ['поздний'], custom: {} });
    assert.deepEqual((await fetchFromSe(stack, early.id)).record.metadata, early.metadata);
  });

  it('storage_element в форме — явный выбор известного SE', TIMEOUT, async () => {
    const form = new FormData();
    form.append('storage_element', ELEMENT_ID);
    form.append('file', new Blob(['explicit']), 'explicit.txt');
    const [file] = await expectCreated(await post(form), 1);
    assert.equal(file!.storage_element, ELEMENT_ID);
  });
});

describe('сырое тело', () => {
  it('имя из ?name=, метаданные из query, тип содержимого из заголовка', TIMEOUT, async () => {
    const bytes = randomBytes(10_000);
    const response = await post(bytes, {
      query: `?name=${encodeURIComponent('Сканы 2026 (копия).tiff')}&description=${encodeURIComponent('сырой')}&tags=a,b`,
      headers: { 'content-type': 'image/tiff' },
    });
    const [file] = await expectCreated(response, 1);
    assert.equal(file!.name, 'Сканы 2026 (копия).tiff');
    assert.equal(file!.content_type, 'image/tiff');
    assert.deepEqual(file!.metadata, { description: 'сырой', tags: ['a', 'b'], custom: {} });
    const stored = await fetchFromSe(stack, file!.id);
    assert.ok(stored.bytes.equals(bytes));
  });

  it('имя из Content-Disposition: filename*=UTF-8 (RFC 8187) с кириллицей важнее filename', TIMEOUT, async () => {
    const name = 'Отчёт о проверке №5.pdf';
    const response = await post(Buffer.from('%PDF-1.7'), {
      headers: {
        'content-type': 'application/pdf',
        'content-disposition': `attachment; filename="fallback.pdf"; filename*=UTF-8''${encodeURIComponent(name)}`,
      },
    });
    const [file] = await expectCreated(response, 1);
    assert.equal(file!.name, name);
    assert.equal((await fetchFromSe(stack, file!.id)).record.name, name);
  });

  it('?name= важнее Content-Disposition', TIMEOUT, async () => {
    const response = await post('x', {
      query: '?name=from-query.txt',
      headers: { 'content-type': 'text/plain', 'content-disposition': 'attachment; filename="from-header.txt"' },
    });
    const [file] = await expectCreated(response, 1);
    assert.equal(file!.name, 'from-query.txt');
  });

  it('тело application/json сохраняется как файл байт в байт, без разбора', TIMEOUT, async () => {
    // Пробелы, порядок ключей и дубликат ключа разбор JSON не сохранил бы.
    const json = Buffer.from('{ "b": 1,\n  "a": [1, 2 ,3], "a": "дубль" }\r\n');
    const response = await post(json, { query: '?name=x.json', headers: { 'content-type': 'application/json' } });
    const [file] = await expectCreated(response, 1);
    assert.equal(file!.name, 'x.json');
    assert.equal(file!.content_type, 'application/json');
    assert.equal(file!.size, json.length);
    assert.ok((await fetchFromSe(stack, file!.id)).bytes.equals(json));
  });

  it('пустое тело — файл нулевой длины', TIMEOUT, async () => {
    const [file] = await expectCreated(await post(Buffer.alloc(0), { query: '?name=empty.bin' }), 1);
    assert.equal(file!.size, 0);
    assert.equal(file!.sha256, sha256(Buffer.alloc(0)));
  });
});

describe('ошибки: ясный problem+json, на SE ничего не записано', () => {
  it('форма без поля file → 400 UPLOAD_EMPTY', TIMEOUT, async () => {
    await expectNothingStored(stack, async () => {
      const form = new FormData();
      form.append('description', 'только описание');
      await expectProblem(await post(form), 400, 'UPLOAD_EMPTY');
    });
  });

  it('неизвестное поле формы → 400 VALIDATION_FAILED', TIMEOUT, async () => {
    await expectNothingStored(stack, async () => {
      const form = new FormData();
      form.append('colour', 'синий');
      form.append('file', new Blob(['x']), 'a.txt');
      const problem = await expectProblem(await post(form), 400, 'VALIDATION_FAILED');
      assert.match(problem.detail ?? '', /colour/);
    });
  });

  it('файл в поле, отличном от file → 400 VALIDATION_FAILED', TIMEOUT, async () => {
    await expectNothingStored(stack, async () => {
      const form = new FormData();
      form.append('document', new Blob(['x'.repeat(100_000)]), 'a.txt');
      const problem = await expectProblem(await post(form), 400, 'VALIDATION_FAILED');
      assert.match(problem.detail ?? '', /document/);
    });
  });

  it('metadata: некорректный JSON, не объект, не строки → 400 VALIDATION_FAILED', TIMEOUT, async () => {
    for (const metadata of ['{"a": ', '["a"]', 'null', '{"n": 5}', '"строка"']) {
      await expectNothingStored(stack, async () => {
        const form = new FormData();
        form.append('metadata', metadata);
        form.append('file', new Blob(['x']), 'a.txt');
        await expectProblem(await post(form), 400, 'VALIDATION_FAILED');
      });
    }
  });

  it('tags: некорректный JSON-массив или не строки → 400 VALIDATION_FAILED', TIMEOUT, async () => {
    for (const tags of ['["a", ', '[1, 2]']) {
      await expectNothingStored(stack, async () => {
        const form = new FormData();
        form.append('tags', tags);
        form.append('file', new Blob(['x']), 'a.txt');
        await expectProblem(await post(form), 400, 'VALIDATION_FAILED');
      });
    }
  });

  it('storage_element=unknown → 400 VALIDATION_FAILED (форма и сырое тело)', TIMEOUT, async () => {
    await expectNothingStored(stack, async () => {
      const form = new FormData();
      form.append('storage_element', 'unknown');
      form.append('file', new Blob(['x']), 'a.txt');
      await expectProblem(await post(form), 400, 'VALIDATION_FAILED');
      await expectProblem(await post('x', { query: '?name=a.txt&storage_element=unknown' }), 400, 'VALIDATION_FAILED');
    });
  });

  const badNames: [string, string][] = [
    ['a/b.txt', 'прямой слэш'],
    ['../../etc/passwd', 'выход из каталога'],
    ['a\\b.txt', 'обратный слэш'],
    ['..', '«..»'],
    ['.', '«.»'],
    ['a\u0000b.txt', 'NUL'],
    ['a\u0001b.txt', 'управляющий C0'],
    ['a\u007fb.txt', 'DEL'],
    ['a\u0085b.txt', 'управляющий C1 (NEL)'],
    ['   ', 'одни пробелы'],
    ['я'.repeat(513), 'длиннее 1024 байт UTF-8'],
  ];

  it('плохое имя в ?name= → 400 FILE_NAME_INVALID', TIMEOUT, async () => {
    await expectNothingStored(stack, async () => {
      for (const [name, why] of badNames) {
        const response = await post('payload', { query: `?name=${encodeURIComponent(name)}` });
        assert.equal(response.status, 400, `${why}: ${response.status}`);
        await expectProblem(response, 400, 'FILE_NAME_INVALID');
      }
    });
  });

  it('плохое имя части формы → 400 FILE_NAME_INVALID', TIMEOUT, async () => {
    // Части формы собираем вручную: FormData кодирует имя по правилам HTML (%22, %0D, %0A), а нужно
    // проверить, что ingester получает имя как есть и отклоняет, а не «чинит» молча.
    const multipartNames = ['a/b.txt', '../secret.txt', 'dir\\\\b.txt', '..', 'a\u0001b.txt'];
    await expectNothingStored(stack, async () => {
      for (const name of multipartNames) {
        const boundary = `----artstore${randomBytes(8).toString('hex')}`;
        const body = Buffer.concat([
          Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${name}"\r\ncontent-type: text/plain\r\n\r\n`),
          Buffer.from('payload'),
          Buffer.from(`\r\n--${boundary}--\r\n`),
        ]);
        const response = await post(body, { headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
        assert.equal(response.status, 400, `имя ${JSON.stringify(name)}: ${response.status}`);
        await expectProblem(response, 400, 'FILE_NAME_INVALID');
      }
    });
  });

  it('сырое тело без имени → 400 FILE_NAME_INVALID', TIMEOUT, async () => {
    await expectNothingStored(stack, async () => {
      await expectProblem(await post('payload', { headers: { 'content-type': 'text/plain' } }), 400, 'FILE_NAME_INVALID');
      await expectProblem(await post('payload', { headers: { 'content-disposition': 'attachment' } }), 400, 'FILE_NAME_INVALID');
    });
  });

  it('роль reader → 403 FORBIDDEN с permission files:write; без токена → 401', TIMEOUT, async () => {
    const reader = await stack.issuer.mint({ roles: ['reader'] });
    await expectNothingStored(stack, async () => {
      const form = new FormData();
      form.append('file', new Blob(['x']), 'a.txt');
      const problem = await expectProblem(await post(form, { token: reader }), 403, 'FORBIDDEN');
      assert.equal(problem.permission, 'files:write');
      await expectProblem(await post('x', { query: '?name=a.txt', token: reader }), 403, 'FORBIDDEN');
      await expectProblem(await post('x', { query: '?name=a.txt', token: null }), 401, 'AUTH_TOKEN_MISSING');
      await expectProblem(await post('x', { query: '?name=a.txt', token: 'not-a-jwt' }), 401, 'AUTH_TOKEN_INVALID');
    });
  });
});

describe('потоковая передача', () => {
  /** Загрузка сырого тела из генератора через http.request — без буфера на весь файл и у клиента. */
  async function streamUpload(name: string, size: number, onChunk: (chunk: Buffer) => void): Promise<{ status: number; text: string }> {
    const CHUNK = 64 * 1024;
    const seed = randomBytes(CHUNK);
    function* chunks() {
      for (let offset = 0, i = 0; offset < size; offset += CHUNK, i++) {
        const chunk = Buffer.from(seed.subarray(0, Math.min(CHUNK, size - offset)));
        chunk.writeUInt32BE(i, 0);
        onChunk(chunk);
        yield chunk;
      }
    }
    const url = new URL(`${stack.ingesterUrl}/api/files?name=${encodeURIComponent(name)}`);
    return new Promise((resolve, reject) => {
      const request = httpRequest(
        url,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${writerToken}`,
            'content-type': 'application/octet-stream',
            'content-length': String(size),
          },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (d: string) => (text += d));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
          response.on('error', reject);
        },
      );
      pipeline(Readable.from(chunks()), request).catch(reject);
    });
  }

  it('64 МиБ из генератора: 201, sha256 совпадает, RSS процесса растёт много меньше размера файла', { timeout: 60_000 }, async (t) => {
    // Прогрев: первая крупная загрузка поднимает «потолок» аллокатора, пулы соединений, буферы ФС и JIT
    // (замерено: ~23 МиБ один раз, дальше 128 и 256 МиБ добавляют ~1 МиБ) — это не рост от размера файла.
    // Прогрев 16 МиБ не маскирует буферизацию: буфер на весь файл в 64 МиБ всё равно дал бы рост > 48 МиБ.
    const warm = await streamUpload('warmup.bin', 16 * 1024 * 1024, () => undefined);
    assert.equal(warm.status, 201, warm.text);

    const SIZE = 64 * 1024 * 1024;
    const hash = createHash('sha256');
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    // Меряем пик во время передачи, а не только «после»: буфер на весь файл мог бы успеть освободиться.
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
    let result: { status: number; text: string };
    try {
      result = await streamUpload('big.bin', SIZE, (chunk) => hash.update(chunk));
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage.rss());
    assert.equal(result.status, 201, result.text);
    const [file] = (JSON.parse(result.text) as UploadResponse).files;
    assert.equal(file!.size, SIZE);
    const digest = hash.digest('hex');
    assert.equal(file!.sha256, digest);
    const growthMiB = (peak - baseline) / 2 ** 20;
    // Клиент, ingester и SE — в этом процессе, так что рост RSS — их общий расход на поток.
    assert.ok(growthMiB < 48, `RSS вырос на ${growthMiB.toFixed(1)} МиБ при загрузке 64 МиБ`);
    t.diagnostic(`рост RSS при загрузке 64 МиБ: ${growthMiB.toFixed(1)} МиБ`);

    // Байты на SE — те же: читаем поток с SE и считаем sha256, не собирая файл в памяти.
    const content = await fetch(`${stack.seUrl}/api/files/${file!.id}/content`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    assert.equal(content.status, 200);
    const stored = createHash('sha256');
    let storedSize = 0;
    for await (const chunk of content.body as AsyncIterable<Uint8Array>) {
      stored.update(chunk);
      storedSize += chunk.length;
    }
    assert.equal(storedSize, SIZE);
    assert.equal(stored.digest('hex'), digest);
  });

  it('клиент оборвал тело: файла на SE нет, и обрывы не размыкают автомат защиты SE', TIMEOUT, async () => {
    /** Шлёт начало тела (сырого или формы с файлом) из заявленного 1 000 000 байт и обрывает соединение. */
    const abandon = (multipart: boolean) =>
      new Promise<string>((resolve) => {
        const boundary = 'abandoned-boundary';
        const request = httpRequest(new URL(`${stack.ingesterUrl}/api/files${multipart ? '' : '?name=abandoned.bin'}`), {
          method: 'POST',
          headers: {
            authorization: `Bearer ${writerToken}`,
            'content-length': '1000000',
            'content-type': multipart ? `multipart/form-data; boundary=${boundary}` : 'application/octet-stream',
          },
        });
        request.on('response', (response) => {
          response.resume();
          resolve(`ответ ${response.statusCode}`);
        });
        request.on('error', (error) => resolve(`обрыв: ${error.message}`));
        const head = multipart
          ? `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="abandoned.bin"\r\n\r\n`
          : '';
        request.write(Buffer.concat([Buffer.from(head), Buffer.alloc(1000)]), () => setTimeout(() => request.destroy(), 50));
      });
    await expectNothingStored(stack, async () => {
      // Больше порога автомата (5 отказов подряд): обрыв клиентом — не отказ SE.
      for (let i = 0; i < 6; i++) assert.match(await abandon(i % 2 === 1), /^обрыв/, `попытка ${i}`);
      // SE убирает временный файл асинхронно после обрыва потока — даём ему дойти до конца.
      const temp = join('.artstore', 'tmp');
      await waitUntil(async () => (await seFiles(stack)).every((f) => !f.startsWith(temp)), 3000);
    });
    const form = new FormData();
    form.append('file', new Blob(['после обрывов']), 'after-aborts.txt');
    await expectCreated(await post(form), 1);
  });
});

// Последним: останавливает SE до конца файла.
describe('SE недоступен', () => {
  it('503 NO_STORAGE_ELEMENT с причиной от SE, после 5 отказов подряд автомат размыкается и ответ 503 приходит сразу', TIMEOUT, async () => {
    await stack.stopStorageElement();
    const form = () => {
      const f = new FormData();
      f.append('file', new Blob(['x']), 'down.txt');
      return f;
    };
    for (let i = 1; i <= 5; i++) {
      const problem = await expectProblem(await post(form()), 503, 'NO_STORAGE_ELEMENT');
      assert.deepEqual((problem.reasons as Record<string, { code?: string }>)[ELEMENT_ID]?.code, 'UPSTREAM_UNAVAILABLE');
      assert.match(problem.detail ?? '', new RegExp(`${ELEMENT_ID} — UPSTREAM_UNAVAILABLE`));
    }
    // Автомат разомкнут: единственный SE исключён из выбора, обращения к нему нет.
    const started = performance.now();
    const response = await post(form());
    const elapsed = performance.now() - started;
    const problem = await expectProblem(response, 503, 'NO_STORAGE_ELEMENT');
    assert.deepEqual(problem.reasons, { [ELEMENT_ID]: { reason: 'circuit' } });
    assert.ok(elapsed < 100, `отказ занял ${elapsed.toFixed(0)} мс`);

    // Явно выбранный SE с разомкнутым автоматом — CIRCUIT_OPEN с Retry-After, тоже сразу.
    const explicitStarted = performance.now();
    const explicit = await post('x', { query: `?name=a.txt&storage_element=${ELEMENT_ID}` });
    const explicitElapsed = performance.now() - explicitStarted;
    assert.ok(Number(explicit.headers.get('retry-after')) > 0, `retry-after: ${explicit.headers.get('retry-after')}`);
    await expectProblem(explicit, 503, 'CIRCUIT_OPEN');
    assert.ok(explicitElapsed < 100, `отказ занял ${explicitElapsed.toFixed(0)} мс`);
  });
});

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) assert.fail(`условие не выполнилось за ${timeoutMs} мс`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
