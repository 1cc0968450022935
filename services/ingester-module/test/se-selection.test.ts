// Выбор SE для загрузки (SPEC IN-2) и переход к следующему SE при отказе (IN-7) через настоящий
// ingester и настоящие SE: куда лёг файл, видно по storage_element ответа, а что ничего не осталось —
// по лентам изменений и файлам под корнем каждого SE. Документ обнаружения публикует тест (AD-8).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SERVICE_BACKENDS } from '@artstore/adapters/testing';
import type { UploadedFile, UploadResponse } from '@artstore/contracts';
import { listFiles, waitFor } from '@artstore/core/testing';
import { uploadOk } from '@artstore/storage-element/testing';
import { expectProblem } from './harness.js';
import { counterValue, startMultiSeStack, type MultiSeStack } from './multi-se-stack.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const TIMEOUT = { timeout: 30_000 };
/** Настоящий предел se-small: больше запаса повтора ingester, чтобы отказ посреди тела был после него. */
const SMALL_MAX = 256 * KiB;
const REPLAY_BUFFER = 64 * KiB;

for (const backend of SERVICE_BACKENDS) {
  describe(`выбор SE для загрузки (${backend.name})`, () => {
    let stack: MultiSeStack;
    let writer: string;

    before(async () => {
      stack = await startMultiSeStack(
        backend,
        [{ id: 'se-small', maxSize: SMALL_MAX }, { id: 'se-b' }, { id: 'se-c' }, { id: 'se-ro', mode: 'ro' }],
        { min_free: '1MiB', replay_buffer: REPLAY_BUFFER },
      );
      writer = await stack.issuer.mint({ name: 'uploader-1', roles: ['uploader'] });
    });
    after(async () => {
      await stack?.close();
    });

    function post(
      body: RequestInit['body'],
      options: { query?: string; token?: string; headers?: Record<string, string> } = {},
    ) {
      return fetch(`${stack.ingesterUrl}/api/files${options.query ?? '?name=f.bin'}`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${options.token ?? writer}`, ...options.headers },
      });
    }

    function form(bytes: Buffer, fields: Record<string, string> = {}): FormData {
      const data = new FormData();
      for (const [key, value] of Object.entries(fields)) data.append(key, value);
      data.append('file', new Blob([bytes]), 'part.bin');
      return data;
    }

    async function storedOn(response: Response): Promise<UploadedFile> {
      const text = await response.text();
      assert.equal(response.status, 201, `${text}\n${stack.logs()}`);
      const [file] = (JSON.parse(text) as UploadResponse).files;
      return file!;
    }

    /** Выполняет действие и проверяет, что на этих SE не появилось ни изменений в ленте, ни файлов. */
    async function unchanged(ids: readonly string[], action: () => Promise<void>): Promise<void> {
      const before = await Promise.all(ids.map((id) => stack.state(id)));
      await action();
      // Временный файл сорвавшейся записи SE удаляет асинхронно — ждём, пока каталоги вернутся к прежнему.
      for (const [i, id] of ids.entries()) {
        await waitFor(
          `${id}: ничего нового`,
          () => stack.state(id),
          (now) => JSON.stringify(now) === JSON.stringify(before[i]),
          { timeoutMs: 3000 },
        );
      }
    }

    const metric = async (name: string, labels: Record<string, string>) =>
      counterValue(await stack.metrics(), name, labels);
    const selections = (id: string) =>
      metric('artstore_ingester_se_selections_total', { storage_element: id });
    const refusals = (id: string, reason: string) =>
      metric('artstore_ingester_se_refusals_total', { storage_element: id, reason });

    it(
      'ro и ar не выбираются никогда, даже с лучшим приоритетом; отказы считаются в метрике',
      TIMEOUT,
      async () => {
        // Документ говорит ro/ar о SE, которые на деле в edit: файл на них означал бы, что выбор не смотрит на режим.
        await stack.advertise([
          { id: 'se-b', priority: 1, mode: 'ro' },
          { id: 'se-small', priority: 1, mode: 'ar' },
          { id: 'se-c', priority: 9, mode: 'rw' },
        ]);
        const refusedBefore = await refusals('se-b', 'mode');
        await unchanged(['se-b', 'se-small'], async () => {
          for (let i = 0; i < 3; i++)
            assert.equal((await storedOn(await post(randomBytes(1000)))).storage_element, 'se-c');
        });
        assert.equal(await selections('se-b'), 0);
        assert.equal(await selections('se-small'), 0);
        assert.equal(await refusals('se-b', 'mode'), refusedBefore + 3);
      },
    );

    it(
      'down пропускается, пока есть другие; если других нет — пробуется (документ устарел: SE уже поднялся)',
      TIMEOUT,
      async () => {
        await stack.advertise([
          { id: 'se-b', priority: 1, health: 'down' },
          { id: 'se-c', priority: 2, health: 'degraded' },
        ]);
        await unchanged(['se-b'], async () => {
          assert.equal((await storedOn(await post(randomBytes(1000)))).storage_element, 'se-c');
        });
        // Так бывает сразу после `artstore start all`: admin опросил SE до его старта.
        await stack.advertise([{ id: 'se-b', priority: 1, health: 'down' }]);
        assert.equal((await storedOn(await post(randomBytes(1000)))).storage_element, 'se-b');
      },
    );

    it(
      'мало места для заявленной длины — SE пропущен; у всех мало — 507 с цифрами, ничего не записано',
      TIMEOUT,
      async () => {
        await stack.advertise([
          { id: 'se-b', priority: 1, available: 10 * KiB },
          { id: 'se-c', priority: 2, available: 512 * KiB },
        ]);
        assert.equal((await storedOn(await post(randomBytes(20 * KiB)))).storage_element, 'se-c');
        // Часть формы без длины: нужно min_free (1 МиБ), но не больше всего запроса — маленькая форма проходит.
        assert.equal(
          (await storedOn(await post(form(randomBytes(20 * KiB)), { query: '' }))).storage_element,
          'se-c',
        );
        await unchanged(['se-b', 'se-c'], async () => {
          const problem = await expectProblem(await post(randomBytes(MiB)), 507, 'INSUFFICIENT_STORAGE');
          assert.equal(problem.required_bytes, MiB);
          assert.equal(problem.available_bytes, 512 * KiB);
          assert.equal(problem.storage_element, 'se-c');
          assert.deepEqual(problem.reasons, {
            'se-b': { reason: 'room', available_bytes: 10 * KiB, required_bytes: MiB },
            'se-c': { reason: 'room', available_bytes: 512 * KiB, required_bytes: MiB },
          });
          assert.match(problem.detail ?? '', /se-c — 512\.0 KiB, нужно 1\.0 MiB/);
        });
      },
    );

    it('равный приоритет — выигрывает больше свободного места', TIMEOUT, async () => {
      await stack.advertise([
        { id: 'se-b', priority: 1, available: 10 * MiB },
        { id: 'se-c', priority: 1, available: 50 * MiB },
      ]);
      assert.equal((await storedOn(await post('x'))).storage_element, 'se-c');
      await stack.advertise([
        { id: 'se-b', priority: 1, available: 60 * MiB },
        { id: 'se-c', priority: 1, available: 50 * MiB },
      ]);
      assert.equal((await storedOn(await post('x'))).storage_element, 'se-b');
    });

    it(
      'гранты ограничивают выбор; нет подходящего среди разрешённых — 503 с причиной по каждому SE',
      TIMEOUT,
      async () => {
        const onlyC = await stack.issuer.mint({ name: 'scoped', roles: [], grants: ['uploader@se:se-c'] });
        await stack.advertise([
          { id: 'se-b', priority: 1 },
          { id: 'se-c', priority: 5 },
        ]);
        await unchanged(['se-b'], async () => {
          assert.equal((await storedOn(await post('x', { token: onlyC }))).storage_element, 'se-c');
        });
        await stack.advertise([
          { id: 'se-b', priority: 1 },
          { id: 'se-c', priority: 5, mode: 'ro' },
        ]);
        await unchanged(['se-b', 'se-c'], async () => {
          const problem = await expectProblem(await post('x', { token: onlyC }), 503, 'NO_STORAGE_ELEMENT');
          assert.deepEqual(problem.reasons, {
            'se-b': { reason: 'permission' },
            'se-c': { reason: 'mode', mode: 'ro' },
          });
        });
      },
    );

    it(
      'явный выбор: подходящий SE — туда, даже не лучший; неподходящий — ясная ошибка с причиной, не другой SE',
      TIMEOUT,
      async () => {
        const onlyC = await stack.issuer.mint({ name: 'scoped', roles: [], grants: ['uploader@se:se-c'] });
        await stack.advertise([
          { id: 'se-b', priority: 1 },
          { id: 'se-c', priority: 9 },
          { id: 'se-small', priority: 5, mode: 'ro' },
        ]);
        assert.equal(
          (await storedOn(await post('x', { query: '?name=a.txt&storage_element=se-c' }))).storage_element,
          'se-c',
        );
        await unchanged(['se-b', 'se-c', 'se-small'], async () => {
          const mode = await expectProblem(
            await post('x', { query: '?name=a.txt&storage_element=se-small' }),
            409,
            'MODE_FORBIDS_OPERATION',
          );
          assert.deepEqual([mode.element_id, mode.mode, mode.operation], ['se-small', 'ro', 'create']);
          const forbidden = await expectProblem(
            await post(form(Buffer.from('x'), { storage_element: 'se-b' }), { query: '', token: onlyC }),
            403,
            'FORBIDDEN',
          );
          assert.deepEqual([forbidden.permission, forbidden.scope], ['files:write', 'se:se-b']);
        });
        await stack.advertise([
          { id: 'se-b', priority: 1 },
          { id: 'se-c', priority: 9, available: 10 * KiB },
        ]);
        await unchanged(['se-b', 'se-c'], async () => {
          const full = await expectProblem(
            await post(randomBytes(20 * KiB), { query: '?name=a.txt&storage_element=se-c' }),
            507,
            'INSUFFICIENT_STORAGE',
          );
          assert.deepEqual(
            [full.storage_element, full.available_bytes, full.required_bytes],
            ['se-c', 10 * KiB, 20 * KiB],
          );
        });
      },
    );

    it(
      'документ устарел по режиму: SE в ro отказывает — файл уходит следующему, на первом ничего',
      TIMEOUT,
      async () => {
        await stack.advertise([
          { id: 'se-ro', priority: 1, mode: 'edit' },
          { id: 'se-b', priority: 2 },
        ]);
        const refusedBefore = await refusals('se-ro', 'mode');
        await unchanged(['se-ro'], async () => {
          assert.equal((await storedOn(await post(randomBytes(10 * KiB)))).storage_element, 'se-b');
        });
        assert.equal(await refusals('se-ro', 'mode'), refusedBefore + 1);
      },
    );

    it(
      'SE отказал посреди тела, когда ушло больше запаса повтора: ошибка этого SE, ни на одном SE ничего',
      TIMEOUT,
      async () => {
        // Часть формы идёт на SE без длины: se-small резервирует по мере прихода и отвечает 507, лишь
        // приняв больше своего предела (256 КиБ) — заведомо больше запаса повтора (64 КиБ).
        await stack.advertise([
          { id: 'se-small', priority: 1, available: 100 * MiB },
          { id: 'se-b', priority: 2 },
        ]);
        await unchanged(['se-small', 'se-b'], async () => {
          const problem = await expectProblem(
            await post(form(randomBytes(2 * MiB)), { query: '' }),
            507,
            'INSUFFICIENT_STORAGE',
          );
          assert.equal(problem.element_id, 'se-small', 'цифры — от самого SE');
        });
      },
    );

    it(
      'документ устарел по месту: SE отвечает 507 — файл уходит следующему SE байт в байт, на первом ничего',
      TIMEOUT,
      async () => {
        // Заполняем se-small почти до предела напрямую, минуя ingester; документ по-прежнему обещает место.
        await uploadOk(stack.se('se-small'), randomBytes(SMALL_MAX - 6 * KiB), {
          token: stack.adminToken,
          name: 'filler.bin',
        });
        await stack.advertise([
          { id: 'se-small', priority: 1, available: 100 * MiB },
          { id: 'se-b', priority: 2 },
        ]);
        const bytes = randomBytes(20 * KiB);
        let file: UploadedFile | undefined;
        await unchanged(['se-small'], async () => {
          file = await storedOn(await post(bytes));
        });
        assert.equal(file!.storage_element, 'se-b');
        const content = await fetch(`${stack.se('se-b').url}/api/files/${file!.id}/content`, {
          headers: { authorization: `Bearer ${stack.adminToken}` },
        });
        assert.ok(Buffer.from(await content.arrayBuffer()).equals(bytes), 'на следующем SE — те же байты');
        assert.ok((await refusals('se-small', 'room')) >= 1);
      },
    );

    // Последним: останавливает se-c до конца набора.
    it(
      'SE остановлен, а документ говорит up: файл уходит следующему, частичного нет ни на одном',
      TIMEOUT,
      async () => {
        await stack.se('se-c').stop();
        await stack.advertise([
          { id: 'se-c', priority: 1 },
          { id: 'se-b', priority: 2 },
        ]);
        // Ленту остановленного SE не прочитать — его корень проверяется по файлам.
        const filesC = await listFiles(stack.se('se-c').basePath);
        const seqB = (await stack.state('se-b')).seq;
        const raw = await storedOn(await post(randomBytes(30 * KiB)));
        const multipart = await storedOn(await post(form(randomBytes(300 * KiB)), { query: '' }));
        assert.deepEqual([raw.storage_element, multipart.storage_element], ['se-b', 'se-b']);
        assert.deepEqual(
          await listFiles(stack.se('se-c').basePath),
          filesC,
          'на остановленном SE появились файлы',
        );
        const after = await stack.state('se-b');
        assert.equal(after.seq, seqB + 2, 'на следующем SE — ровно два новых файла');
        const temp = join('.artstore', 'tmp');
        assert.deepEqual(
          after.files.filter((f) => f.startsWith(temp)),
          [],
          'временные файлы на se-b',
        );
        assert.ok((await refusals('se-c', 'unavailable')) >= 2);
        // Больше принять некому, а явный выбор не заменяется другим SE: ошибка называет SE и причину.
        await stack.advertise([{ id: 'se-c', priority: 1 }]);
        const none = await expectProblem(await post('x'), 503, 'NO_STORAGE_ELEMENT');
        assert.equal(
          (none.reasons as Record<string, { code?: string }>)['se-c']?.code,
          'UPSTREAM_UNAVAILABLE',
        );
        await stack.advertise([
          { id: 'se-c', priority: 1 },
          { id: 'se-b', priority: 2 },
        ]);
        const explicit = await expectProblem(
          await post('x', { query: '?name=a.txt&storage_element=se-c' }),
          503,
          ['UPSTREAM_UNAVAILABLE', 'CIRCUIT_OPEN'],
        );
        assert.match(explicit.detail ?? '', /se-c/);
        assert.deepEqual(
          await listFiles(stack.se('se-c').basePath),
          filesC,
          'на остановленном SE появились файлы',
        );
        assert.equal((await stack.state('se-b')).seq, seqB + 2, 'явный выбор ушёл на другой SE');
      },
    );
  });
}
