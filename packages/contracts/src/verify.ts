// Вердикт проверки целостности файла (SPEC QR-7): его строит SE (POST /api/files/{id}/verify), а query-module
// отдаёт клиенту как есть (GET /api/files/{id}/verify).
import type { FileStatus } from './files.js';

export type VerifyCheckName =
  'cache_signature' | 'attr_file' | 'attr_signature' | 'cache_row' | 'data_file' | 'size' | 'sha256';

export type VerifyVerdict =
  'ok' | 'archived' | 'missing' | 'corrupted' | 'signature_invalid' | 'attr_invalid' | 'cache_stale';

export interface VerifyCheck {
  name: VerifyCheckName;
  ok: boolean;
  expected: unknown;
  actual: unknown;
}

export interface VerifyReport {
  id: string;
  verdict: VerifyVerdict;
  /** Статус по проверенной записи; байты удалённого файла не проверяются. */
  status: FileStatus;
  checks: VerifyCheck[];
  checked_at: string;
}
