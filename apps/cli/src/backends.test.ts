import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { it } from 'node:test';
import { createS3BlobStore } from '@artstore/adapters';
import { startTestS3Server } from '@artstore/adapters/testing';
import { loadConfig } from '@artstore/core';
import { createBlobStore } from './backends.js';

void it('storage.type выбирает хранилище байтов; префикс S3 по умолчанию — element_id', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'artstore-cli-blobs-'));
  const s3 = await startTestS3Server();
  try {
    assert.equal(createBlobStore(loadConfig({ env: {} }), dir).kind, 'local');

    const { endpoint, bucket, credentials } = s3.options;
    const config = loadConfig({
      env: { ARTSTORE_STORAGE__S3__SECRET_ACCESS_KEY: credentials!.secretAccessKey },
      overrides: { storage: { element_id: 'se-7', type: 's3', s3: { endpoint, bucket, access_key_id: credentials!.accessKeyId } } },
    });
    const store = createBlobStore(config, dir);
    assert.equal(store.kind, 's3');
    await store.put('2026/a.txt', Readable.from([Buffer.from('x')]));
    const keys: string[] = [];
    for await (const key of createS3BlobStore(s3.options).list!('')) keys.push(key);
    assert.deepEqual(keys, ['se-7/2026/a.txt']);
  } finally {
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
