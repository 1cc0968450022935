// Открытие журнала пишущего узла с воспроизведением (SPEC SE-3, SE-12). Одиночный SE воспроизводит
// свой журнал и доводит целые записи до конца. Узел, ставший мастером, сначала воспроизводит журналы
// всех узлов (прежние мастера могли быть отстранены, а не убиты) — судьбу их транзакций решает кеш,
// — и только потом открывает свой и пишет.
import path from 'node:path';
import type { BlobStore, Logger } from '@artstore/core';
import type { FileCache } from '../store/file-cache.js';
import { allWalDirectories, nodeWalDirectory, openWal, walDirectory, type OpenWalOptions, type WriteAheadLog } from '../wal/index.js';
import type { PublicSigningKey } from './attr-signing.js';
import { recover, type RecoveryReport } from './recovery.js';

export interface WalReplayOptions {
  basePath: string;
  /** Узел при выборах мастера; undefined — одиночный SE. */
  nodeId?: string;
  epoch: number;
  blobs: BlobStore;
  cache: FileCache;
  signingKeys: readonly PublicSigningKey[];
  logger: Logger;
  /** Каталог временных файлов хранилища (для S3 — нет): при воспроизведении всё в нём — сироты. */
  tempDir?: string;
  walOptions: Omit<OpenWalOptions, 'dir'>;
}

export type ReplaySummary = Pick<RecoveryReport, 'finished' | 'rolledBack' | 'corrupted'>;

export async function replayAndOpenWal(options: WalReplayOptions): Promise<{ wal: WriteAheadLog; summary: ReplaySummary }> {
  const summary: ReplaySummary = { finished: 0, rolledBack: 0, corrupted: 0 };
  const add = (report: RecoveryReport) => {
    summary.finished += report.finished;
    summary.rolledBack += report.rolledBack;
    summary.corrupted += report.corrupted;
  };
  const common = { blobs: options.blobs, cache: options.cache, signingKeys: options.signingKeys, epoch: options.epoch };
  if (options.nodeId === undefined) {
    const { wal, recovered } = await openWal({ ...options.walOptions, dir: walDirectory(options.basePath) });
    add(await recover(recovered, { ...common, wal, logger: options.logger, tempDir: options.tempDir, adopt: 'complete' }));
    return { wal, summary };
  }
  const own = path.resolve(nodeWalDirectory(options.basePath, options.nodeId));
  for (const dir of await allWalDirectories(options.basePath)) {
    if (path.resolve(dir) === own) continue;
    const { wal, recovered } = await openWal({ ...options.walOptions, dir, onFailure: undefined, onCheckpoint: undefined });
    const logger = options.logger.child({ wal_dir: path.basename(dir) });
    try {
      add(await recover(recovered, { ...common, wal, logger, adopt: 'committed' }));
    } finally {
      await wal.close();
    }
  }
  const { wal, recovered } = await openWal({ ...options.walOptions, dir: own });
  add(await recover(recovered, { ...common, wal, logger: options.logger, tempDir: options.tempDir, adopt: 'committed' }));
  return { wal, summary };
}
