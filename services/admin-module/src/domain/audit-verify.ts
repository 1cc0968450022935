// Проверка журнала аудита (SPEC AD-9, BY-8): цепочка хешей с первой записи, подпись каждой
// контрольной точки, совпадение точки с цепочкой на её номере и то, что цепочка не короче последней
// точки. Дополнительно — сверка с точкой, хранимой вне БД (`--checkpoint`, `--expect-head`): владелец
// БД может удалить и хвост, и точки после него, а внешнюю копию — нет.
import type { AuditCheckpoint } from '../store/audit-checkpoints.js';
import { GENESIS_HASH, type AuditRow } from '../store/audit-log.js';
import { sealAuditRow } from './audit.js';
import type { AuditKeyring } from './audit-key.js';
import { checkpointSignatureValid } from './audit-checkpoints.js';

export type AuditBreak =
  | 'hash_mismatch'
  | 'chain_broken'
  | 'sequence_gap'
  | 'checkpoint_signature_invalid'
  | 'checkpoint_mismatch'
  | 'truncated_after_checkpoint';

export interface AuditVerdict {
  ok: boolean;
  records: number;
  last_hash: string;
  /** Сколько контрольных точек проверено (подпись и совпадение с цепочкой). */
  checkpoints: number;
  /** Номер первой записи, на которой проверка не сходится. */
  broken_at?: number;
  reason?: AuditBreak;
  /** Номер контрольной точки, которая выдала подделку. */
  checkpoint_seq?: number;
  /** Итог словами — для человека. */
  detail: string;
}

/** Внешняя точка: подписанная (из GET /api/audit/checkpoints/latest) или просто голова «номер:хеш». */
export type ExpectedHead = { seq: number; hash: string } | AuditCheckpoint;

export interface AuditVerifySources {
  page: (after: number, limit: number) => Promise<AuditRow[]>;
  checkpoints: (after: number, limit: number) => Promise<AuditCheckpoint[]>;
  keyring: AuditKeyring;
}

/** Голова «номер:хеш», хранимая вне БД: сверка с ней ловит удаление и хвоста, и точек после него. */
export const EXPECTED_HEAD_PATTERN = /^([1-9][0-9]{0,15}):([0-9a-f]{64})$/;

export function parseExpectedHead(value: string): { seq: number; hash: string } | null {
  const match = EXPECTED_HEAD_PATTERN.exec(value);
  return match === null ? null : { seq: Number(match[1]), hash: match[2]! };
}

const PAGE = 1000;

async function* paged<T extends { seq: number }>(fetch: (after: number, limit: number) => Promise<T[]>): AsyncGenerator<T> {
  for (let after = 0; ;) {
    const items = await fetch(after, PAGE);
    if (items.length === 0) return;
    yield* items;
    after = items.at(-1)!.seq;
  }
}

const isSigned = (head: ExpectedHead): head is AuditCheckpoint => 'signature' in head;

export async function verifyAudit(sources: AuditVerifySources, expected?: ExpectedHead): Promise<AuditVerdict> {
  let previous = GENESIS_HASH;
  let records = 0;
  let verifiedCheckpoints = 0;
  const fail = (reason: AuditBreak, brokenAt: number, detail: string, checkpointSeq?: number): AuditVerdict => ({
    ok: false,
    records,
    last_hash: previous,
    checkpoints: verifiedCheckpoints,
    broken_at: brokenAt,
    reason,
    ...(checkpointSeq === undefined ? {} : { checkpoint_seq: checkpointSeq }),
    detail,
  });
  const unsigned = (cp: AuditCheckpoint, where: string) =>
    fail('checkpoint_signature_invalid', cp.seq, `Подпись ${where} на записи ${cp.seq} не сходится (ключ ${cp.kid}): точка подделана`, cp.seq);
  const mismatch = (seq: number, where: string) =>
    fail('checkpoint_mismatch', seq, `Запись ${seq} не совпадает с ${where}: цепочка пересчитана после подделки`, seq);

  if (expected !== undefined && isSigned(expected) && !checkpointSignatureValid(sources.keyring, expected)) {
    return unsigned(expected, 'внешней контрольной точки');
  }
  const checkpoints = paged(sources.checkpoints);
  let next = await checkpoints.next();

  for await (const row of paged(sources.page)) {
    const expectedSeq = records + 1;
    if (row.seq !== expectedSeq) return fail('sequence_gap', expectedSeq, `Нет записи ${expectedSeq}: следующая — ${row.seq}`);
    if (row.prev_hash !== previous) return fail('chain_broken', row.seq, `Запись ${row.seq} ссылается не на хеш записи ${row.seq - 1}`);
    const { hash, ...unsealed } = row;
    if (sealAuditRow(unsealed) !== hash) return fail('hash_mismatch', row.seq, `Запись ${row.seq} изменена: её хеш не сходится`);
    previous = hash;
    records++;
    for (; !next.done && next.value.seq <= row.seq; next = await checkpoints.next()) {
      const cp = next.value;
      if (!checkpointSignatureValid(sources.keyring, cp)) return unsigned(cp, 'контрольной точки');
      if (cp.seq !== row.seq || cp.hash !== row.hash || cp.count !== row.seq) return mismatch(cp.seq, `подписанной контрольной точкой ${cp.seq}`);
      verifiedCheckpoints++;
    }
    if (expected !== undefined && expected.seq === row.seq && expected.hash !== row.hash) {
      return mismatch(row.seq, 'внешней контрольной точкой');
    }
  }

  // Точки дальше конца цепочки: подпись настоящая — значит, записи после конца были и их удалили.
  let beyond: AuditCheckpoint | undefined;
  for (; !next.done; next = await checkpoints.next()) {
    if (!checkpointSignatureValid(sources.keyring, next.value)) return unsigned(next.value, 'контрольной точки');
    beyond = next.value;
  }
  if (beyond !== undefined) {
    return fail(
      'truncated_after_checkpoint',
      records + 1,
      `Хвост журнала обрезан после контрольной точки ${beyond.seq}: в цепочке ${records} записей, а точка подписана на ${beyond.seq}`,
      beyond.seq,
    );
  }
  if (expected !== undefined && expected.seq > records) {
    return fail(
      'truncated_after_checkpoint',
      records + 1,
      `Хвост журнала обрезан после внешней контрольной точки ${expected.seq}: в цепочке ${records} записей`,
      expected.seq,
    );
  }
  return {
    ok: true,
    records,
    last_hash: previous,
    checkpoints: verifiedCheckpoints,
    detail: `Цепочка из ${records} записей цела, контрольных точек проверено: ${verifiedCheckpoints}`,
  };
}
