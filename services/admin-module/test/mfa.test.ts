// Двухфакторная аутентификация TOTP (SPEC AD-6) на PGlite и PostgreSQL: подключение и otpauth URI,
// вход в два шага, код принимается один раз (повтор — отказ, журнал и аудит), из двух одновременных
// входов с одним кодом проходит один, резервные коды одноразовые, mfa_token и refresh-токен — не
// access-токены, роль admin без MFA ничего не может, кроме её подключения, перебор кодов упирается в
// предел неудачных входов, сброс MFA системного администратора — только с одобрения второго.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabaseBackends } from '@artstore/adapters/testing';
import type { Database } from '@artstore/core';
import { createMemoryLogger, type MemoryLogger } from '@artstore/core/testing';
import { generate } from 'otplib';
import {
  activateAdmin,
  activateUser,
  cyrillic,
  decodeJwt,
  enrolMfa,
  expectMfaChallenge,
  expectProblem,
  expectToken,
  newMasterKey,
  postJson,
  type RunningAdmin,
  startAdmin,
  totpCode,
} from './helpers.js';

const PASSWORD = cyrillic(30);
const RECOVERY_CODE = /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/;
/** Предел неудач на учётную запись (auth.lockout.account_failures) — больше предела одного mfa_token (5). */
const ACCOUNT_FAILURES = 8;

/** Заведомо неверный код: код того же секрета, но на n часов раньше — вне допуска в один шаг. */
const staleCode = (secret: string, hoursAgo: number) =>
  generate({ secret, epoch: Math.floor(Date.now() / 1000) - hoursAgo * 3600 });
/**
 * Верный сейчас код — для запросов, которые должны быть отвергнуты до сверки кода (totpCode сберегается
 * для принимаемых: сервер принимает каждый шаг один раз, лишний расход заставил бы ждать смены шага).
 */
const currentCode = (secret: string) => generate({ secret });

function mfaSuite(name: string, open: () => Promise<{ db: Database; close: () => Promise<void> }>) {
  describe(`admin-module: двухфакторная аутентификация (${name})`, () => {
    let db: Database;
    let close: () => Promise<void>;
    let admin: RunningAdmin;
    let journal: MemoryLogger;
    let adminToken: string;
    let adminId: string;

    const url = (path: string) => `${admin.url}${path}`;
    const call = (method: string, path: string, token: string, body?: unknown) =>
      fetch(url(path), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const login = (username: string) => postJson(url('/api/auth/login'), { username, password: PASSWORD });
    const verify = (mfaToken: string, code: string) =>
      postJson(url('/api/auth/mfa/verify'), { mfa_token: mfaToken, code });
    const auditCount = async (action: string, target: string) => {
      const { rows } = await db.query<{ n: number }>(
        'select count(*)::int as n from admin_audit_log where action = $1 and target = $2',
        [action, target],
      );
      return rows[0]!.n;
    };
    /** Пользователь с ролями, прошедший первый вход: его токен (возможно, с mfa_enrol) и id. */
    async function newUser(username: string, roles: string[]): Promise<{ id: string; token: string }> {
      const created = await call('POST', '/api/users', adminToken, {
        username,
        password: 'временный-пароль-1',
        roles,
      });
      assert.equal(created.status, 201, await created.clone().text());
      return activateUser(admin, username, 'временный-пароль-1', PASSWORD);
    }
    /** Пользователь необязательной роли с подключённой MFA. */
    async function newMfaUser(username: string) {
      const user = await newUser(username, ['uploader']);
      return { id: user.id, ...(await enrolMfa(admin, user.token)) };
    }

    before(async () => {
      ({ db, close } = await open());
      journal = createMemoryLogger('warn');
      admin = await startAdmin({
        db,
        masterKey: newMasterKey(),
        logger: journal.logger,
        lockout: { account_failures: ACCOUNT_FAILURES, ip_failures: 10_000 },
      });
      ({ token: adminToken, id: adminId } = await activateAdmin(admin, 'admin', 'admin123', PASSWORD));
    });
    after(async () => {
      await admin?.stop();
      await close?.();
    });

    it('подключение: otpauth URI с секретом, секрет в БД зашифрован, неверный код не подтверждает, резервных кодов 10', async () => {
      const { id, token } = await newUser('ivan', ['reader']);
      const enrol = await postJson(url('/api/auth/mfa/enrol'), {}, token);
      assert.equal(enrol.status, 200);
      const { secret, otpauth_uri } = (await enrol.json()) as { secret: string; otpauth_uri: string };
      assert.match(secret, /^[A-Z2-7]{32}$/, '160 бит в base32');
      const uri = new URL(otpauth_uri);
      assert.equal(uri.protocol, 'otpauth:');
      assert.equal(uri.host, 'totp');
      assert.equal(decodeURIComponent(uri.pathname), '/ArtStore:ivan');
      assert.equal(uri.searchParams.get('secret'), secret);
      assert.equal(uri.searchParams.get('issuer'), 'ArtStore');

      const { rows } = await db.query<{ secret_encrypted: string; confirmed_at: Date | null }>(
        'select secret_encrypted, confirmed_at from admin_mfa where user_id = $1',
        [id],
      );
      assert.match(rows[0]!.secret_encrypted, /^v1\./);
      assert.ok(!rows[0]!.secret_encrypted.includes(secret), 'секрет TOTP лежит в БД открытым');
      assert.equal(rows[0]!.confirmed_at, null, 'до подтверждения подключение не действует');
      // Неподтверждённая MFA не меняет вход: пароль — сразу токены.
      await expectToken(await login('ivan'));

      const confirm = (code: string) => postJson(url('/api/auth/mfa/confirm'), { code }, token);
      await expectProblem(await confirm(await staleCode(secret, 1)), 401, 'MFA_CODE_INVALID');
      const confirmed = (await expectToken(await confirm(await totpCode(secret)))) as Awaited<
        ReturnType<typeof expectToken>
      > & { recovery_codes: string[] };
      assert.equal(confirmed.recovery_codes.length, 10);
      assert.equal(new Set(confirmed.recovery_codes).size, 10);
      for (const code of confirmed.recovery_codes) assert.match(code, RECOVERY_CODE);
      await expectProblem(
        await postJson(url('/api/auth/mfa/enrol'), {}, confirmed.access_token),
        409,
        'MFA_ALREADY_ENABLED',
      );
      await expectMfaChallenge(await login('ivan'));
      assert.equal(await auditCount('auth.mfa.enabled', id), 1);
    });

    it('вход: пароль — mfa_token, код — пара токенов; тот же код при новом входе — MFA_CODE_REPLAYED, журнал и аудит', async () => {
      const { id, secret } = await newMfaUser('petr');
      const challenge = await expectMfaChallenge(await login('petr'));
      assert.equal(challenge.expires_in, 300);
      const { rows } = await db.query<{ n: number }>(
        'select count(*)::int as n from admin_mfa_challenges where token_hash = $1',
        [challenge.mfa_token],
      );
      assert.equal(rows[0]!.n, 0, 'mfa_token хранится только хешем');

      const code = await totpCode(secret);
      const session = await expectToken(await verify(challenge.mfa_token, code));
      assert.equal(session.mfa_enrolment_required, false);
      assert.equal((await call('GET', '/api/users/me', session.access_token)).status, 200);
      // mfa_token одноразовый.
      await expectProblem(await verify(challenge.mfa_token, code), 401, 'MFA_CHALLENGE_INVALID');

      const again = await expectMfaChallenge(await login('petr'));
      await expectProblem(await verify(again.mfa_token, code), 401, 'MFA_CODE_REPLAYED');
      assert.equal(await auditCount('auth.mfa.replay_refused', id), 1);
      assert.match(journal.text(), /"username":"petr"[^\n]*"msg":"auth_mfa_replay"/);
    });

    it('два одновременных входа с одним кодом: проходит ровно один', async () => {
      const { secret } = await newMfaUser('olga');
      const first = await expectMfaChallenge(await login('olga'));
      const second = await expectMfaChallenge(await login('olga'));
      const code = await totpCode(secret);
      const answers = await Promise.all([verify(first.mfa_token, code), verify(second.mfa_token, code)]);
      assert.deepEqual(
        answers.map((r) => r.status).sort(),
        [200, 401],
        answers.map((r) => r.status).join(','),
      );
      const loser = answers.find((r) => r.status === 401)!;
      await expectProblem(loser, 401, 'MFA_CODE_REPLAYED');
      await answers.find((r) => r.status === 200)!.body?.cancel();
    });

    it('резервный код действует один раз; новые коды — только по TOTP, прежние перестают действовать', async () => {
      const { id, token, secret, recoveryCodes } = await newMfaUser('nina');
      const [first, second] = recoveryCodes as [string, string];
      // Код переписывают с бумаги: регистр и дефисы не важны.
      const viaRecovery = await expectMfaChallenge(await login('nina'));
      await expectToken(await verify(viaRecovery.mfa_token, first.toUpperCase().replaceAll('-', '')));
      const reused = await expectMfaChallenge(await login('nina'));
      await expectProblem(await verify(reused.mfa_token, first), 401, 'MFA_CODE_INVALID');
      const { rows } = await db.query<{ details: { remaining: number } }>(
        `select details from admin_audit_log where action = 'auth.mfa.recovery_code_used' and target = $1`,
        [id],
      );
      assert.deepEqual(
        rows.map((r) => r.details.remaining),
        [9],
      );

      const regenerate = (code: string) => postJson(url('/api/auth/mfa/recovery-codes'), { code }, token);
      await expectProblem(await regenerate(second), 401, 'MFA_CODE_INVALID');
      const fresh = await regenerate(await totpCode(secret));
      assert.equal(fresh.status, 200);
      const { recovery_codes: renewed } = (await fresh.json()) as { recovery_codes: string[] };
      assert.equal(renewed.length, 10);
      const afterRenewal = await expectMfaChallenge(await login('nina'));
      await expectProblem(await verify(afterRenewal.mfa_token, second), 401, 'MFA_CODE_INVALID');
      await expectToken(await verify(afterRenewal.mfa_token, renewed[0]!));
    });

    it('mfa_token и refresh-токен вместо access-токена — 401; refresh-токен вместо mfa_token и истёкший вход — MFA_CHALLENGE_INVALID', async () => {
      const { secret } = await newMfaUser('gleb');
      const challenge = await expectMfaChallenge(await login('gleb'));
      await expectProblem(await call('GET', '/api/users/me', challenge.mfa_token), 401, 'AUTH_TOKEN_INVALID');
      const session = await expectToken(await verify(challenge.mfa_token, await totpCode(secret)));
      await expectProblem(await call('GET', '/api/users/me', session.refresh_token!), 401, 'AUTH_TOKEN_INVALID');
      await expectProblem(
        await verify(session.refresh_token!, await currentCode(secret)),
        401,
        'MFA_CHALLENGE_INVALID',
      );

      const expiring = await expectMfaChallenge(await login('gleb'));
      await db.query(`update admin_mfa_challenges set expires_at = now() - interval '1 second'`);
      await expectProblem(await verify(expiring.mfa_token, await currentCode(secret)), 401, 'MFA_CHALLENGE_INVALID');
    });

    it('роль admin без MFA: MFA_ENROLMENT_REQUIRED везде, кроме подключения, профиля, выхода; после подключения — полный доступ', async () => {
      const boss = await newUser('boss', ['admin']);
      assert.equal(decodeJwt(boss.token).payload.mfa_enrol, true);
      await expectProblem(await call('GET', '/api/users', boss.token), 403, 'MFA_ENROLMENT_REQUIRED');
      await expectProblem(await call('GET', '/api/audit', boss.token), 403, 'MFA_ENROLMENT_REQUIRED');
      const me = await call('GET', '/api/users/me', boss.token);
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { mfa_enrolment_required: boolean }).mfa_enrolment_required, true);
      // Вход паролем без подключённой MFA — снова токен, который требует её подключения.
      const relogin = await expectToken(await login('boss'));
      assert.equal(relogin.mfa_enrolment_required, true);
      await expectProblem(await call('GET', '/api/users', relogin.access_token), 403, 'MFA_ENROLMENT_REQUIRED');

      const enrolled = await enrolMfa(admin, relogin.access_token);
      assert.equal(decodeJwt(enrolled.token).payload.mfa_enrol, undefined);
      assert.equal((await call('GET', '/api/users', enrolled.token)).status, 200);
      // Сессии, начатые одним паролем, после подключения завершены.
      await expectProblem(
        await postJson(url('/api/auth/refresh'), { refresh_token: relogin.refresh_token }),
        401,
        'AUTH_REFRESH_INVALID',
      );
      // Обязательную MFA владелец не отключит.
      await expectProblem(
        await call('DELETE', '/api/auth/mfa', enrolled.token, { code: await currentCode(enrolled.secret) }),
        403,
        'FORBIDDEN',
      );
      await expectMfaChallenge(await login('boss'));
    });

    it('перебор кодов: mfa_token гаснет после 5 неверных, неудачи копятся через новый вход паролем — 429 и с верным кодом', async () => {
      const { secret } = await newMfaUser('vera');
      const first = await expectMfaChallenge(await login('vera'));
      for (let i = 1; i <= 5; i++)
        await expectProblem(await verify(first.mfa_token, await staleCode(secret, i)), 401, 'MFA_CODE_INVALID');
      await expectProblem(await verify(first.mfa_token, await currentCode(secret)), 401, 'MFA_CHALLENGE_INVALID');
      // Верный пароль не обнуляет счёт: иначе вход между попытками давал бы бесконечный перебор.
      const second = await expectMfaChallenge(await login('vera'));
      for (let i = 6; i < 6 + ACCOUNT_FAILURES - 5; i++)
        await expectProblem(await verify(second.mfa_token, await staleCode(secret, i)), 401, 'MFA_CODE_INVALID');
      await expectProblem(await verify(second.mfa_token, await currentCode(secret)), 429, 'AUTH_LOGIN_LOCKED');
      await expectProblem(await login('vera'), 429, 'AUTH_LOGIN_LOCKED');
    });

    it('отключение владельцем: только с верным кодом; после — вход без второго шага', async () => {
      const { id, token, secret } = await newMfaUser('lena');
      const disable = (code: string) => call('DELETE', '/api/auth/mfa', token, { code });
      await expectProblem(await disable(await staleCode(secret, 1)), 401, 'MFA_CODE_INVALID');
      assert.equal((await disable(await totpCode(secret))).status, 204);
      await expectToken(await login('lena'));
      assert.equal(await auditCount('auth.mfa.disabled', id), 1);
      await expectProblem(await disable(await currentCode(secret)), 409, 'MFA_NOT_ENABLED');
    });

    it('сброс администратором: обычный пользователь — сразу и в аудите; системный администратор — только с одобрения второго', async () => {
      const { id } = await newMfaUser('anna');
      const reset = (target: string, token: string) => call('DELETE', `/api/users/${target}/mfa`, token);
      const mfaEnabled = async () =>
        ((await (await call('GET', `/api/users/${id}`, adminToken)).json()) as { mfa_enabled: boolean }).mfa_enabled;
      assert.equal(await mfaEnabled(), true, 'администратор видит подключённый второй фактор');
      assert.equal((await reset(id, adminToken)).status, 200);
      assert.equal(await mfaEnabled(), false);
      await expectToken(await login('anna'));
      const { rows } = await db.query<{ details: { mfa_reset?: boolean } }>(
        `select details from admin_audit_log where action = 'user.changed' and target = $1`,
        [id],
      );
      assert.deepEqual(
        rows.map((r) => r.details.mfa_reset),
        [true],
      );
      await expectProblem(await reset(id, adminToken), 409, 'MFA_NOT_ENABLED');
      await expectProblem(await reset(adminId, adminToken), 403, 'FORBIDDEN');

      const created = await call('POST', '/api/users', adminToken, {
        username: 'deputy',
        password: 'временный-пароль-1',
        roles: ['admin'],
      });
      assert.equal(created.status, 201);
      const deputy = await activateAdmin(admin, 'deputy', 'временный-пароль-1', PASSWORD);
      const request = await reset(adminId, deputy.token);
      assert.equal(request.status, 202);
      const { change_id: changeId } = (await request.json()) as { change_id: string };
      // До одобрения MFA системного администратора действует.
      await expectMfaChallenge(await login('admin'));
      await expectProblem(
        await call('POST', `/api/users/changes/${changeId}/decision`, deputy.token, { approve: true }),
        409,
        'USER_CHANGE_SELF_APPROVAL',
      );
      const approved = await call('POST', `/api/users/changes/${changeId}/decision`, adminToken, {
        approve: true,
      });
      assert.equal(approved.status, 200);
      const afterReset = await expectToken(await login('admin'));
      assert.equal(afterReset.mfa_enrolment_required, true, 'роль admin снова требует подключения');
    });
  });
}

for (const backend of testDatabaseBackends('admin_mfa')) mfaSuite(backend.name, () => backend.open());
