import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { it } from 'node:test';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';

void it('ключ S3 не попадает в журнал ни из конфигурации, ни из опций адаптера', async () => {
  const config = loadConfig({
    env: {
      ARTSTORE_STORAGE__S3__BUCKET: 'b-1',
      ARTSTORE_STORAGE__S3__ACCESS_KEY_ID: 'AKIA1',
      ARTSTORE_STORAGE__S3__SECRET_ACCESS_KEY: 'very-secret-value',
    },
  });
  const out = new PassThrough();
  const lines: string[] = [];
  out.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  const logger = createLogger({ level: 'info', destination: out });
  const s3 = config.storage.s3!;
  logger.info({ storage: config.storage }, 'config_section');
  logger.info({ s3 }, 'config_subsection');
  logger.info({ options: { credentials: { accessKeyId: s3.access_key_id, secretAccessKey: s3.secret_access_key } } }, 'adapter_options');
  logger.info({ credentials: { secretAccessKey: s3.secret_access_key } }, 'credentials');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(lines.length, 4);
  for (const line of lines) {
    assert.doesNotMatch(line, /very-secret-value/, line);
    assert.match(line, /\[REDACTED\]/, line);
  }
});
