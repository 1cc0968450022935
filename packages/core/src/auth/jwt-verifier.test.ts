import assert from 'node:assert/strict';
import { createHmac, KeyObject, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { isArtError, type ErrorCode } from '../errors.js';
import {
  ACCESS_TOKEN_TYPE,
  createJwtVerifier,
  type JwtVerifier,
  type JwtVerifierOptions,
} from './jwt-verifier.js';

const ISSUER = 'artstore-test';
const AUDIENCE = 'artstore';
const COOLDOWN_MS = 30_000;

interface KeyPair {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return {
    kid,
    privateKey,
    publicKey,
    jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
}

/** Сервер, считающий обращения; ответ задаёт тест. */
interface CountingServer {
  url: string;
  hits: number;
  respond: (res: import('node:http').ServerResponse) => void;
  close(): Promise<void>;
}

async function startCountingServer(): Promise<CountingServer> {
  const state: CountingServer = {
    url: '',
    hits: 0,
    respond: (res) => res.writeHead(404).end(),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    state.hits++;
    req.resume();
    state.respond(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

function serveKeys(server: CountingServer, keys: KeyPair[]): void {
  server.respond = (res) =>
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
}

const seconds = () => Math.floor(Date.now() / 1000);

interface MintOptions {
  header?: Record<string, unknown>;
  claims?: JWTPayload;
  omit?: string[];
}

/** Корректный access-токен ArtStore; отдельные поля тест подменяет или убирает. */
async function mint(key: KeyPair, options: MintOptions = {}): Promise<string> {
  const now = seconds();
  const payload: JWTPayload = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    jti: 'jti-1',
    iat: now,
    exp: now + 600,
    name: 'alice',
    roles: ['reader', 42, 'uploader'],
    ...options.claims,
  };
  for (const claim of options.omit ?? []) delete payload[claim];
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', typ: ACCESS_TOKEN_TYPE, kid: key.kid, ...options.header })
    .sign(key.privateKey);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** Полезная нагрузка действующего токена администратора (base64url) — для подделок с чужой подписью. */
function adminPayload(): string {
  const now = seconds();
  return b64({ iss: ISSUER, aud: AUDIENCE, sub: 'admin', jti: 'x', iat: now, exp: now + 600, roles: ['admin'] });
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(isArtError(error, code), `ожидалась ${code}, получено ${String(error)}`);
    assert.equal(error.status, 401);
    return true;
  });
}

describe('createJwtVerifier (SPEC AD-4)', () => {
  let jwks: CountingServer;
  let key1: KeyPair;
  let key2: KeyPair;
  let attacker: KeyPair;
  let clock: number;
  let refetches: ('ok' | 'failed')[];

  before(async () => {
    [key1, key2, attacker] = await Promise.all([makeKey('key-1'), makeKey('key-2'), makeKey('key-1')]);
    jwks = await startCountingServer();
  });
  after(async () => {
    await jwks.close();
  });

  /** Новый проверяльщик (пустой кеш) и JWKS только с key1; часы стоят, пока тест их не сдвинет. */
  function freshVerifier(overrides: Partial<JwtVerifierOptions> = {}): JwtVerifier {
    serveKeys(jwks, [key1]);
    jwks.hits = 0;
    clock = Date.now();
    refetches = [];
    return createJwtVerifier({
      jwksUrl: `${jwks.url}/.well-known/jwks.json`,
      issuer: ISSUER,
      audience: AUDIENCE,
      cooldownMs: COOLDOWN_MS,
      clockToleranceSeconds: 5,
      fetchTimeoutMs: 1000,
      now: () => clock,
      onRefetch: (outcome) => refetches.push(outcome),
      ...overrides,
    });
  }

  it('корректный токен → принципал; ключ запрашивается один раз и кешируется', async () => {
    const verifier = freshVerifier();
    const token = await mint(key1);
    const principal = await verifier.verify(token);
    assert.equal(principal.subject, 'user-1');
    assert.equal(principal.username, 'alice');
    assert.equal(principal.kind, 'user');
    assert.deepEqual(principal.roles, ['reader', 'uploader'], 'нестроковые роли отбрасываются');
    assert.ok(principal.permissions.has('files:write'));
    assert.equal(principal.mustChangePassword, false);
    assert.equal(principal.tokenId, 'jti-1');
    assert.equal(principal.token, token);
    assert.equal(
      await verifier.verify(token),
      principal,
      'повторный токен берётся из кеша проверенных, без проверки подписи',
    );
    assert.equal(jwks.hits, 1);
    assert.deepEqual(refetches, ['ok']);
  });

  it('сервисная учётная запись, смена пароля, имя по умолчанию — sub', async () => {
    const verifier = freshVerifier();
    const service = await verifier.verify(
      await mint(key1, { claims: { kind: 'service', roles: 'admin' }, omit: ['name'] }),
    );
    assert.equal(service.kind, 'service');
    assert.equal(service.username, 'user-1');
    assert.deepEqual(service.roles, [], 'roles не массив — ролей нет');
    const pending = await verifier.verify(await mint(key1, { claims: { pwd_change: true } }));
    assert.equal(pending.mustChangePassword, true);
  });

  it('одновременные первые запросы ждут один и тот же запрос JWKS, а не получают 401', async () => {
    const verifier = freshVerifier();
    const token = await mint(key1);
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => verifier.verify(token)));
    assert.deepEqual(
      results.map((r) => r.status),
      Array(5).fill('fulfilled'),
      results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).join('; '),
    );
    assert.equal(jwks.hits, 1);
  });

  it('alg none / None / RS512 / HS256 с открытым ключом RSA в роли секрета — 401 без запроса JWKS', async () => {
    const verifier = freshVerifier();
    const payload = adminPayload();
    for (const alg of ['none', 'None', 'NONE']) {
      const header = b64({ alg, typ: ACCESS_TOKEN_TYPE, kid: key1.kid });
      await rejectsWith(verifier.verify(`${header}.${payload}.`), 'AUTH_TOKEN_INVALID');
    }
    const pem = await exportSPKI(key1.publicKey);
    for (const secret of [pem, pem.trim()]) {
      const input = `${b64({ alg: 'HS256', typ: ACCESS_TOKEN_TYPE, kid: key1.kid })}.${payload}`;
      const signature = createHmac('sha256', secret).update(input).digest('base64url');
      await rejectsWith(verifier.verify(`${input}.${signature}`), 'AUTH_TOKEN_INVALID');
    }
    // RS512 тем же ключом RSA: подпись настоящая, но алгоритм не тот.
    const rs512Input = `${b64({ alg: 'RS512', typ: ACCESS_TOKEN_TYPE, kid: key1.kid })}.${payload}`;
    const rs512 = `${rs512Input}.${sign('sha512', Buffer.from(rs512Input), KeyObject.from(key1.privateKey)).toString('base64url')}`;
    await rejectsWith(verifier.verify(rs512), 'AUTH_TOKEN_INVALID');
    assert.equal(jwks.hits, 0);
  });

  it('изменённая полезная нагрузка с исходной подписью и подпись чужим ключом с тем же kid — 401', async () => {
    const verifier = freshVerifier();
    const token = await mint(key1);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as JWTPayload;
    const forged = `${header}.${b64({ ...claims, roles: ['admin'] })}.${signature}`;
    await rejectsWith(verifier.verify(forged), 'AUTH_TOKEN_INVALID');
    await rejectsWith(verifier.verify(await mint(attacker)), 'AUTH_TOKEN_INVALID');
    // Чтобы исключить ложное срабатывание, исходный токен проходит.
    assert.equal((await verifier.verify(token)).subject, 'user-1');
  });

  it('мусор вместо JWT — 401', async () => {
    const verifier = freshVerifier();
    for (const token of ['', 'abc', 'a.b.c', `${b64({ alg: 'RS256' })}`]) {
      await rejectsWith(verifier.verify(token), 'AUTH_TOKEN_INVALID');
    }
    assert.equal(jwks.hits, 0);
  });

  it('неизвестный kid — не больше одного перезапроса JWKS за cooldown; внедрения в kid не запрашиваются вовсе', async () => {
    const verifier = freshVerifier();
    await verifier.verify(await mint(key1));
    assert.equal(jwks.hits, 1);
    for (let i = 0; i < 10; i++) {
      await rejectsWith(verifier.verify(await mint({ ...key1, kid: `unknown-${i}` })), 'AUTH_TOKEN_INVALID');
    }
    assert.equal(jwks.hits, 1, 'в пределах cooldown JWKS не перезапрашивается');

    clock += COOLDOWN_MS;
    await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        mint({ ...key1, kid: `later-${i}` }).then((t) => verifier.verify(t)),
      ),
    );
    assert.equal(jwks.hits, 2, 'после cooldown — ровно один перезапрос на пачку неизвестных kid');

    clock += COOLDOWN_MS;
    for (const kid of ['../../x', "' OR 1=1 --", 'a/b', '%2e%2e', 'x'.repeat(129), '']) {
      await rejectsWith(verifier.verify(await mint({ ...key1, kid })), 'AUTH_TOKEN_INVALID');
    }
    await rejectsWith(verifier.verify(await mint(key1, { header: { kid: 42 } })), 'AUTH_TOKEN_INVALID');
    await rejectsWith(
      verifier.verify(await mint(key1, { header: { kid: undefined } })),
      'AUTH_TOKEN_INVALID',
    );
    assert.equal(jwks.hits, 2, 'kid недопустимого вида не вызывает запроса JWKS');
  });

  it('заголовки jku, x5u и jwk никогда не используются для поиска ключа', async () => {
    const verifier = freshVerifier();
    const evil = await startCountingServer();
    try {
      evil.respond = (res) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ keys: [attacker.jwk] }));
      const header = { jku: `${evil.url}/jwks.json`, x5u: `${evil.url}/cert.pem`, jwk: attacker.jwk };
      // Подписано ключом злоумышленника, который он же и предлагает в заголовках.
      await rejectsWith(verifier.verify(await mint(attacker, { header })), 'AUTH_TOKEN_INVALID');
      await rejectsWith(
        verifier.verify(await mint({ ...attacker, kid: 'evil-kid' }, { header })),
        'AUTH_TOKEN_INVALID',
      );
      assert.equal(evil.hits, 0);
      assert.equal(jwks.hits, 1, 'ключи ищутся только в своём JWKS (evil-kid — в пределах cooldown)');
    } finally {
      await evil.close();
    }
  });

  it('весь список атак на токен (SPEC AD-11) — 401; на все вместе не больше одного перезапроса JWKS за cooldown, URL из заголовков не запрашиваются', async () => {
    const verifier = freshVerifier();
    const evil = await startCountingServer();
    try {
      evil.respond = (res) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ keys: [attacker.jwk] }));
      const genuine = await mint(key1);
      await verifier.verify(genuine);
      // Cooldown первого запроса истёк: неизвестный kid вправе вызвать перезапрос — но только один.
      clock += COOLDOWN_MS;
      const now = seconds();
      const adminClaims = adminPayload();
      const pem = await exportSPKI(key1.publicKey);
      const hsInput = `${b64({ alg: 'HS256', typ: ACCESS_TOKEN_TYPE, kid: key1.kid })}.${adminClaims}`;
      const [genuineHeader, , genuineSignature] = genuine.split('.') as [string, string, string];
      const fromHeaders = { jku: `${evil.url}/jwks.json`, x5u: `${evil.url}/cert.pem`, jwk: attacker.jwk };
      const attacks: Record<string, string> = {
        ...Object.fromEntries(
          ['none', 'None', 'noNE', 'NONE'].map((alg) => [
            `alg ${alg}`,
            `${b64({ alg, typ: ACCESS_TOKEN_TYPE, kid: key1.kid })}.${adminClaims}.`,
          ]),
        ),
        'HS256 с открытым ключом PEM как секретом': `${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`,
        'изменённая нагрузка с исходной подписью': `${genuineHeader}.${adminClaims}.${genuineSignature}`,
        'неизвестный kid': await mint({ ...attacker, kid: 'rotated-away' }),
        'kid ../../x': await mint({ ...attacker, kid: '../../x' }),
        'kid с SQL': await mint({ ...attacker, kid: "x' UNION SELECT 'secret' --" }),
        'jku/x5u/jwk с ключом злоумышленника': await mint(
          { ...attacker, kid: 'attacker-kid' },
          { header: fromHeaders },
        ),
        'jku/x5u/jwk и известный kid': await mint(attacker, { header: fromHeaders }),
        истёкший: await mint(key1, { claims: { iat: now - 3600, exp: now - 600 } }),
        'ещё не действителен (nbf)': await mint(key1, { claims: { nbf: now + 600 } }),
        'чужой издатель': await mint(key1, { claims: { iss: 'evil-issuer' } }),
        'чужая аудитория': await mint(key1, { claims: { aud: 'other-service' } }),
        'refresh-токен ArtStore вместо access': `rt_${'A'.repeat(43)}`,
        'JWT с typ refresh вместо access': await mint(key1, { header: { typ: 'refresh+jwt' } }),
      };
      // Дважды подряд: повтор в пределах cooldown не даёт нового запроса JWKS.
      for (let pass = 0; pass < 2; pass++) {
        for (const [name, token] of Object.entries(attacks)) {
          await assert.rejects(verifier.verify(token), (error) => {
            assert.ok(
              isArtError(error, 'AUTH_TOKEN_INVALID') || isArtError(error, 'AUTH_TOKEN_EXPIRED'),
              `${name}: ${String(error)}`,
            );
            assert.equal(error.status, 401, name);
            return true;
          });
        }
      }
      assert.equal(jwks.hits, 2, 'один запрос при первом токене и не больше одного перезапроса на все атаки');
      assert.equal(evil.hits, 0, 'jku/x5u из заголовков токена не запрашиваются');
      assert.equal(
        (await verifier.verify(genuine)).subject,
        'user-1',
        'настоящий токен по-прежнему принимается',
      );
    } finally {
      await evil.close();
    }
  });

  it('истёкший токен — AUTH_TOKEN_EXPIRED; в пределах допуска часов — ещё действителен', async () => {
    const verifier = freshVerifier();
    const now = seconds();
    await rejectsWith(
      verifier.verify(await mint(key1, { claims: { iat: now - 700, exp: now - 60 } })),
      'AUTH_TOKEN_EXPIRED',
    );
    assert.ok(await verifier.verify(await mint(key1, { claims: { iat: now - 700, exp: now - 2 } })));
  });

  it('проверка сроков идёт по подменённым часам проверяльщика', async () => {
    const verifier = freshVerifier();
    const token = await mint(key1);
    assert.ok(await verifier.verify(token));
    clock += 3600_000;
    await rejectsWith(verifier.verify(token), 'AUTH_TOKEN_EXPIRED');
  });

  it('nbf в будущем, чужой iss, чужой aud, не тот typ, нет обязательных полей — AUTH_TOKEN_INVALID', async () => {
    const verifier = freshVerifier();
    const now = seconds();
    const bad: MintOptions[] = [
      { claims: { nbf: now + 600 } },
      { claims: { iss: 'someone-else' } },
      { claims: { aud: 'other-service' } },
      { header: { typ: 'JWT' } },
      { header: { typ: 'refresh+jwt' } },
      { omit: ['typ'] },
      { omit: ['sub'] },
      { omit: ['jti'] },
      { omit: ['exp'] },
      { omit: ['iat'] },
    ];
    for (const options of bad) {
      const token = options.omit?.includes('typ')
        ? await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 's', jti: 'j', iat: now, exp: now + 60 })
            .setProtectedHeader({ alg: 'RS256', kid: key1.kid })
            .sign(key1.privateKey)
        : await mint(key1, options);
      await rejectsWith(verifier.verify(token), 'AUTH_TOKEN_INVALID');
    }
    assert.ok(
      await verifier.verify(await mint(key1, { claims: { aud: ['x', AUDIENCE] } })),
      'aud-массив с нашим значением',
    );
  });

  it('ротация: новый kid появляется в JWKS и проверяется после перезапроса', async () => {
    const verifier = freshVerifier();
    await verifier.verify(await mint(key1));
    serveKeys(jwks, [key1, key2]);
    clock += COOLDOWN_MS;
    const principal = await verifier.verify(await mint(key2, { claims: { sub: 'user-2' } }));
    assert.equal(principal.subject, 'user-2');
    assert.equal(jwks.hits, 2);
    assert.ok(await verifier.verify(await mint(key1)), 'старый ключ ещё в JWKS — его токены действительны');
    // Ключ убран из JWKS — после следующего перезапроса его токены отвергаются.
    serveKeys(jwks, [key2]);
    clock += COOLDOWN_MS;
    await rejectsWith(verifier.verify(await mint({ ...key2, kid: 'key-3' })), 'AUTH_TOKEN_INVALID');
    await rejectsWith(verifier.verify(await mint(key1)), 'AUTH_TOKEN_INVALID');
  });

  it('плановое обновление JWKS: ключ, выведенный из набора, перестаёт приниматься (и из кеша проверенных); запрос не ждёт обновления', async () => {
    const verifier = freshVerifier({ refreshMs: 60_000 });
    const token = await mint(key1);
    await verifier.verify(token);
    serveKeys(jwks, [key2]);
    clock += 59_000;
    assert.ok(await verifier.verify(token), 'до срока обновления — прежний набор');
    assert.equal(jwks.hits, 1);
    clock += 1_000;
    // Первый запрос после срока проверяется по прежним ключам и запускает обновление фоном.
    assert.ok(await verifier.verify(token));
    for (let i = 0; i < 100 && jwks.hits < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(jwks.hits, 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await rejectsWith(verifier.verify(token), 'AUTH_TOKEN_INVALID');
    assert.ok(await verifier.verify(await mint(key2)), 'новый ключ принимается');
  });

  it('JWKS недоступен, отвечает 500, не-JSON или не-JWKS — прежние ключи продолжают работать', async () => {
    const verifier = freshVerifier();
    const token = await mint(key1);
    await verifier.verify(token);
    const failures: ((res: import('node:http').ServerResponse) => void)[] = [
      (res) => res.writeHead(500).end('boom'),
      (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>proxy</html>'),
      (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
      (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":{}}'),
      (res) => res.destroy(),
    ];
    for (const respond of failures) {
      jwks.respond = respond;
      clock += COOLDOWN_MS;
      await rejectsWith(verifier.verify(await mint(key2)), 'AUTH_TOKEN_INVALID');
      assert.equal((await verifier.verify(token)).subject, 'user-1', `после ответа ${respond.toString()}`);
    }
    assert.deepEqual(refetches, ['ok', 'failed', 'failed', 'failed', 'failed', 'failed']);
  });

  it('JWKS-сервер остановлен — закешированный ключ по-прежнему проверяет токены', async () => {
    const down = await startCountingServer();
    serveKeys(down, [key1]);
    clock = Date.now();
    const verifier = createJwtVerifier({
      jwksUrl: `${down.url}/.well-known/jwks.json`,
      issuer: ISSUER,
      audience: AUDIENCE,
      cooldownMs: COOLDOWN_MS,
      clockToleranceSeconds: 5,
      fetchTimeoutMs: 1000,
      now: () => clock,
    });
    const token = await mint(key1);
    await verifier.verify(token);
    await down.close();
    clock += COOLDOWN_MS;
    await rejectsWith(verifier.verify(await mint(key2)), 'AUTH_TOKEN_INVALID');
    assert.equal((await verifier.verify(token)).subject, 'user-1');
  });

  it('ключи JWKS не для RS256 и без kid пропускаются, остальные принимаются', async () => {
    const verifier = freshVerifier();
    const { kid: _kid, ...noKid } = key2.jwk;
    jwks.respond = (res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          keys: [{ ...key2.jwk, alg: 'RS512' }, noKid, { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }, key1.jwk],
        }),
      );
    assert.ok(await verifier.verify(await mint(key1)));
    await rejectsWith(verifier.verify(await mint(key2)), 'AUTH_TOKEN_INVALID');
    assert.deepEqual(refetches, ['ok']);
  });
});
