import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isArtError } from '../errors.js';
import { createTestTokenIssuer, type TestTokenIssuer } from '../testing/token-fixture.js';
import { formatGrant, isScope, parseGrant, parseGrantsClaim, SCOPE_PATTERN } from './grants.js';
import { createJwtVerifier } from './jwt-verifier.js';
import { requirePermission } from './principal.js';

describe('гранты: формат (SPEC AD-5)', () => {
  it('область — только se:<element_id> по шаблону storage.element_id', () => {
    for (const scope of ['se:se-a', 'se:0', `se:a${'b'.repeat(62)}`]) {
      assert.ok(isScope(scope), scope);
      assert.match(scope, SCOPE_PATTERN);
    }
    for (const scope of [
      'se:',
      'se:SE-A',
      'se:-a',
      'se:a_b',
      `se:a${'b'.repeat(63)}`,
      'se:a\n',
      'se:a b',
      'SE:a',
      'bucket:a',
      '__proto__:a',
      'constructor:a',
      'se',
      '',
    ]) {
      assert.ok(!isScope(scope), JSON.stringify(scope));
      assert.doesNotMatch(scope, SCOPE_PATTERN);
    }
  });

  it('компактная запись роль@область туда и обратно; кривая — null', () => {
    const grant = { role: 'uploader', scope: 'se:se-a' } as const;
    assert.equal(formatGrant(grant), 'uploader@se:se-a');
    assert.deepEqual(parseGrant('uploader@se:se-a'), grant);
    for (const text of [
      'uploader',
      'uploader@',
      '@se:a',
      'uploader@se:A',
      'Uploader@se:a',
      '__proto__@se:a',
      'a@b@se:a',
      'reader@se:a,se:b',
    ]) {
      assert.equal(parseGrant(text), null, text);
    }
  });

  it('claim grants: нет — пусто; не массив строк или запись не по формату — AUTH_TOKEN_INVALID', () => {
    assert.deepEqual(parseGrantsClaim(undefined), []);
    assert.deepEqual(parseGrantsClaim(['reader@se:b', 'operator@se:a']), [
      { role: 'reader', scope: 'se:b' },
      { role: 'operator', scope: 'se:a' },
    ]);
    for (const claim of [
      null,
      'reader@se:b',
      { 0: 'reader@se:b' },
      [1],
      ['reader@se:b', null],
      ['reader@bucket:b'],
      [['reader@se:b']],
    ]) {
      assert.throws(
        () => parseGrantsClaim(claim),
        (e) => isArtError(e, 'AUTH_TOKEN_INVALID') && e.status === 401,
        JSON.stringify(claim),
      );
    }
  });
});

describe('гранты в проверке токена', () => {
  let issuer: TestTokenIssuer;
  before(async () => {
    issuer = await createTestTokenIssuer();
  });
  after(() => issuer.close());
  const verifier = () =>
    createJwtVerifier({
      jwksUrl: issuer.jwksUrl,
      issuer: issuer.issuer,
      audience: issuer.audience,
      cooldownMs: 0,
      clockToleranceSeconds: 0,
    });

  it('подписанный токен с грантами даёт принципала с правами только в их области', async () => {
    const token = await issuer.mint({ roles: [], grants: ['uploader@se:se-a'] });
    const principal = await verifier().verify(token);
    assert.deepEqual(principal.grants, [{ role: 'uploader', scope: 'se:se-a' }]);
    assert.equal(requirePermission(principal, 'files:write', { se: 'se-a' }), principal);
    assert.throws(
      () => requirePermission(principal, 'files:write', { se: 'se-b' }),
      (e) => isArtError(e, 'FORBIDDEN'),
    );
  });

  it('подписанный токен с кривым полем grants — 401 AUTH_TOKEN_INVALID, а не токен без грантов', async () => {
    const checker = verifier();
    for (const grants of ['admin@se:a', ['admin@se:A'], ['admin'], [{ role: 'admin', scope: 'se:a' }]]) {
      const token = await issuer.mint({ roles: ['reader'], grants });
      await assert.rejects(
        checker.verify(token),
        (e) => isArtError(e, 'AUTH_TOKEN_INVALID'),
        JSON.stringify(grants),
      );
    }
  });
});
