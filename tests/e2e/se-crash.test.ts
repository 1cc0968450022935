// E2E: устойчивость элемента хранения к kill -9 (SPEC SE-3, issue «Storage element», «Bad input and
// faults»). SE — настоящий процесс `artstore start storage-element` (профиль embedded, PGlite в data_dir,
// координация в процессе, токены — от тестового издателя). Под пачкой параллельных загрузок процесс
// убивается SIGKILL — снаружи в случайный момент (сценарий A) или сам в точке внедрения сбоя
// (сценарий B, ARTSTORE_TEST_FAULTS). После перезапуска на том же каталоге и порту проверяется:
//   • ни одна подтверждённая (201) загрузка не потеряна: она в ленте изменений и отдаётся байт в байт;
//   • неподтверждённая загрузка может ДОЙТИ до конца (если к моменту сбоя данные и attr были целы —
//     восстановление её завершает), но тогда её байты и запись обязаны быть верными; полузаписанная
//     не становится видимой никогда;
//   • корень хранилища согласован: нет данных без attr и attr без данных, каждый attr подписан и
//     совпадает с байтами на диске, .artstore/tmp пуст; набор attr на диске равен ленте изменений;
//   • журнал после восстановления не содержит открытых транзакций.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FileRecord } from '@artstore/contracts';
import { createTestTokenIssuer, type TestTokenIssuer } from '@artstore/core/testing';
import {
  assertStorageConsistent,
  downloadSha256,
  fileExists,
  forEachLimited,
  inspectWal,
  killHard,
  planUploads,
  prepareSeNode,
  prepareTemplate,
  readChangeFeed,
  recoveryFigures,
  spawnSe,
  stopGracefully,
  uploadOne,
  waitReady,
  walkStorage,
  type PlannedUpload,
  type RecoveryFigures,
  type SeNode,
  type UploadOutcome,
} from './se-crash-kit.js';

interface CrashPlan {
  label: string;
  uploads: number;
  /** Сценарий A: SIGKILL снаружи, когда подтверждена эта доля загрузок. */
  killAtFraction?: number;
  /** Сценарий B: ARTSTORE_TEST_FAULTS — SE убивает себя сам. */
  faults?: string;
}

interface CrashResult {
  planned: PlannedUpload[];
  acknowledged: Map<string, PlannedUpload>;
  /** Корень хранилища в момент сбоя (до восстановления). */
  atCrash: Awaited<ReturnType<typeof walkStorage>>;
  /** Открытые транзакции WAL в момент сбоя. */
  openAtCrash: number;
  figures: RecoveryFigures;
  /** Записи ленты после восстановления. */
  feed: Map<string, FileRecord>;
  /** Видимые после восстановления загрузки, которым клиент так и не получил 201. */
  completedUnacknowledged: string[];
}

let issuer: TestTokenIssuer;
let uploaderToken: string;
let indexerToken: string;
let template: Awaited<ReturnType<typeof prepareTemplate>> | undefined;

/**
 * Один прогон: старт SE → пачка загрузок → SIGKILL → осмотр диска и WAL «как после сбоя» →
 * перезапуск без сбоев → все проверки → штатная остановка → WAL без открытых транзакций.
 * Специфичные для сценария проверки делает вызывающий по возвращённому результату.
 */
async function crashAndRecover(t: TestContext, plan: CrashPlan): Promise<CrashResult> {
  const node = await prepareSeNode(issuer, plan.label, template?.dataDir);
  try {
    return await runOn(t, node, plan);
  } finally {
    await node.cleanup.run();
  }
}

async function runOn(t: TestContext, node: SeNode, plan: CrashPlan): Promise<CrashResult> {
  const started = Date.now();
  const phases: string[] = [];
  let phaseStart = started;
  const phase = (name: string) => {
    const now = Date.now();
    phases.push(`${name} ${((now - phaseStart) / 1000).toFixed(1)}`);
    phaseStart = now;
  };
  const first = spawnSe(node, plan.faults === undefined ? {} : { faults: plan.faults });
  await waitReady(node, first);
  phase('старт');

  const planned = planUploads(plan.uploads, plan.label);
  const byName = new Map(planned.map((u) => [u.name, u]));
  const killAfter =
    plan.killAtFraction === undefined ? Infinity : Math.ceil(plan.uploads * plan.killAtFraction);
  let acknowledgedBeforeKill = 0;
  let killSent = false;
  // В сценарии A старты загрузок разнесены случайно на 0–1,5 с: все они перекрываются во времени, но
  // подтверждения идут потоком, и в момент kill часть загрузок только начинается, часть в середине.
  const jitterMs = plan.killAtFraction === undefined ? 0 : 1_500;
  const outcomes: Promise<UploadOutcome>[] = planned.map((upload) =>
    sleep(Math.random() * jitterMs)
      .then(() => uploadOne(node.url, uploaderToken, upload))
      .then((outcome) => {
        if (outcome.kind === 'acknowledged' && !killSent) {
          acknowledgedBeforeKill++;
          if (acknowledgedBeforeKill >= killAfter) {
            // Сигнал уходит сразу, в том же обработчике ответа: остальные загрузки в этот миг в полёте.
            killSent = true;
            first.child.kill('SIGKILL');
          }
        }
        return outcome;
      }),
  );
  if (plan.faults !== undefined) {
    // Точка сбоя убивает процесс сама; не дождались — значит, точка не сработала (K больше проходов).
    const exit = await Promise.race([
      first.exited,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 60_000).unref()),
    ]);
    assert.ok(exit, `SE не убил себя по ${plan.faults}\n${first.output()}`);
    assert.equal(
      exit.signal,
      'SIGKILL',
      `SE вышел не от SIGKILL: ${JSON.stringify(exit)}\n${first.output()}`,
    );
  }
  const settled = await Promise.all(outcomes);
  const failures = settled.filter((o) => o.kind === 'failed');
  // До сбоя SE не должен отказывать ни в одной загрузке: неудачи — только обрывы из-за kill.
  const refused = failures.filter((o) => o.kind === 'failed' && /^\d{3} /.test(o.reason));
  assert.deepEqual(refused, [], `SE отказал в загрузке до сбоя\n${first.output()}`);
  if (plan.faults === undefined) {
    assert.ok(
      killSent,
      `загрузки закончились раньше, чем был послан SIGKILL: ${JSON.stringify(failures.slice(0, 3))}`,
    );
    await killHard(first);
  }

  const acknowledged = new Map<string, PlannedUpload>();
  settled.forEach((outcome, index) => {
    if (outcome.kind !== 'acknowledged') return;
    const upload = planned[index]!;
    // Подтверждение должно описывать ровно те байты, что были отправлены.
    assert.equal(outcome.record.sha256, upload.sha256, `201 для ${upload.name} с чужим sha256`);
    assert.equal(outcome.record.size, upload.body.length, `201 для ${upload.name} с чужим размером`);
    acknowledged.set(outcome.record.id, upload);
  });

  phase('загрузки');
  // ── Состояние в момент сбоя (SE мёртв, восстановления ещё не было) ──
  const atCrash = await walkStorage(node.basePath);
  const walAtCrash = await inspectWal(node.basePath);
  // Сбой процесса (не питания) не может испортить журнал; оборванный хвост допустим.
  if (walAtCrash.corruption !== null) {
    assert.equal(
      (walAtCrash.corruption as { reason: string }).reason,
      'torn',
      `WAL испорчен: ${JSON.stringify(walAtCrash.corruption)}`,
    );
  }
  const openPaths = new Set(walAtCrash.open.map((r) => String(r.path)));
  // Всё недописанное на диске должно быть известно журналу, иначе восстановлению его не найти.
  for (const orphan of atCrash.dataWithoutAttr) {
    assert.ok(
      openPaths.has(orphan),
      `данные без attr ${orphan} не принадлежат ни одной открытой транзакции WAL`,
    );
  }
  // SE-3: 201 уходит только после того, как данные и attr на диске.
  const pairedIdsAtCrash = new Set([...atCrash.paired.values()].map((a) => a.id));
  for (const [id, upload] of acknowledged) {
    assert.ok(
      pairedIdsAtCrash.has(id),
      `подтверждённая загрузка ${upload.name} (${id}) без данных+attr на диске в момент сбоя`,
    );
  }

  phase('осмотр');
  // ── Перезапуск без внедрения сбоев, на том же каталоге и порту ──
  const second = spawnSe(node, { logLevel: 'info' });
  await waitReady(node, second);
  phase('перезапуск');
  const figures = recoveryFigures(second.output());
  assert.equal(figures.corrupted, 0, `восстановление нашло повреждения\n${second.output()}`);
  assert.equal(
    figures.finished + figures.rolled_back,
    walAtCrash.open.length,
    'восстановление решило судьбу не всех открытых транзакций',
  );

  const feed = await readChangeFeed(node.url, indexerToken);
  // Каждая подтверждённая загрузка — в ленте и отдаётся байт в байт.
  const lost: string[] = [];
  await forEachLimited([...acknowledged], 8, async ([id, upload]) => {
    const record = feed.get(id);
    const download = await downloadSha256(node.url, uploaderToken, id);
    if (
      !record ||
      record.sha256 !== upload.sha256 ||
      record.size !== upload.body.length ||
      download.sha256 !== upload.sha256
    ) {
      lost.push(
        `${upload.name} (${id}): в ленте ${record ? record.sha256 : 'нет'}, выдача ${download.status} ${download.sha256}`,
      );
    }
  });
  assert.deepEqual(lost, [], 'подтверждённые загрузки потеряны или искажены после kill -9');

  // Всё, что видно в ленте, — настоящие загрузки теста с правильными байтами (неподтверждённые тоже).
  const completedUnacknowledged: string[] = [];
  await forEachLimited([...feed.values()], 8, async (record) => {
    const upload = byName.get(record.name);
    assert.ok(upload, `в ленте неизвестный файл ${record.name}`);
    assert.equal(record.sha256, upload.sha256, `${record.name}: в ленте чужой sha256`);
    assert.equal(record.status, 'active');
    if (acknowledged.has(record.id)) return;
    completedUnacknowledged.push(record.id);
    const download = await downloadSha256(node.url, uploaderToken, record.id);
    assert.equal(
      download.sha256,
      upload.sha256,
      `неподтверждённая, но завершённая ${record.name}: выдача ${download.status}`,
    );
  });
  // Каждая полная пара данные+attr в момент сбоя доводится до конца (SE-3), остальное откатывается.
  for (const attr of atCrash.paired.values()) {
    assert.ok(
      feed.has(attr.id),
      `целые данные+attr ${attr.path} в момент сбоя не появились в ленте после восстановления`,
    );
  }

  // Корень хранилища: пары, подписи, размеры, пустой tmp; набор attr = лента.
  const recoveredWalk = await assertStorageConsistent(node.basePath);
  assert.deepEqual(
    [...recoveredWalk.paired.values()].map((a) => a.id).sort(),
    [...feed.keys()].sort(),
    'набор attr на диске не совпадает с лентой изменений',
  );
  for (const orphan of atCrash.dataWithoutAttr) {
    assert.equal(await fileExists(join(node.basePath, orphan)), false, `откат не удалил данные ${orphan}`);
  }

  phase('проверки');
  await stopGracefully(second);
  const walAfter = await inspectWal(node.basePath);
  assert.equal(
    walAfter.corruption,
    null,
    `WAL после штатной остановки: ${JSON.stringify(walAfter.corruption)}`,
  );
  assert.deepEqual(
    walAfter.open.map((r) => r.tx),
    [],
    'после восстановления и штатной остановки в WAL остались открытые транзакции',
  );

  t.diagnostic(
    `${plan.label}: загрузок ${plan.uploads}` +
      (plan.faults ? `, сбой ${plan.faults}` : `, kill после ${killAfter} подтверждений`) +
      `; подтверждено ${acknowledged.size} (до сигнала ${acknowledgedBeforeKill}), оборвано ${failures.length}` +
      `; в момент сбоя: открытых транзакций ${walAtCrash.open.length}, данных без attr ${atCrash.dataWithoutAttr.length}` +
      `, временных файлов ${atCrash.tempFiles.length}` +
      `; wal_recovery_completed: finished ${figures.finished}, rolled_back ${figures.rolled_back}, replayed ${figures.replayed}, старт после сбоя ${figures.startup_seconds} с` +
      `; в ленте ${feed.size}, из них без 201 ${completedUnacknowledged.length}` +
      `; ${((Date.now() - started) / 1000).toFixed(1)} с (${phases.join(', ')})`,
  );
  return {
    planned,
    acknowledged,
    atCrash,
    openAtCrash: walAtCrash.open.length,
    figures,
    feed,
    completedUnacknowledged,
  };
}

describe('storage-element: kill -9 под параллельной записью (SPEC SE-3)', () => {
  before(async () => {
    issuer = await createTestTokenIssuer();
    uploaderToken = await issuer.mint({ roles: ['uploader'], name: 'crash-uploader' });
    indexerToken = await issuer.mint({ roles: ['indexer'], name: 'crash-indexer', kind: 'service' });
    template = await prepareTemplate(issuer);
  });

  after(async () => {
    await template?.cleanup.run();
    await issuer?.close();
  });

  for (const run of [1, 2, 3]) {
    it(`A${run}: SIGKILL в случайный момент — подтверждённое цело, корень и WAL согласованы`, async (t) => {
      const result = await crashAndRecover(t, {
        label: `a${run}`,
        uploads: 200,
        killAtFraction: 0.3 + 0.4 * Math.random(),
      });
      // Сбой действительно случился посреди записи: не всё подтверждено.
      assert.ok(
        result.acknowledged.size < result.planned.length,
        'все загрузки подтверждены — kill пришёл слишком поздно',
      );
    });
  }

  it('B1: SIGKILL между rename данных и записью attr — транзакция откатывается', async (t) => {
    const result = await crashAndRecover(t, {
      label: 'b-rename',
      uploads: 60,
      faults: 'se.after-data-rename:kill@25',
    });
    // Убитая транзакция оставила данные без attr — восстановление обязано их удалить (проверено в прогоне).
    assert.ok(
      result.atCrash.dataWithoutAttr.length >= 1,
      'в момент сбоя нет данных без attr — точка сбоя не сработала как ожидалось',
    );
    assert.ok(result.figures.rolled_back >= 1, 'восстановление не откатило ни одной транзакции');
  });

  it('B2: SIGKILL после attr, до кеша — восстановление доводит запись до конца', async (t) => {
    // Допустимо по SPEC SE-3: неподтверждённая запись может завершиться (её байты и attr целы), а
    // подтверждённая не может потеряться. Клиент убитой загрузки 201 не получил, но файл появится.
    const result = await crashAndRecover(t, {
      label: 'b-attr',
      uploads: 60,
      faults: 'se.after-attr-write:kill@25',
    });
    assert.ok(result.figures.finished >= 1, 'восстановление не завершило ни одной транзакции');
    const unacknowledgedPairs = [...result.atCrash.paired.values()].filter(
      (a) => !result.acknowledged.has(a.id),
    );
    assert.ok(unacknowledgedPairs.length >= 1, 'в момент сбоя нет целой пары данные+attr без 201');
    for (const attr of unacknowledgedPairs) {
      assert.ok(
        result.completedUnacknowledged.includes(attr.id),
        `${attr.path}: attr был цел, но запись не завершена`,
      );
    }
  });
});
