// E2E: сага загрузки переживает kill -9 экземпляра ingester (SPEC IN-4). Настоящие процессы: admin-module
// (токены и JWKS), storage-element и два ingester-module на одной одноразовой PostgreSQL (журнал саг).
// Ingester A с ARTSTORE_TEST_FAULTS убивает себя посреди загрузки — после ответа SE (after-store) или
// когда первые байты тела ушли SE (mid-transfer); ingester B забирает брошенную сагу и доводит её
// (файл на SE) или компенсирует (файла нет). После этого ничего не осиротело: каждый файл в ленте SE —
// у саги в completed, каждая completed — с файлом на SE, временный каталог SE пуст, открытых транзакций
// WAL нет.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPostgresDatabase } from '@artstore/adapters';
import { createThrowawayPostgres } from '@artstore/adapters/testing';
import type { SourceTransactions } from '@artstore/contracts';
import type { Database } from '@artstore/core';
import { CleanupStack, freePort, waitFor } from '@artstore/core/testing';
import { stringify } from 'yaml';
import { databaseSection, spawnService, waitServiceReady, type ServiceProcess } from './harness.js';
import { readChangeFeed } from './se-crash-kit.js';

const ELEMENT_ID = 'se-e2e';
const TIMEOUT = { timeout: 120_000 };
/** Брошенной сага считается через 2 с молчания: тест не ждёт умолчательные 30 с. */
const RECOVERY = { heartbeat_interval: '200ms', stale_after: '2s', check_interval: '300ms' };

describe('e2e: kill -9 ingester посреди загрузки — сагу доводит или компенсирует другой экземпляр', () => {
  const cleanup = new CleanupStack();
  let workDir: string;
  let configFile: string;
  let db: Database;
  let token: string;
  const urls: Record<string, string> = {};
  const ports: Record<string, number> = {};
  let ingesterB: ServiceProcess;

  const spawn = (service: string, env: Record<string, string> = {}) =>
    spawnService(service, configFile, { cwd: workDir, cleanup, env });

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-saga-'));
    cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
    const pg = await createThrowawayPostgres('e2e_saga');
    cleanup.defer(() => pg.drop());
    db = createPostgresDatabase(pg.options);
    cleanup.defer(() => db.close());
    for (const name of ['admin', 'storage_element', 'ingester', 'ingester_b']) {
      ports[name] = await freePort();
      urls[name] = `http://127.0.0.1:${ports[name]}`;
    }
    const recoverySecret = randomBytes(24).toString('base64url');
    const clientSecret = randomBytes(24).toString('base64url');
    configFile = join(workDir, 'artstore.yaml');
    // Встроенный профиль (точки сбоя в production запрещены), но БД — общая PostgreSQL: журнал саг
    // двух экземпляров ingester один. Координация у каждого процесса своя: SE — из storage_elements.
    await writeFile(
      configFile,
      stringify({
        data_dir: join(workDir, 'data'),
        log: { level: 'warn' },
        database: databaseSection(pg),
        services: {
          admin: { host: '127.0.0.1', port: ports.admin },
          storage_element: { host: '127.0.0.1', port: ports.storage_element },
          ingester: { host: '127.0.0.1', port: ports.ingester },
        },
        auth: {
          master_key: randomBytes(32).toString('base64'),
          // Восстановление спрашивает SE от имени сервисной учётной записи (ADR 0011).
          client: { client_id: 'ingester-recovery', client_secret: recoverySecret },
          service_clients: [
            { client_id: 'ingester-recovery', client_secret: recoverySecret, roles: ['indexer'] },
            {
              client_id: 'e2e-client',
              client_secret: clientSecret,
              roles: ['uploader', 'operator', 'indexer'],
            },
          ],
        },
        storage: { element_id: ELEMENT_ID },
        storage_elements: [{ id: ELEMENT_ID, url: urls.storage_element }],
        ingester: { recovery: RECOVERY },
      }),
    );
    const admin = spawn('admin-module');
    await waitServiceReady(urls.admin!, admin);
    const se = spawn('storage-element');
    await waitServiceReady(urls.storage_element!, se);
    ingesterB = spawn('ingester-module', { ARTSTORE_SERVICES__INGESTER__PORT: String(ports.ingester_b) });
    await waitServiceReady(urls.ingester_b!, ingesterB);
    const issued = await fetch(`${urls.admin}/api/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'e2e-client',
        client_secret: clientSecret,
      }),
    });
    assert.equal(issued.status, 200, await issued.clone().text());
    token = ((await issued.json()) as { access_token: string }).access_token;
  });
  after(() => cleanup.run());

  /** Сага по имени файла (у каждого сценария своё). */
  async function sagaOf(
    name: string,
  ): Promise<{ state: string; file_id: string; owner: string | null; steps: unknown[] }[]> {
    const { rows } = await db.query<{
      state: string;
      file_id: string;
      owner: string | null;
      steps: unknown[];
    }>('select state, file_id, owner, steps from ingester_upload_sagas where name = $1', [name]);
    return rows;
  }

  async function assertNothingOrphaned(): Promise<void> {
    const feed = await readChangeFeed(urls.storage_element!, token);
    const { rows } = await db.query<{ file_id: string; state: string }>(
      'select file_id, state from ingester_upload_sagas',
    );
    const completed = new Set(rows.filter((r) => r.state === 'completed').map((r) => r.file_id));
    const active = [...feed.values()]
      .filter((record) => record.status === 'active')
      .map((record) => record.id);
    assert.deepEqual(
      active.filter((id) => !completed.has(id)),
      [],
      'файлы на SE без саги в completed',
    );
    assert.deepEqual(
      [...completed].filter((id) => !feed.has(id)),
      [],
      'completed-саги без файла на SE',
    );
    assert.deepEqual(
      rows.filter((r) => !['completed', 'compensated'].includes(r.state)),
      [],
      'незавершённые саги',
    );
    // Временный каталог SE пуст и открытых транзакций WAL нет (SE откатил оборванную запись).
    await waitFor(
      'временный каталог SE пуст',
      () => readdir(join(workDir, 'data', 'storage', ELEMENT_ID, '.artstore', 'tmp')),
      (files) => files.length === 0,
    );
    const open = await fetch(`${urls.storage_element}/api/transactions`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(open.status, 200, await open.clone().text());
    assert.deepEqual(((await open.json()) as SourceTransactions).transactions, []);
  }

  for (const scenario of [
    { point: 'ingester.saga.after-store', expected: 'completed', bytes: 64 * 1024 },
    { point: 'ingester.saga.mid-transfer', expected: 'compensated', bytes: 8 * 1024 * 1024 },
  ] as const) {
    it(`${scenario.point}: A убит, B доводит сагу до ${scenario.expected}`, TIMEOUT, async () => {
      const ingesterA = spawn('ingester-module', { ARTSTORE_TEST_FAULTS: `${scenario.point}:kill@1` });
      await waitServiceReady(urls.ingester!, ingesterA);
      const name = `${scenario.point}.bin`;
      // Ответа нет: процесс A умирает посреди запроса.
      const upload = await fetch(`${urls.ingester}/api/files?name=${encodeURIComponent(name)}`, {
        method: 'POST',
        body: randomBytes(scenario.bytes),
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      }).then(
        (response) => `HTTP ${response.status}`,
        (error: unknown) => `обрыв: ${(error as Error).message}`,
      );
      assert.match(upload, /^обрыв/, `загрузка завершилась ответом\n${ingesterA.output()}`);
      assert.equal((await ingesterA.exited).signal, 'SIGKILL', ingesterA.output());

      const [left] = await sagaOf(name);
      assert.ok(left, 'сага записана до смерти A');
      assert.notEqual(left.state, scenario.expected, 'A не успел завершить сагу сам');
      const [resolved] = await waitFor(
        `B решил сагу ${scenario.point}`,
        () => sagaOf(name),
        (rows) => rows[0]?.state === 'completed' || rows[0]?.state === 'compensated',
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      assert.equal(resolved!.state, scenario.expected, `${JSON.stringify(resolved)}\n${ingesterB.output()}`);
      assert.notEqual(resolved!.owner, left.owner, 'сагу решил другой экземпляр');
      const onSe = await fetch(`${urls.storage_element}/api/files/${resolved!.file_id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(onSe.status, scenario.expected === 'completed' ? 200 : 404, await onSe.text());
      await assertNothingOrphaned();

      // B принимает новые файлы как обычно.
      const next = await fetch(`${urls.ingester_b}/api/files?name=after-${encodeURIComponent(name)}`, {
        method: 'POST',
        body: 'после сбоя',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      });
      assert.equal(next.status, 201, await next.text());
      await assertNothingOrphaned();
    });
  }
});
