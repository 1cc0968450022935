// Бенчмарк «auth» (issue admin-module): сколько стоит безопасность на каждом запросе и на входе.
//   1. Проверка access-токена в сервисе (локальный JWKS): проверяльщик ArtStore на разных токенах
//      (каждый раз подпись RS256 и поля) и на повторном токене (кеш проверенных) — против голой
//      проверки подписи RS256 node:crypto тех же токенов.
//   2. Вход: POST /api/auth/login admin-module (PGlite, bcrypt cost 12) последовательно и с
//      параллельностью 4 — против голого bcrypt.verify той же стоимости в том же процессе.
// Параметры: --tokens N (разных токенов, 2000), --logins N (входов, 40), --no-results.
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createPgliteDatabase } from '@artstore/adapters';
import { createJwtVerifier } from '@artstore/core';
import { CleanupStack, createTestTokenIssuer } from '@artstore/core/testing';
import { BCRYPT_COST, hashPassword, verifyPassword } from '../services/admin-module/src/domain/passwords.js';
import { activateUser, newMasterKey, postJson, startAdmin } from '../services/admin-module/test/helpers.js';
import { invocation, machine, markdownTable, publishResults, runBenchmark, textTable, type Row } from './lib/report.js';

const DEFAULTS = { tokens: '2000', logins: '40' } as const;
const { values: args } = parseArgs({
  options: {
    tokens: { type: 'string', default: DEFAULTS.tokens },
    logins: { type: 'string', default: DEFAULTS.logins },
    'no-results': { type: 'boolean', default: false },
  },
});
const tokenCount = Number(args.tokens);
const loginCount = Number(args.logins);
const publish = !args['no-results'] && args.tokens === DEFAULTS.tokens && args.logins === DEFAULTS.logins;
const PASSWORD = 'пароль-для-замера-входа-2026';
const cleanup = new CleanupStack();

const rate = (count: number, ms: number) => (count / ms) * 1000;
const fmt = (value: number, digits = 0) => value.toLocaleString('ru-RU', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function timed(count: number, run: (i: number) => unknown, concurrency = 1): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await run(next++);
    }),
  );
  return rate(count, performance.now() - started);
}

async function tokenVerification(): Promise<Row[]> {
  const issuer = await createTestTokenIssuer();
  cleanup.defer(() => issuer.close());
  const tokens = await Promise.all(Array.from({ length: tokenCount }, (_, i) => issuer.mint({ sub: `user-${i}` })));
  const { keys } = (await (await fetch(issuer.jwksUrl)).json()) as { keys: Record<string, unknown>[] };
  const publicKey = createPublicKey({ key: keys[0]!, format: 'jwk' });
  const bare = await timed(tokenCount, (i) => {
    const [header, payload, signature] = tokens[i]!.split('.') as [string, string, string];
    if (!verifySignature('RSA-SHA256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'))) throw new Error('подпись');
  });
  const verifier = createJwtVerifier({ jwksUrl: issuer.jwksUrl, issuer: issuer.issuer, audience: issuer.audience, cooldownMs: 30_000, clockToleranceSeconds: 5 });
  await verifier.verify(tokens[0]!);
  const distinct = await timed(tokenCount, (i) => verifier.verify(tokens[i]!));
  const cached = await timed(tokenCount, () => verifier.verify(tokens[0]!));
  console.log(`  проверка токена: голая RS256 ${fmt(bare)}/с, ArtStore ${fmt(distinct)}/с, повторный токен ${fmt(cached)}/с`);
  return [
    ['Проверка access-токена, разные токены', `${fmt(bare)} /с`, `${fmt(distinct)} /с`, `${fmt(distinct / bare, 2)}×`],
    ['Проверка access-токена, повторный токен (кеш)', `${fmt(bare)} /с`, `${fmt(cached)} /с`, `${fmt(cached / bare, 1)}×`],
  ];
}

async function logins(): Promise<Row[]> {
  const passwordHash = await hashPassword(PASSWORD);
  const bareSerial = await timed(loginCount, () => verifyPassword(PASSWORD, passwordHash));
  const bareParallel = await timed(loginCount, () => verifyPassword(PASSWORD, passwordHash), 4);
  const db = await createPgliteDatabase();
  cleanup.defer(() => db.close());
  const admin = await startAdmin({ db, masterKey: newMasterKey(), lockout: { account_failures: 100, ip_failures: 10_000 } });
  cleanup.defer(() => admin.stop());
  await activateUser(admin, 'admin', 'admin123', PASSWORD);
  const login = async () => {
    const response = await postJson(`${admin.url}/api/auth/login`, { username: 'admin', password: PASSWORD });
    if (response.status !== 200) throw new Error(`вход: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  };
  await login();
  const serial = await timed(loginCount, login);
  const parallel = await timed(loginCount, login, 4);
  console.log(`  вход: bcrypt ${fmt(bareSerial, 1)}/с (×4: ${fmt(bareParallel, 1)}/с), вход ${fmt(serial, 1)}/с (×4: ${fmt(parallel, 1)}/с)`);
  return [
    [`Вход (bcrypt cost ${BCRYPT_COST}), последовательно`, `${fmt(bareSerial, 1)} /с`, `${fmt(serial, 1)} /с`, `${fmt(serial / bareSerial, 2)}×`],
    [`Вход (bcrypt cost ${BCRYPT_COST}), параллельность 4`, `${fmt(bareParallel, 1)} /с`, `${fmt(parallel, 1)} /с`, `${fmt(parallel / bareParallel, 2)}×`],
  ];
}

const HEADER: Row = ['Сценарий', 'Эталон', 'ArtStore', 'Отношение'];

await runBenchmark(
  'auth',
  async () => {
    const started = performance.now();
    const m = machine();
    console.log(`bench auth: ${tokenCount} токенов, ${loginCount} входов`);
    const rows = [...(await tokenVerification()), ...(await logins())];
    console.log(`\n${textTable(HEADER, rows)}\n\nпрогон занял ${fmt((performance.now() - started) / 1000)} с`);
    await publishResults('auth', publish, () => `## auth — проверка токенов в сервисе и вход

- Дата: ${m.date}
- Машина: ${m.cpus} CPU, ${m.cpuModel}, ${m.memory} ОЗУ, ${m.os}; Node ${m.node}
- Команда: \`${invocation('npm run bench -- auth')}\`
- Проверка токена: ${tokenCount} разных access-токенов RS256 (2048 бит) тестового издателя, JWKS локальный
  (один запрос при первом токене). Эталон — голая проверка подписи \`crypto.verify('RSA-SHA256')\`
  тех же токенов; ArtStore — \`createJwtVerifier\` (разбор, allow-list алгоритма, \`iss\`/\`aud\`/\`typ\`/сроки,
  подпись через jose) и он же на одном и том же токене (кеш проверенных до \`exp\`).
- Вход: ${loginCount} входов \`POST /api/auth/login\` admin-module в процессе (PGlite, bcrypt cost ${BCRYPT_COST}, выдача
  access- и refresh-токена, учёт неудач); эталон — голый \`bcrypt.verify\` той же стоимости. Вход
  упирается в bcrypt: это и есть его цена, намеренная (AD-1). Пул потоков libuv — 4 потока, bcrypt
  считается в них: больше ~2 входов в секунду на ядро не будет при любой параллельности.
- Проверка разных токенов медленнее голой RS256 в основном из-за jose (WebCrypto, асинхронно): на
  каждом запросе с тем же токеном это скрывает кеш проверенных.

${markdownTable(HEADER, rows)}
`);
  },
  cleanup,
);
