export { crc32 } from './crc32.js';
export {
  MAX_PAYLOAD_BYTES,
  WalError,
  type FrameDefect,
  type WalErrorCode,
  type WalRecord,
  type WalRecordInput,
  type WalRecordType,
} from './record-codec.js';
export { allWalDirectories, nodeWalDirectory, nodeWalIo, walDirectory, type WalIo } from './segment.js';
export { createWalSlot, type WalSlot } from './wal-slot.js';
export {
  openWal,
  type CheckpointOutcome,
  type OpenWalOptions,
  type WalCorruption,
  type WalRecovery,
  type WriteAheadLog,
} from './write-ahead-log.js';
