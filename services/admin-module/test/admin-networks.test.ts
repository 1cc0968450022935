// Административные маршруты только из разрешённых сетей (SPEC AD-11); адрес клиента за доверенным
// прокси — из X-Forwarded-For.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPgliteDatabase } from '@artstore/adapters';
import { isArtError } from '@artstore/core';
import { parseNetworks } from '../src/http/admin-network-guard.js';
import { activateAdmin, cyrillic, expectProblem, newMasterKey, startAdmin } from './helpers.js';

describe('admin-module: сети для административных маршрутов', () => {
  it('разбор списка: адреса и CIDR обеих версий; мусор и неверный префикс — CONFIG_INVALID', () => {
    const list = parseNetworks(['10.0.0.0/8', '192.168.1.5', 'fd00::/8', '::1']);
    assert.equal(list.check('10.20.30.40', 'ipv4'), true);
    assert.equal(list.check('11.0.0.1', 'ipv4'), false);
    assert.equal(list.check('192.168.1.5', 'ipv4'), true);
    assert.equal(list.check('fd12::1', 'ipv6'), true);
    assert.equal(list.check('::1', 'ipv6'), true);
    for (const bad of ['10.0.0.0/33', 'localhost', '10.0.0.0/x', '::/129']) {
      assert.throws(
        () => parseNetworks([bad]),
        (error) => isArtError(error, 'CONFIG_INVALID'),
        bad,
      );
    }
  });

  it('вне списка — 403 ADMIN_NETWORK_DENIED; вход и свой профиль работают; за доверенным прокси — адрес из X-Forwarded-For', async () => {
    const db = await createPgliteDatabase();
    const admin = await startAdmin({ db, masterKey: newMasterKey(), adminNetworks: ['10.0.0.0/8'] });
    try {
      const { token } = await activateAdmin(admin, 'admin', 'admin123', cyrillic(30));
      const get = (path: string, headers: Record<string, string> = {}) =>
        fetch(`${admin.url}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
      await expectProblem(await get('/api/users'), 403, 'ADMIN_NETWORK_DENIED');
      await expectProblem(await get('/api/users/changes'), 403, 'ADMIN_NETWORK_DENIED');
      assert.equal((await get('/api/users/me')).status, 200);
      // Тест стучится с 127.0.0.1 — это доверенный прокси по умолчанию (http.trusted_proxies).
      assert.equal((await get('/api/users', { 'x-forwarded-for': '10.1.2.3' })).status, 200);
      await expectProblem(
        await get('/api/users', { 'x-forwarded-for': '203.0.113.9' }),
        403,
        'ADMIN_NETWORK_DENIED',
      );
    } finally {
      await admin.stop();
      await db.close();
    }
  });
});
