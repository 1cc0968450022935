import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isArtError } from '../errors.js';
import { permissions, permissionsOf, rolePermissions } from './permissions.js';
import { createPrincipal, requirePermission } from './principal.js';

const base = {
  subject: 'u1',
  username: 'alice',
  kind: 'user' as const,
  mustChangePassword: false,
  tokenId: 'j1',
  token: 't',
};

describe('permissionsOf (SPEC AD-5)', () => {
  it('объединяет разрешения ролей', () => {
    assert.deepEqual([...permissionsOf(['reader'])], ['files:read']);
    assert.deepEqual(
      new Set(permissionsOf(['reader', 'auditor'])),
      new Set(['files:read', 'audit:read', 'retention:read']),
    );
    assert.deepEqual(new Set(permissionsOf(['admin'])), new Set(permissions));
  });

  it('неизвестные роли и имена свойств Object.prototype не дают ничего', () => {
    assert.equal(permissionsOf([]).size, 0);
    assert.equal(permissionsOf(['superuser']).size, 0);
    for (const role of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const granted = permissionsOf([role]);
      assert.equal(granted.size, 0, `роль «${role}» дала ${[...granted].map(String).join(', ')}`);
    }
  });

  it('каждая роль ссылается только на известные разрешения', () => {
    for (const [role, granted] of Object.entries(rolePermissions)) {
      for (const p of granted) assert.ok((permissions as readonly string[]).includes(p), `${role}: ${p}`);
    }
  });
});

describe('createPrincipal / requirePermission', () => {
  it('разрешения вычисляются из ролей', () => {
    const principal = createPrincipal({ ...base, roles: ['uploader'] });
    assert.ok(principal.permissions.has('files:write'));
    assert.ok(!principal.permissions.has('files:delete'));
  });

  it('без принципала — AUTH_TOKEN_MISSING, без разрешения — FORBIDDEN с именем разрешения', () => {
    assert.throws(
      () => requirePermission(undefined, 'files:read'),
      (e) => isArtError(e, 'AUTH_TOKEN_MISSING'),
    );
    const reader = createPrincipal({ ...base, roles: ['reader'] });
    assert.equal(requirePermission(reader, 'files:read'), reader);
    assert.throws(
      () => requirePermission(reader, 'files:delete'),
      (e) => isArtError(e, 'FORBIDDEN') && e.status === 403 && e.extra?.permission === 'files:delete',
    );
  });
});
