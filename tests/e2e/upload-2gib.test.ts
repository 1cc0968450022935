// Загрузка 2 ГиБ через ingester (issue «Ingester»: «2 GiB upload through the ingester with peak RSS of
// every process under a fixed bound»): SE и ingester — отдельные процессы `artstore start`, тело —
// генератор в тесте. RSS каждого процесса опрашивается раз в 100 мс во время загрузки; пик обязан остаться
// под границей, которая много меньше размера файла: байты идут потоком с backpressure (SPEC IN-1).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { UploadResponse } from '@artstore/contracts';
import { CleanupStack, createTestTokenIssuer, type TestTokenIssuer } from '@artstore/core/testing';
import { createThrowawayPostgres } from '@artstore/adapters/testing';
import { readStatusBytes, RssSampler } from '../../bench/lib/rss.js';
import { databaseSection } from './harness.js';
import { startIngesterProcess, uploadStream, type IngesterProcess } from './ingester-kit.js';
import {
  assertStorageConsistent,
  prepareSeNode,
  spawnSe,
  waitReady,
  type SeNode,
  type SeProcess,
} from './se-crash-kit.js';

const MiB = 1024 * 1024;
const SIZE = 2 * 1024 * MiB;
/**
 * Граница пика RSS каждого процесса. Процессы работают на PostgreSQL, как в production: встроенная PGlite
 * сама занимает ≈ 400 МиБ в каждом процессе и заслонила бы то, что проверяется. Граница оставляет запас на
 * сборщик мусора и буферы сокетов и в шесть с лишним раз меньше файла.
 */
const PEAK_RSS_BOUND = 320 * MiB;
/** Насколько пик может превысить RSS до загрузки: буферы потока, а не файл. */
const GROWTH_BOUND = 160 * MiB;

describe('загрузка 2 ГиБ через ingester: память не растёт с размером файла', { timeout: 600_000 }, () => {
  const cleanup = new CleanupStack();
  let issuer: TestTokenIssuer;
  let node: SeNode;
  let se: SeProcess;
  let ingester: IngesterProcess;

  before(async () => {
    issuer = await createTestTokenIssuer();
    cleanup.defer(() => issuer.close());
    const pg = await createThrowawayPostgres('upload_2gib');
    cleanup.defer(() => pg.drop());
    const database = databaseSection(pg);
    node = await prepareSeNode(issuer, '2gib', undefined, { database, storage: { element_id: 'se-big' } });
    cleanup.defer(() => node.cleanup.run());
    se = spawnSe(node);
    await waitReady(node, se);
    ingester = await startIngesterProcess(issuer, [{ id: 'se-big', url: node.url }], cleanup, { database });
  });

  after(() => cleanup.run());

  it('2 ГиБ: 201, sha256 совпадает, пик RSS SE и ingester под границей', async (t) => {
    const token = await issuer.mint({ name: 'tester', roles: ['uploader'] });
    // Прогрев: первая загрузка поднимает JIT, пул соединений и БД — их память не в счёт роста.
    const warm = await uploadStream(ingester.url, token, 4 * MiB, { name: 'warm.bin' });
    assert.equal(warm.status, 201, warm.body);
    const processes = { 'storage-element': se.child.pid!, 'ingester-module': ingester.process.child.pid! };
    const before = Object.fromEntries(
      Object.entries(processes).map(([name, pid]) => [name, readStatusBytes(pid, 'VmRSS')!]),
    );
    const samplers = Object.fromEntries(
      Object.entries(processes).map(([name, pid]) => [name, new RssSampler(pid)]),
    );
    for (const sampler of Object.values(samplers)) {
      sampler.start();
      sampler.enter('upload');
    }

    const started = performance.now();
    const answer = await uploadStream(ingester.url, token, SIZE, { name: 'два-гигабайта.bin' });
    const seconds = (performance.now() - started) / 1000;
    for (const sampler of Object.values(samplers)) sampler.stop();
    assert.equal(answer.status, 201, answer.body);
    const [file] = (JSON.parse(answer.body) as UploadResponse).files;
    assert.equal(file!.size, SIZE);
    assert.equal(file!.sha256, answer.sha256);

    const figures: string[] = [
      `2 ГиБ за ${seconds.toFixed(1)} с (${(SIZE / MiB / seconds).toFixed(0)} МиБ/с)`,
    ];
    const peaks = Object.fromEntries(
      Object.keys(processes).map((name) => [name, samplers[name]!.peak('upload')!]),
    );
    for (const name of Object.keys(processes)) {
      figures.push(
        `${name}: RSS до ${(before[name]! / MiB).toFixed(0)} МиБ, пик ${(peaks[name]! / MiB).toFixed(0)} МиБ`,
      );
    }
    t.diagnostic(figures.join('; '));
    for (const [name, peak] of Object.entries(peaks)) {
      assert.ok(
        peak < PEAK_RSS_BOUND,
        `${name}: пик RSS ${(peak / MiB).toFixed(0)} МиБ ≥ ${PEAK_RSS_BOUND / MiB} МиБ`,
      );
      assert.ok(
        peak - before[name]! < GROWTH_BOUND,
        `${name}: RSS вырос на ${((peak - before[name]!) / MiB).toFixed(0)} МиБ за загрузку`,
      );
    }
    const walk = await assertStorageConsistent(node.basePath);
    assert.equal([...walk.paired.values()].find((attr) => attr.sha256 === answer.sha256)?.size, SIZE);
  });
});
