// Писатель файлов SE без HTTP — для модульных тестов записи, восстановления и перестройки кеша.
// Настоящие WAL, локальная ФС, подпись; БД и координацию передаёт тест.
import { join } from 'node:path';
import { createLocalFsBlobStore } from '@artstore/adapters';
import { createLogger, type Coordination, type Database } from '@artstore/core';
import { loadOrCreateAttrSigner } from '../src/domain/attr-signing.js';
import { createCapacity } from '../src/domain/capacity.js';
import { createFaultInjector } from '../src/domain/faults.js';
import { createFileWriter } from '../src/domain/file-writer.js';
import { createSoleMastership } from '../src/domain/mastership.js';
import { createModeController } from '../src/domain/mode-controller.js';
import type { Mode } from '../src/domain/modes.js';
import { createEpochStore } from '../src/store/epochs.js';
import { createFileCache } from '../src/store/file-cache.js';
import { createStateStore } from '../src/store/state.js';
import { nodeWalIo, openWal, walDirectory, type WalIo } from '../src/wal/index.js';

export const FIXTURE_ELEMENT = 'se-w';

export async function createTestWriter(options: { dir: string; name: string; db: Database; coordination: Coordination; io?: WalIo; mode?: Mode }) {
  const root = join(options.dir, options.name);
  const blobs = createLocalFsBlobStore({ root });
  const cache = createFileCache(options.db, 'se_');
  const logger = createLogger({ level: 'silent' });
  const signer = await loadOrCreateAttrSigner(join(options.dir, `${options.name}.pem`));
  const { wal } = await openWal({ dir: walDirectory(root), io: options.io ?? nodeWalIo });
  const epoch = await createEpochStore(options.db, 'se_').advance(options.name);
  const writer = createFileWriter({
    elementId: FIXTURE_ELEMENT,
    mastership: createSoleMastership(epoch),
    retention: 'permanent',
    blobs,
    cache,
    coordination: options.coordination,
    logger,
    capacity: await createCapacity({ elementId: FIXTURE_ELEMENT, maxBytes: 2 ** 30, diskPath: options.dir, usedBytes: () => Promise.resolve(0) }),
    signer,
    wal,
    faults: createFaultInjector(undefined, 'embedded'),
    modes: await createModeController({ elementId: FIXTURE_ELEMENT, configured: options.mode ?? 'edit', state: createStateStore(options.db, 'se_'), logger }),
  });
  return { root, blobs, cache, signer, wal, writer, epoch };
}
