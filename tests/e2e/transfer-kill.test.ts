// E2E: координатор переноса (SPEC IN-6) убит kill -9 посреди двухфазной фиксации. Три настоящих процесса
// `artstore start`: два SE и ingester с журналом в одноразовой базе PostgreSQL; ingester убивает себя сам
// в точке сбоя (ARTSTORE_TEST_FAULTS) и перезапускается на той же базе и порту. Восстановление:
//   • смерть до решения (после prepare) — presumed abort: pending-копия на целевом SE удалена, файл на источнике;
//   • смерть после решения (committing) — фиксация доведена: копия активна на целевом SE, источник transferred.
// В обоих случаях ровно одна активная копия с той же sha256. Токены — тестовый издатель; токен сервиса
// для восстановления (client_credentials, ADR 0011) выдаёт его же ключом маленький эндпоинт в процессе теста.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPostgresDatabase } from '@artstore/adapters';
import { createThrowawayPostgres } from '@artstore/adapters/testing';
import type { FileRecord } from '@artstore/contracts';
import type { Database } from '@artstore/core';
import {
  CleanupStack,
  createTestTokenIssuer,
  freePort,
  waitFor,
  type TestTokenIssuer,
  startTokenEndpoint,
} from '@artstore/core/testing';
import { uploadOk } from '@artstore/storage-element/testing';
import { stringify } from 'yaml';
import { databaseSection, spawnService, waitServiceReady, type ServiceProcess } from './harness.js';
import { prepareSeNode, spawnSe, waitReady, type SeNode } from './se-crash-kit.js';

const CLIENT_ID = 'ingester-module';
const CLIENT_SECRET = randomBytes(18).toString('base64url');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('ingester: kill -9 координатора переноса и восстановление (SPEC IN-6)', { timeout: 240_000 }, () => {
  const cleanup = new CleanupStack();
  let issuer: TestTokenIssuer;
  let token: string;
  let nodes: Record<'se-a' | 'se-b', SeNode>;
  let journal: Database;
  let ingesterUrl: string;
  let configFile: string;
  let workDir: string;

  before(async () => {
    issuer = await createTestTokenIssuer();
    cleanup.defer(() => issuer.close());
    token = await issuer.mint({ name: 'tester', roles: ['admin'] });
    const a = await prepareSeNode(issuer, 'tr-a', undefined, { storage: { element_id: 'se-a' } });
    cleanup.defer(() => a.cleanup.run());
    const b = await prepareSeNode(issuer, 'tr-b', undefined, { storage: { element_id: 'se-b' } });
    cleanup.defer(() => b.cleanup.run());
    nodes = { 'se-a': a, 'se-b': b };
    const [seA, seB] = [spawnSe(a), spawnSe(b)];
    await Promise.all([waitReady(a, seA), waitReady(b, seB)]);

    const pg = await createThrowawayPostgres('e2e_transfer_kill');
    cleanup.defer(() => pg.drop());
    journal = createPostgresDatabase(pg.options);
    cleanup.defer(() => journal.close());
    // Токен сервиса для восстановления (client_credentials, ADR 0011) — с ролью admin, подписан тестовым издателем.
    const tokens = await startTokenEndpoint(issuer, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, roles: ['admin'] });
    cleanup.defer(() => tokens.close());

    workDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-transfer-'));
    cleanup.defer(() => rm(workDir, { recursive: true, force: true }));
    const port = await freePort();
    ingesterUrl = `http://127.0.0.1:${port}`;
    configFile = join(workDir, 'ingester.yaml');
    await writeFile(
      configFile,
      stringify({
        data_dir: join(workDir, 'data'),
        log: { level: 'warn' },
        services: { ingester: { host: '127.0.0.1', port }, admin: { url: tokens.url } },
        auth: { jwt: issuer.jwtConfig, client: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET } },
        storage_elements: [
          { id: 'se-a', url: a.url },
          { id: 'se-b', url: b.url },
        ],
        database: databaseSection(pg),
        // Короткие сроки: брошенный перенос забирается через секунду, а не через 30 с по умолчанию.
        ingester: { recovery: { heartbeat_interval: 200, stale_after: 1000, check_interval: 300 } },
      }),
    );
  });
  after(() => cleanup.run());

  async function startIngester(faults?: string): Promise<ServiceProcess> {
    const ingester = spawnService('ingester-module', configFile, {
      cwd: workDir,
      cleanup,
      ...(faults === undefined ? {} : { env: { ARTSTORE_TEST_FAULTS: faults } }),
    });
    await waitServiceReady(ingesterUrl, ingester);
    return ingester;
  }

  async function record(se: 'se-a' | 'se-b', id: string): Promise<FileRecord | undefined> {
    const response = await fetch(`${nodes[se].url}/api/files/${id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (response.status === 404) return undefined;
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as FileRecord;
  }

  async function transferState(fileId: string): Promise<string | undefined> {
    const { rows } = await journal.query<{ state: string }>(
      'select state from ingester_transfers where file_id = $1 order by started_at desc limit 1',
      [fileId],
    );
    return rows[0]?.state;
  }

  /** Перенос, на котором ingester убивает себя: ответа нет, процесс вышел от SIGKILL. */
  async function transferAndDie(ingester: ServiceProcess, fileId: string): Promise<void> {
    const outcome = await fetch(`${ingesterUrl}/api/files/${fileId}/transfer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target_storage_element: 'se-b' }),
    }).then(
      (response) => `ответ ${response.status}`,
      () => 'обрыв',
    );
    assert.equal(outcome, 'обрыв', ingester.output());
    const { signal } = await ingester.exited;
    assert.equal(signal, 'SIGKILL', ingester.output());
  }

  async function assertOneActiveCopy(id: string, bytes: Buffer, where: 'se-a' | 'se-b'): Promise<void> {
    const states = { 'se-a': (await record('se-a', id))?.status, 'se-b': (await record('se-b', id))?.status };
    assert.deepEqual(
      Object.entries(states)
        .filter(([, s]) => s === 'active')
        .map(([se]) => se),
      [where],
      JSON.stringify(states),
    );
    const content = await fetch(`${nodes[where].url}/api/files/${id}/content`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(content.status, 200);
    assert.equal(sha256(Buffer.from(await content.arrayBuffer())), sha256(bytes));
  }

  it('смерть после prepare — presumed abort; смерть после решения — фиксация доведена', async () => {
    const first = randomBytes(2 * 1024 * 1024);
    const second = randomBytes(2 * 1024 * 1024);
    const fileA = await uploadOk(nodes['se-a'], first, { token, name: 'Первый.bin' });
    const fileB = await uploadOk(nodes['se-a'], second, { token, name: 'Второй.bin' });

    // 1. Смерть после prepare: на se-b pending-копия, решения нет.
    await transferAndDie(await startIngester('ingester.transfer.after-prepare:kill@1'), fileA.id);
    assert.equal(await transferState(fileA.id), 'prepared');
    assert.equal((await record('se-b', fileA.id))?.status, 'pending');

    // 2. Перезапуск с точкой после решения: восстановление отменяет первый перенос, второй умирает в committing.
    const dying = await startIngester('ingester.transfer.after-commit-decision:kill@1');
    await waitFor(
      'восстановление отменило перенос',
      () => transferState(fileA.id),
      (state) => state === 'aborted',
      { timeoutMs: 20_000 },
    );
    assert.equal(await record('se-b', fileA.id), undefined, 'pending-копия удалена');
    await assertOneActiveCopy(fileA.id, first, 'se-a');
    await transferAndDie(dying, fileB.id);
    assert.equal(await transferState(fileB.id), 'committing');
    assert.equal((await record('se-b', fileB.id))?.status, 'pending');
    assert.equal((await record('se-a', fileB.id))?.status, 'active');

    // 3. Перезапуск без сбоев: решение записано — фиксация доводится до конца.
    await startIngester();
    await waitFor(
      'восстановление довело фиксацию',
      () => transferState(fileB.id),
      (state) => state === 'committed',
      { timeoutMs: 20_000 },
    );
    await assertOneActiveCopy(fileB.id, second, 'se-b');
    assert.equal((await record('se-a', fileB.id))?.status, 'transferred');
  });
});
