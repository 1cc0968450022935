// Настоящий клиент tus (tus-js-client) против ingester (SPEC IN-1, BY-6): 50 MiB кусками по 5 MiB,
// загрузка прервана посередине, SE перезапущен (тот же корень и порт), загрузка продолжена с принятого
// смещения, а не с нуля, и sha256 сохранённого файла совпадает.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as tus from 'tus-js-client';
import { fetchFromSe, startIngesterStack, type IngesterStack } from './harness.js';

const MiB = 1024 * 1024;
const SIZE = 50 * MiB;
const CHUNK = 5 * MiB;
const ABORT_AFTER = 20 * MiB;

describe('tus-js-client: прерванная загрузка продолжается после перезапуска SE', () => {
  let stack: IngesterStack;
  before(async () => {
    stack = await startIngesterStack();
  });
  after(() => stack.close());

  it(
    '50 MiB кусками по 5 MiB: обрыв, рестарт SE, продолжение, sha256 совпадает',
    { timeout: 120_000 },
    async () => {
      const token = await stack.issuer.mint({ name: 'alice', roles: ['uploader'] });
      const bytes = randomBytes(SIZE);
      const common = {
        endpoint: `${stack.ingesterUrl}/api/uploads`,
        chunkSize: CHUNK,
        headers: { authorization: `Bearer ${token}` },
        metadata: { filename: 'большой.bin', filetype: 'application/octet-stream' },
        retryDelays: [],
      };

      // Первый проход: после 20 MiB клиент прерывает загрузку (как закрытая вкладка или упавший процесс).
      const uploadUrl = await new Promise<string>((resolve, reject) => {
        const upload: tus.Upload = new tus.Upload(bytes, {
          ...common,
          onChunkComplete: (_chunk, accepted) => {
            if (accepted >= ABORT_AFTER) upload.abort().then(() => resolve(upload.url!), reject);
          },
          onError: reject,
          onSuccess: () => reject(new Error('загрузка не должна была завершиться в первом проходе')),
        });
        upload.start();
      });
      assert.match(uploadUrl, /\/api\/uploads\/[A-Za-z0-9_-]+$/);

      await stack.restartStorageElement();

      // Второй проход по тому же адресу: клиент спрашивает смещение (HEAD) и шлёт только остаток.
      const accepted: number[] = [];
      await new Promise<void>((resolve, reject) => {
        const upload = new tus.Upload(bytes, {
          ...common,
          uploadUrl,
          onChunkComplete: (_chunk, total) => accepted.push(total),
          onError: reject,
          onSuccess: () => resolve(),
        });
        upload.start();
      });
      assert.ok(
        accepted[0]! > ABORT_AFTER,
        `продолжение с принятого смещения, а не с нуля: ${accepted.join(',')}`,
      );
      assert.equal(accepted.at(-1), SIZE);
      assert.equal(accepted.length, (SIZE - ABORT_AFTER) / CHUNK);

      const status = (await (
        await fetch(uploadUrl, { headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${token}` } })
      ).json()) as {
        file_id: string | null;
      };
      assert.ok(status.file_id);
      const stored = await fetchFromSe(stack, status.file_id);
      assert.equal(stored.record.size, SIZE);
      assert.equal(stored.record.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.equal(stored.record.name, 'большой.bin');
    },
  );
});
