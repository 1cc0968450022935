// Ротация ключей подписи с управляемыми часами (SPEC AD-4; issue «Admin module»): следующий ключ
// опубликован до того, как подписывает; токен, подписанный перед сменой, действует до своего exp;
// сервис (тот же проверяющий, что в SE/ingester/query) подхватывает новый ключ без перезапуска;
// выведенный ключ перестаёт приниматься; два шага ротации сразу не создают двух ключей.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, describe, it } from 'node:test';
import { testDatabaseBackends, type OpenedTestDatabase } from '@artstore/adapters/testing';
import { createJwtVerifier, createLogger, isArtError, runMigrations, type Database, type JwtVerifier } from '@artstore/core';
import { createAudit } from '../src/domain/audit.js';
import { createKeyRotation, type KeyRotation } from '../src/domain/key-rotation.js';
import { masterKeyFrom } from '../src/domain/master-key.js';
import { createSigningKeyring, type SigningKeyring } from '../src/domain/signing-keyring.js';
import { createTokenIssuer, type TokenIssuer } from '../src/domain/token-issuer.js';
import { createAuditLogStore } from '../src/store/audit-log.js';
import { adminMigrations } from '../src/store/migrations.js';
import { createSigningKeyStore } from '../src/store/signing-keys.js';
import { decodeJwt, newMasterKey } from './helpers.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const ACCESS_TTL_S = 1800;
const TOLERANCE_S = 5;
const CHECK_MS = MINUTE;
const OVERLAP_MS = (ACCESS_TTL_S + TOLERANCE_S) * 1000 + CHECK_MS;
const T0 = Date.parse('2026-11-30T00:00:00Z');

interface Rig {
  clock: { now: number };
  keyring: SigningKeyring;
  rotation: KeyRotation;
  issuer: TokenIssuer;
  jwksUrl: string;
  jwksRequests: () => number;
  verifier(now: () => number): JwtVerifier;
  audited(): Promise<string[]>;
}

async function buildRig(db: Database, servers: Server[]): Promise<Rig> {
  await runMigrations(db, 'admin-module', adminMigrations);
  const logger = createLogger({ level: 'silent' });
  const clock = { now: T0 };
  const now = () => new Date(clock.now);
  const store = createSigningKeyStore(db);
  const masterKey = masterKeyFrom(newMasterKey());
  const keyring = await createSigningKeyring({ store, masterKey, now });
  const audit = createAudit(createAuditLogStore(db), logger);
  const rotation = createKeyRotation({
    store,
    masterKey,
    keyring,
    intervalMs: 24 * HOUR,
    prepublishMs: HOUR,
    overlapMs: OVERLAP_MS,
    audit,
    logger,
    now,
  });
  await rotation.ensureKey();
  const issuer = createTokenIssuer({ keyring, issuer: 'artstore', audience: 'artstore', accessTtlSeconds: ACCESS_TTL_S, now });
  let requests = 0;
  const server = createServer((_request, response) => {
    requests += 1;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(keyring.jwks()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const jwksUrl = `http://127.0.0.1:${port}/.well-known/jwks.json`;
  return {
    clock,
    keyring,
    rotation,
    issuer,
    jwksUrl,
    jwksRequests: () => requests,
    verifier: (verifierNow) =>
      createJwtVerifier({
        jwksUrl,
        issuer: 'artstore',
        audience: 'artstore',
        cooldownMs: 30_000,
        refreshMs: 5 * MINUTE,
        clockToleranceSeconds: TOLERANCE_S,
        now: verifierNow,
      }),
    async audited() {
      const { rows } = await db.query<{ action: string }>(
        "select action from admin_audit_log where action like 'auth.key.%' order by seq",
      );
      return rows.map((row) => row.action);
    },
  };
}

const kids = (rig: Rig) => rig.keyring.jwks().keys.map((key) => key.kid);
const sign = async (rig: Rig) =>
  (await rig.issuer.issue({ subject: 'u1', name: 'tester', kind: 'user', roles: ['reader'], mustChangePassword: false })).token;
const kidOf = (token: string) => decodeJwt(token).header.kid as string;

type OpenDb = () => Promise<OpenedTestDatabase>;

function rotationSuite(label: string, openDb: OpenDb): void {
  describe(`ротация ключей подписи: ${label}`, () => {
    const servers: Server[] = [];
    const closers: (() => Promise<void>)[] = [];
    after(async () => {
      for (const server of servers) server.close();
      for (const close of closers) await close();
    });
    /** У каждого теста своя БД: ключи одного теста не должны стать «действующими» для другого. */
    async function rigFor(): Promise<Rig & { db: Database }> {
      const handle = await openDb();
      closers.push(() => handle.close());
      return { ...(await buildRig(handle.db, servers)), db: handle.db };
    }

    it('полный цикл: публикация заранее, смена по времени, перекрытие, вывод; сервис подхватывает ключ сам', async () => {
      const rig = await rigFor();
      const [k0] = kids(rig);
      assert.ok(k0);
      const service = rig.verifier(() => rig.clock.now);
      const tokenA = await sign(rig);
      assert.equal(kidOf(tokenA), k0);
      assert.equal((await service.verify(tokenA)).subject, 'u1');

      // За 2 ч до срока ещё рано; за 1 ч (prepublish) — следующий ключ в JWKS, но подписывает прежний.
      rig.clock.now = T0 + 22 * HOUR;
      assert.deepEqual(await rig.rotation.rotate(), { published: null, retired: [] });
      rig.clock.now = T0 + 23 * HOUR;
      const step = await rig.rotation.rotate();
      const k1 = step.published;
      assert.ok(k1);
      assert.deepEqual(kids(rig), [k1, k0]);
      // Повторный шаг ничего не добавляет.
      assert.deepEqual(await rig.rotation.rotate(), { published: null, retired: [] });

      rig.clock.now = T0 + 24 * HOUR - 1000;
      const tokenB = await sign(rig);
      assert.equal(kidOf(tokenB), k0, 'до activates_at подписывает прежний ключ');

      rig.clock.now = T0 + 24 * HOUR;
      const tokenC = await sign(rig);
      assert.equal(kidOf(tokenC), k1, 'с activates_at подписывает новый ключ');
      // Сервис знает k1 заранее или перезапрашивает JWKS по неизвестному kid — без перезапуска.
      assert.equal((await service.verify(tokenC)).subject, 'u1');
      assert.equal((await service.verify(tokenB)).subject, 'u1');

      // Перекрытие: токен B действует до своего exp, оба ключа опубликованы.
      rig.clock.now = T0 + 24 * HOUR + 29 * MINUTE;
      assert.deepEqual(await rig.rotation.rotate(), { published: null, retired: [] });
      assert.deepEqual(kids(rig), [k1, k0]);
      assert.equal((await service.verify(tokenB)).subject, 'u1');

      // Второй сервис с отстающими часами (B ещё не истёк по ним) держит B до вывода ключа.
      let lagging = T0 + 24 * HOUR + 10 * MINUTE;
      const laggingService = rig.verifier(() => lagging);
      assert.equal((await laggingService.verify(tokenB)).subject, 'u1');

      rig.clock.now = T0 + 24 * HOUR + OVERLAP_MS;
      assert.deepEqual(await rig.rotation.rotate(), { published: null, retired: [k0] });
      assert.deepEqual(kids(rig), [k1]);
      const { rows } = await rig.db.query<{ private_key_encrypted: string }>(
        'select private_key_encrypted from admin_signing_keys where kid = $1',
        [k0],
      );
      assert.equal(rows[0]?.private_key_encrypted, '', 'закрытая часть выведенного ключа стёрта');

      // Плановое обновление JWKS у сервиса: выведенный ключ больше не принимается, хотя exp B не наступил.
      lagging += 6 * MINUTE;
      const before = rig.jwksRequests();
      await laggingService.verify(tokenB).catch(() => undefined);
      for (let i = 0; i < 100 && rig.jwksRequests() === before; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50));
      await assert.rejects(laggingService.verify(tokenB), (error) => isArtError(error) && error.status === 401);
      assert.equal((await laggingService.verify(tokenC)).subject, 'u1');

      // Следующий цикл идёт от activates_at действующего ключа.
      rig.clock.now = T0 + 47 * HOUR;
      const next = await rig.rotation.rotate();
      assert.ok(next.published);
      assert.deepEqual(kids(rig), [next.published, k1]);
      assert.deepEqual(await rig.audited(), ['auth.key.created', 'auth.key.published', 'auth.key.retired', 'auth.key.published']);
    });

    it('после долгого простоя следующий ключ всё равно публикуется за prepublish до подписи', async () => {
      const rig = await rigFor();
      const active = kids(rig)[0]!;
      rig.clock.now = T0 + 30 * 24 * HOUR;
      const step = await rig.rotation.rotate();
      assert.ok(step.published);
      assert.equal(kidOf(await sign(rig)), active, 'новый ключ ещё не подписывает');
      rig.clock.now += HOUR;
      assert.equal(kidOf(await sign(rig)), step.published);
    });

    it('два шага ротации одновременно (два «лидера») создают ровно один следующий ключ', async () => {
      const rig = await rigFor();
      const before = kids(rig).length;
      rig.clock.now = T0 + 23 * HOUR + 30 * MINUTE;
      const steps = await Promise.all([rig.rotation.rotate(), rig.rotation.rotate(), rig.rotation.rotate()]);
      assert.equal(steps.filter((step) => step.published !== null).length, 1);
      await rig.keyring.reload();
      assert.equal(kids(rig).length, before + 1);
    });
  });
}

for (const backend of testDatabaseBackends('key_rotation')) rotationSuite(backend.name, () => backend.open());
