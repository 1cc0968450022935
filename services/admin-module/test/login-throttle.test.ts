// Перебор паролей и срок пароля (SPEC AD-1, AD-2; ASVS 2.2.1): после порога неудач вход закрыт —
// даже с верным паролем и одинаково для несуществующих имён; порог и на адрес; окно скользящее;
// пароль старше password_max_age_days требует смены; хвост сверх 72 байт не проходит (предел bcrypt).
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createPgliteDatabase } from '@artstore/adapters';
import type { Database } from '@artstore/core';
import {
  activateUser,
  type AdminOptions,
  cyrillic,
  expectProblem,
  expectToken,
  newMasterKey,
  postJson,
  type RunningAdmin,
  startAdmin,
} from './helpers.js';

/** Пароль admin после обязательной смены: ровно 72 байта UTF-8. */
const PASSWORD = cyrillic(36);

async function withAdmin(
  lockout: AdminOptions['lockout'],
  body: (admin: RunningAdmin, db: Database) => Promise<void>,
): Promise<void> {
  const db = await createPgliteDatabase();
  const admin = await startAdmin({ db, masterKey: newMasterKey(), lockout });
  try {
    await body(admin, db);
  } finally {
    await admin.stop();
    await db.close();
  }
}

const login = (admin: RunningAdmin, username: string, password: string) =>
  postJson(`${admin.url}/api/auth/login`, { username, password });

/** Первый вход admin/admin123 и обязательная смена на PASSWORD. */
const bootstrap = (admin: RunningAdmin) => activateUser(admin, 'admin', 'admin123', PASSWORD);

describe('admin-module: ограничение неудачных входов и срок пароля', () => {
  it('после порога неудач учётная запись закрыта и для верного пароля; несуществующее имя — так же; успех снимает счёт', async () => {
    await withAdmin({ account_failures: 3, ip_failures: 1000 }, async (admin) => {
      await bootstrap(admin);
      // Две неудачи, успех, снова две: счёт снят успехом, вход открыт.
      for (let i = 0; i < 2; i++)
        await expectProblem(
          await login(admin, 'admin', `неверный-пароль-${i}`),
          401,
          'AUTH_INVALID_CREDENTIALS',
        );
      await expectToken(await login(admin, 'admin', PASSWORD));
      for (let i = 0; i < 3; i++)
        await expectProblem(
          await login(admin, 'admin', `неверный-пароль-${i}`),
          401,
          'AUTH_INVALID_CREDENTIALS',
        );
      const locked = await login(admin, 'admin', PASSWORD);
      const problem = await expectProblem(locked, 429, 'AUTH_LOGIN_LOCKED');
      const retryAfter = Number(locked.headers.get('retry-after'));
      assert.ok(retryAfter > 0 && retryAfter <= 3600, `Retry-After: ${retryAfter}`);
      assert.equal(problem.retry_after_seconds, retryAfter);
      // Имя в другом регистре — та же учётная запись.
      await expectProblem(await login(admin, 'ADMIN', PASSWORD), 429, 'AUTH_LOGIN_LOCKED');
      // Несуществующее имя после тех же неудач отвечает так же: закрытый вход не выдаёт, есть ли имя.
      for (let i = 0; i < 3; i++)
        await expectProblem(
          await login(admin, 'nobody', `пароль-${i}-абвгд`),
          401,
          'AUTH_INVALID_CREDENTIALS',
        );
      await expectProblem(await login(admin, 'nobody', PASSWORD), 429, 'AUTH_LOGIN_LOCKED');
    });
  });

  it('порог на адрес: неудачи по разным именам с одного адреса закрывают вход всем именам с него', async () => {
    await withAdmin({ account_failures: 100, ip_failures: 4 }, async (admin) => {
      await bootstrap(admin);
      for (let i = 0; i < 4; i++)
        await expectProblem(
          await login(admin, `user-${i}`, 'пароль-пароль-1'),
          401,
          'AUTH_INVALID_CREDENTIALS',
        );
      await expectProblem(await login(admin, 'admin', PASSWORD), 429, 'AUTH_LOGIN_LOCKED');
    });
  });

  it('окно скользящее: неудачи старше окна не считаются', async () => {
    await withAdmin({ account_failures: 2, ip_failures: 1000, window: 1500 }, async (admin) => {
      await bootstrap(admin);
      for (let i = 0; i < 2; i++)
        await expectProblem(
          await login(admin, 'admin', `неверный-${i}-пароль`),
          401,
          'AUTH_INVALID_CREDENTIALS',
        );
      await expectProblem(await login(admin, 'admin', PASSWORD), 429, 'AUTH_LOGIN_LOCKED');
      await sleep(1600);
      await expectToken(await login(admin, 'admin', PASSWORD));
    });
  });

  it('пароль старше 90 дней требует смены; хвост сверх 72 байт к верному паролю не входит', async () => {
    await withAdmin(undefined, async (admin, db) => {
      await bootstrap(admin);
      assert.equal(
        (await expectToken(await login(admin, 'admin', PASSWORD))).password_change_required,
        false,
      );
      // bcrypt сверяет только первые 72 байта: без проверки длины этот вход прошёл бы.
      await expectProblem(await login(admin, 'admin', `${PASSWORD}я`), 401, 'AUTH_INVALID_CREDENTIALS');
      await db.query(
        `update admin_users set password_changed_at = now() - interval '91 days' where username = 'admin'`,
      );
      assert.equal((await expectToken(await login(admin, 'admin', PASSWORD))).password_change_required, true);
    });
  });
});
