// Проверка целостности одного файла по запросу (SPEC QR-7; SE-2, SE-6): перехеширование хранимых байтов,
// подпись attr-файла и строки кеша, совпадение attr-файла со строкой кеша. Только читает: история
// fixity пишется scrub'ом по расписанию — иначе любой читатель мог бы раздувать attr и ленту изменений.
import { ArtError, type BlobStore } from '@artstore/core';
import type {
  VerifyCheck,
  VerifyCheckName as CheckName,
  VerifyReport,
  VerifyVerdict,
} from '@artstore/contracts';
import type { FileCache } from '../store/file-cache.js';
import { attrDigest, type AttrRecord } from './attr.js';
import { verifyAttrSignature, type PublicSigningKey } from './attr-signing.js';
import { checkStoredBytes } from './fixity.js';
import type { KeyedLock } from './keyed-lock.js';
import type { ModeController } from './mode-controller.js';
import { ATTR_SUFFIX } from './naming.js';
import { readAttr } from './rebuild.js';

// Форма отчёта — контракт с query-module и клиентами (@artstore/contracts).
export type { VerifyCheck, VerifyReport, VerifyVerdict } from '@artstore/contracts';

/** Вердикт — по самой тяжёлой проваленной проверке: сначала байты, потом подписи, потом кеш. */
const VERDICTS: ReadonlyArray<readonly [CheckName, VerifyVerdict]> = [
  ['data_file', 'missing'],
  ['size', 'corrupted'],
  ['sha256', 'corrupted'],
  ['attr_signature', 'signature_invalid'],
  ['cache_signature', 'signature_invalid'],
  ['attr_file', 'attr_invalid'],
  ['cache_row', 'cache_stale'],
];

export interface VerifyDeps {
  blobs: BlobStore;
  cache: FileCache;
  lock: KeyedLock;
  signingKeys: readonly PublicSigningKey[];
  modes: Pick<ModeController, 'mode'>;
}

export async function verifyFile(deps: VerifyDeps, id: string, signal?: AbortSignal): Promise<VerifyReport> {
  // Строка и attr-файл читаются под блокировкой записи: идущая правка не даёт ложного cache_stale.
  const snapshot = await deps.lock(id, async () => {
    const row = await deps.cache.get(id);
    return row && { row, disk: await readAttr(deps.blobs, `${row.path}${ATTR_SUFFIX}`) };
  });
  if (!snapshot) throw new ArtError('FILE_NOT_FOUND', `Файл ${id} не найден`);
  const { row, disk } = snapshot;
  const checks: VerifyCheck[] = [];
  const check = (name: CheckName, expected: unknown, actual: unknown) => checks.push({ name, ok: expected === actual, expected, actual });

  check('cache_signature', 'valid', verifyAttrSignature(row, deps.signingKeys));
  // Ожидаемые байты — из attr-файла, если его подпись верна (источник истины), иначе из строки кеша.
  let reference: AttrRecord = row;
  if ('reason' in disk) check('attr_file', 'valid', disk.reason);
  else {
    check('attr_file', 'valid', 'valid');
    const signature = verifyAttrSignature(disk, deps.signingKeys);
    check('attr_signature', 'valid', signature);
    check('cache_row', attrDigest(disk), attrDigest(row));
    if (signature === 'valid') reference = disk;
  }

  let archived = false;
  if (reference.status === 'active') {
    const bytes = await checkStoredBytes(deps.blobs, reference, { signal });
    // В архиве байты могли уйти в холодное хранение (SPEC SE-7): это не повреждение.
    archived = bytes.verdict === 'missing' && deps.modes.mode === 'ar';
    if (!archived) check('data_file', 'present', bytes.verdict === 'missing' ? 'missing' : 'present');
    if (bytes.verdict !== 'missing') {
      check('size', reference.stored.size, bytes.size);
      check('sha256', reference.stored.sha256, bytes.sha256);
    }
  }
  const failed = VERDICTS.find(([name]) => checks.some((c) => c.name === name && !c.ok));
  return {
    id,
    verdict: failed?.[1] ?? (archived ? 'archived' : 'ok'),
    status: reference.status,
    checks,
    checked_at: new Date().toISOString(),
  };
}
