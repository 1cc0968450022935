// Настоящий S3 для тестов (CONVENTIONS «Real dependencies in tests»): s3rver на свободном порту
// loopback, данные во временном каталоге; stop() закрывает сервер и удаляет каталог.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@artstore/core/testing';
import type { S3BlobStoreOptions } from '../s3/s3-blob-store.js';

export interface TestS3Server {
  /** Параметры createS3BlobStore для бакета сервера; prefix задаёт тест (uniqueS3Prefix). */
  options: S3BlobStoreOptions;
  /** Каталог, в котором s3rver хранит бакеты. */
  directory: string;
  /** Закрывает сервер и удаляет его каталог; повторный вызов ничего не делает. */
  stop(): Promise<void>;
}

export const TEST_S3_BUCKET = 'artstore';

export function uniqueS3Prefix(label: string): string {
  return `t-${label}-${randomBytes(6).toString('hex')}`;
}

export async function startTestS3Server(): Promise<TestS3Server> {
  // s3rver (koa и его зависимости) грузится только тестами, которым нужен S3.
  const { default: S3rver } = await import('s3rver');
  const directory = await mkdtemp(path.join(tmpdir(), 'artstore-s3-'));
  const port = await freePort();
  const server = new S3rver({ port, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: TEST_S3_BUCKET }] });
  try {
    await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    options: {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      forcePathStyle: true,
      bucket: TEST_S3_BUCKET,
    },
    directory,
    stop: () =>
      (stopped ??= server.close().finally(() => rm(directory, { recursive: true, force: true }))),
  };
}
