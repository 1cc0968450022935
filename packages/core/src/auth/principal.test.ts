import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isArtError } from '../errors.js';
import { permissions, permissionsOf, rolePermissions } from './permissions.js';
import {
  allowedElements,
  createPrincipal,
  requirePermission,
  requirePermissionSomewhere,
} from './principal.js';

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

describe('гранты с областью: requirePermission с ресурсом (SPEC AD-5)', () => {
  const scoped = createPrincipal({
    ...base,
    roles: ['reader'],
    grants: [
      { role: 'uploader', scope: 'se:se-a' },
      { role: 'operator', scope: 'se:se-b' },
      { role: 'admin', scope: 'se:se-c' },
    ],
  });
  const forbidden = (permission: string, scope?: string) => (e: unknown) =>
    isArtError(e, 'FORBIDDEN') &&
    e.status === 403 &&
    e.extra?.permission === permission &&
    e.extra?.scope === scope;

  it('глобальная роль действует на любом ресурсе и без ресурса', () => {
    assert.equal(requirePermission(scoped, 'files:read'), scoped);
    assert.equal(requirePermission(scoped, 'files:read', { se: 'se-z' }), scoped);
  });

  it('грант действует только в своей области; отказ называет разрешение и область', () => {
    assert.equal(requirePermission(scoped, 'files:write', { se: 'se-a' }), scoped);
    assert.throws(
      () => requirePermission(scoped, 'files:write', { se: 'se-z' }),
      forbidden('files:write', 'se:se-z'),
    );
    assert.throws(
      () => requirePermission(scoped, 'files:delete', { se: 'se-a' }),
      forbidden('files:delete', 'se:se-a'),
    );
    assert.equal(requirePermission(scoped, 'files:delete', { se: 'se-b' }), scoped);
    assert.equal(requirePermission(scoped, 'storage:manage', { se: 'se-b' }), scoped);
  });

  it('без ресурса гранты не считаются: admin@se:se-c — не администратор системы', () => {
    assert.equal(requirePermission(scoped, 'users:manage', { se: 'se-c' }), scoped);
    assert.throws(() => requirePermission(scoped, 'users:manage'), forbidden('users:manage'));
    assert.throws(() => requirePermission(scoped, 'files:write'), forbidden('files:write'));
  });

  it('allowedElements: all для глобального разрешения, иначе элементы грантов', () => {
    assert.equal(allowedElements(scoped, 'files:read'), 'all');
    assert.deepEqual(allowedElements(scoped, 'files:write'), new Set(['se-a', 'se-b', 'se-c']));
    assert.deepEqual(allowedElements(scoped, 'files:purge'), new Set(['se-c']));
    assert.deepEqual(allowedElements(createPrincipal({ ...base, roles: [] }), 'files:read'), new Set());
  });

  it('requirePermissionSomewhere: глобально или хоть одним грантом; иначе FORBIDDEN', () => {
    assert.equal(requirePermissionSomewhere(scoped, 'files:write'), scoped);
    assert.equal(requirePermissionSomewhere(scoped, 'audit:read'), scoped);
    const onlyReader = createPrincipal({
      ...base,
      roles: [],
      grants: [{ role: 'reader', scope: 'se:se-a' }],
    });
    assert.throws(() => requirePermissionSomewhere(onlyReader, 'files:write'), forbidden('files:write'));
    assert.throws(
      () => requirePermissionSomewhere(undefined, 'files:read'),
      (e) => isArtError(e, 'AUTH_TOKEN_MISSING'),
    );
  });

  it('грант с ролью — именем свойства Object.prototype ничего не даёт', () => {
    for (const role of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__']) {
      const principal = createPrincipal({ ...base, roles: [], grants: [{ role, scope: 'se:se-a' }] });
      const granted = principal.scopedPermissions.get('se:se-a');
      assert.equal(
        granted?.size ?? 0,
        0,
        `грант «${role}» дал ${[...(granted ?? [])].map(String).join(', ')}`,
      );
      assert.throws(
        () => requirePermission(principal, 'files:read', { se: 'se-a' }),
        forbidden('files:read', 'se:se-a'),
      );
      assert.deepEqual(allowedElements(principal, 'files:read'), new Set());
    }
  });
});
