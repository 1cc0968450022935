import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLocalFsBlobStore } from '@artstore/adapters';
import { isArtError } from '@artstore/core';
import { loadOrCreateAttrSigner } from './attr-signing.js';
import { ensureLayout, LAYOUT_FILE, LAYOUT_MARKER } from './layout.js';

describe('самоописывающий корень SE (BY-1)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'artstore-layout-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('первый старт размечает корень; повторный — проверяет; новый ключ добавляется, старый остаётся', async () => {
    const root = join(dir, 'se');
    const blobs = createLocalFsBlobStore({ root });
    const first = await loadOrCreateAttrSigner(join(dir, 'k1.pem'));
    const layout = await ensureLayout(blobs, 'se-1', first.publicKey);
    assert.equal(await readFile(join(root, LAYOUT_MARKER), 'utf8'), 'artstore_se_1.0\n');
    assert.match(await readFile(join(root, 'README.md'), 'utf8'), /attr\.json/);
    assert.deepEqual(JSON.parse(await readFile(join(root, LAYOUT_FILE), 'utf8')), layout);

    const again = await ensureLayout(blobs, 'se-1', first.publicKey);
    assert.deepEqual(again, layout);

    const second = await loadOrCreateAttrSigner(join(dir, 'k2.pem'));
    const rotated = await ensureLayout(blobs, 'se-1', second.publicKey);
    assert.deepEqual(rotated.signing_keys.map((k) => k.key_id), [first.publicKey.key_id, second.publicKey.key_id]);
    assert.equal(rotated.created_at, layout.created_at);
  });

  it('чужой корень (другой element_id) не открывается', async () => {
    const root = join(dir, 'se-other');
    const blobs = createLocalFsBlobStore({ root });
    const signer = await loadOrCreateAttrSigner(join(dir, 'k3.pem'));
    await ensureLayout(blobs, 'se-a', signer.publicKey);
    await assert.rejects(ensureLayout(blobs, 'se-b', signer.publicKey), (error) => isArtError(error, 'CONFIG_INVALID') && /se-a/.test(error.message));
  });
});
