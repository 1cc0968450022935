// Общие помощники тестов сами под тестом: на expectProblem опираются наборы всех сервисов и e2e, и
// если он перестанет падать, ослабнут все они сразу.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildWithCleanup, CleanupStack } from './cleanup-stack.js';
import { freePort } from './free-port.js';
import { listFiles } from './list-files.js';
import { createMemoryLogger } from './memory-logger.js';
import { expectProblem } from './problem.js';

const GOOD = { type: 'urn:artstore:error:FILE_NOT_FOUND', title: 'Not Found', status: 404, code: 'FILE_NOT_FOUND', detail: 'нет файла' };

function problemResponse(body: unknown, init: { status?: number; contentType?: string } = {}): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status: init.status ?? 404,
    headers: { 'content-type': init.contentType ?? 'application/problem+json; charset=utf-8' },
  });
}

describe('expectProblem', () => {
  it('принимает правильный problem+json и возвращает тело', async () => {
    const problem = await expectProblem(problemResponse(GOOD), 404, 'FILE_NOT_FOUND', { type: true, detail: true });
    assert.equal(problem.detail, 'нет файла');
    await expectProblem(problemResponse(GOOD), 404, ['CIRCUIT_OPEN', 'FILE_NOT_FOUND']);
  });

  const failures: [string, () => Response, Parameters<typeof expectProblem>[2], Parameters<typeof expectProblem>[3]][] = [
    ['другой статус ответа', () => problemResponse(GOOD, { status: 400 }), 'FILE_NOT_FOUND', {}],
    ['не problem+json', () => problemResponse(GOOD, { contentType: 'application/json' }), 'FILE_NOT_FOUND', {}],
    ['другой код', () => problemResponse(GOOD), 'NOT_FOUND', {}],
    ['код не из списка', () => problemResponse(GOOD), ['NOT_FOUND', 'CIRCUIT_OPEN'], {}],
    ['status в теле расходится со статусом ответа', () => problemResponse({ ...GOOD, status: 400 }), 'FILE_NOT_FOUND', {}],
    ['стек в теле', () => problemResponse({ ...GOOD, detail: 'Error: x\n    at f (file.ts:1:1)' }), 'FILE_NOT_FOUND', {}],
    ['type не по коду (type: true)', () => problemResponse({ ...GOOD, type: 'about:blank' }), 'FILE_NOT_FOUND', { type: true }],
    ['нет detail (detail: true)', () => problemResponse({ ...GOOD, detail: undefined }), 'FILE_NOT_FOUND', { detail: true }],
  ];
  for (const [what, response, code, checks] of failures) {
    it(`падает: ${what}`, async () => {
      await assert.rejects(expectProblem(response(), 404, code, checks), assert.AssertionError);
    });
  }

  it('type и detail без соответствующей проверки не требуются', async () => {
    await expectProblem(problemResponse({ ...GOOD, type: 'about:blank', detail: undefined }), 404, 'FILE_NOT_FOUND');
  });
});

describe('CleanupStack', () => {
  it('шаги — в обратном порядке, ошибка шага не мешает остальным, повторный run ничего не делает', async () => {
    const done: string[] = [];
    const errors: unknown[] = [];
    const cleanup = new CleanupStack((error) => errors.push(error));
    cleanup.defer(() => done.push('каталог'));
    cleanup.defer(() => Promise.reject(new Error('порт')));
    cleanup.defer(() => Promise.resolve().then(() => done.push('сервис')));
    await cleanup.run();
    await cleanup.run();
    assert.deepEqual(done, ['сервис', 'каталог']);
    assert.equal(errors.length, 1);
  });

  it('run во время очистки ждёт ту же очистку', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let finished = false;
    const cleanup = new CleanupStack();
    cleanup.defer(() => gate.then(() => (finished = true)));
    const first = cleanup.run();
    const second = cleanup.run();
    assert.equal(first, second);
    release();
    await second;
    assert.equal(finished, true);
  });

  it('buildWithCleanup: при ошибке сборки закрывает созданное и пробрасывает ту же ошибку', async () => {
    const failure = new Error('старт отказал');
    let closed = false;
    await assert.rejects(
      buildWithCleanup((cleanup) => {
        cleanup.defer(() => (closed = true));
        return Promise.reject(failure);
      }),
      (error) => error === failure,
    );
    assert.equal(closed, true);
  });
});

describe('listFiles, freePort, createMemoryLogger', () => {
  it('listFiles: относительные пути через «/», по алфавиту; нет каталога — пустой список', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'artstore-testing-'));
    try {
      await mkdir(join(dir, 'b', 'c'), { recursive: true });
      await writeFile(join(dir, 'b', 'c', 'x.txt'), 'x');
      await writeFile(join(dir, 'a.txt'), 'a');
      assert.deepEqual(await listFiles(dir), ['a.txt', 'b/c/x.txt']);
      assert.deepEqual(await listFiles(join(dir, 'нет')), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('freePort: выданный порт можно занять', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('createMemoryLogger: журнал уровня warn и выше — в памяти', () => {
    const { logger, text } = createMemoryLogger('warn');
    logger.info('не попадёт');
    logger.warn('попадёт');
    assert.match(text(), /попадёт/);
    assert.doesNotMatch(text(), /не попадёт/);
  });
});
