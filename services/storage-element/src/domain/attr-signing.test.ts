import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canonicalJson } from '@artstore/core';
import { loadOrCreateAttrSigner, verifyAttrSignature, type AttrIntegrity } from './attr-signing.js';

describe('канонический JSON', () => {
  it('ключи по возрастанию на всех уровнях, без пробелов, undefined опускается', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: null, y: 'ё' }], c: undefined } }), '{"a":{"d":[3,{"y":"ё","z":null}]},"b":1}');
  });
  it('не принимает NaN и бесконечность', () => {
    assert.throws(() => canonicalJson({ x: Number.NaN }));
  });
});

describe('подпись attr (Ed25519)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'artstore-sign-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('ключ создаётся один раз (0600) и переиспользуется', async () => {
    const path = join(dir, 'keys', 'se', 'k.pem');
    const first = await loadOrCreateAttrSigner(path);
    const second = await loadOrCreateAttrSigner(path);
    assert.equal(first.publicKey.key_id, second.publicKey.key_id);
    assert.match(first.publicKey.key_id, /^[0-9a-f]{32}$/);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.match(await readFile(path, 'utf8'), /BEGIN PRIVATE KEY/);
  });

  it('подпись проверяется; любое изменение поля, ключа или подписи — invalid', async () => {
    const signer = await loadOrCreateAttrSigner(join(dir, 'a.pem'));
    const attr = signer.sign<{ id: string; size: number; metadata: { tags: string[] }; integrity?: AttrIntegrity }>({
      id: 'x',
      size: 10,
      metadata: { tags: ['a'] },
    });
    const keys = [signer.publicKey];
    assert.equal(verifyAttrSignature(attr, keys), 'valid');
    // Порядок ключей в файле не важен: подписан канонический вид.
    const reordered = JSON.parse(JSON.stringify({ metadata: attr.metadata, integrity: attr.integrity, size: 10, id: 'x' })) as typeof attr;
    assert.equal(verifyAttrSignature(reordered, keys), 'valid');
    assert.equal(verifyAttrSignature({ ...attr, size: 11 }, keys), 'invalid');
    assert.equal(verifyAttrSignature({ ...attr, metadata: { tags: ['b'] } }, keys), 'invalid');
    const signature = Buffer.from(attr.integrity!.signature, 'base64url');
    signature[0]! ^= 1;
    assert.equal(verifyAttrSignature({ ...attr, integrity: { ...attr.integrity!, signature: signature.toString('base64url') } }, keys), 'invalid');
    assert.equal(verifyAttrSignature({ ...attr, integrity: { ...attr.integrity!, key_id: '0'.repeat(32) } }, keys), 'unknown_key');
    const { integrity: _removed, ...unsigned } = attr;
    assert.equal(verifyAttrSignature({ ...unsigned, integrity: undefined }, keys), 'unsigned');
    const other = await loadOrCreateAttrSigner(join(dir, 'b.pem'));
    assert.equal(verifyAttrSignature(attr, [other.publicKey]), 'unknown_key');
  });
});
