// Перестройка и сверка кеша по attr-файлам (SPEC SE-6, BY-2): сначала план — разница между файлами
// и кешем, который можно показать как dry-run; затем применение. Кеш — только отражение attr:
// недостающие и устаревшие строки записываются из attr, строки без attr удаляются. Подделанный или
// неподписанный attr и attr без данных — повреждение: о нём сообщается, в кеш оно не попадает.
import { text } from 'node:stream/consumers';
import type { BlobStore } from '@artstore/core';
import type { FileCache } from '../store/file-cache.js';
import { attrDigest, ATTR_SCHEMA, type AttrRecord } from './attr.js';
import { verifyAttrSignature, type PublicSigningKey } from './attr-signing.js';
import { ATTR_SUFFIX } from './naming.js';

export interface Problem {
  path: string;
  reason: 'unreadable' | 'schema' | 'signature_invalid' | 'signature_unknown_key' | 'unsigned' | 'data_missing' | 'data_size_mismatch' | 'duplicate_id';
}

export interface RebuildPlan {
  scanned: number;
  /** attr есть, строки кеша нет. */
  missing: AttrRecord[];
  /** Строка кеша отличается от attr. */
  stale: AttrRecord[];
  /** Строка кеша есть, attr нет. */
  orphans: string[];
  unchanged: number;
  problems: Problem[];
}

export interface RebuildDeps {
  blobs: BlobStore;
  cache: FileCache;
  signingKeys: readonly PublicSigningKey[];
  /** Остановка SE прерывает обход (периодическая сверка). */
  signal?: AbortSignal;
}

/** attr-файл по ключу: запись или проблема (не читается, не та схема, путь не совпадает). */
export async function readAttr(blobs: BlobStore, key: string): Promise<AttrRecord | Problem> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await text(await blobs.get(key)));
  } catch {
    return { path: key, reason: 'unreadable' };
  }
  const attr = parsed as Partial<AttrRecord>;
  if (attr.schema !== ATTR_SCHEMA || typeof attr.id !== 'string' || `${attr.path}${ATTR_SUFFIX}` !== key) {
    return { path: key, reason: 'schema' };
  }
  return attr as AttrRecord;
}

const SIGNATURE_PROBLEMS = {
  invalid: 'signature_invalid',
  unknown_key: 'signature_unknown_key',
  unsigned: 'unsigned',
} as const;

export async function planRebuild(deps: RebuildDeps): Promise<RebuildPlan> {
  const { blobs, cache } = deps;
  if (!blobs.list) throw new Error(`Хранилище ${blobs.kind} не умеет перечислять ключи — перестройка невозможна`);
  const cached = await cache.digests();
  const seen = new Set<string>();
  const plan: RebuildPlan = { scanned: 0, missing: [], stale: [], orphans: [], unchanged: 0, problems: [] };
  for await (const key of blobs.list('')) {
    if (!key.endsWith(ATTR_SUFFIX)) continue;
    deps.signal?.throwIfAborted();
    plan.scanned++;
    const attr = await readAttr(blobs, key);
    if ('reason' in attr) {
      plan.problems.push(attr);
      continue;
    }
    if (seen.has(attr.id)) {
      plan.problems.push({ path: key, reason: 'duplicate_id' });
      continue;
    }
    // Файл с этим id есть, даже если attr подделан: строка кеша (последняя проверенная версия) остаётся,
    // а не удаляется как сирота — повреждение видно в отчёте, запись не пропадает из поиска молча.
    seen.add(attr.id);
    const verdict = verifyAttrSignature(attr, deps.signingKeys);
    if (verdict !== 'valid') {
      plan.problems.push({ path: key, reason: SIGNATURE_PROBLEMS[verdict] });
      continue;
    }
    if (attr.status === 'active') {
      const data = await blobs.stat(attr.path);
      if (data === null || data.size !== attr.stored.size) {
        plan.problems.push({ path: attr.path, reason: data === null ? 'data_missing' : 'data_size_mismatch' });
      }
    }
    const digest = cached.get(attr.id);
    if (digest === undefined) plan.missing.push(attr);
    else if (digest !== attrDigest(attr)) plan.stale.push(attr);
    else plan.unchanged++;
  }
  plan.orphans = [...cached.keys()].filter((id) => !seen.has(id));
  return plan;
}

/** Строк на транзакцию при применении плана. */
const APPLY_BATCH = 1000;

/**
 * Применяет план: кеш становится точным отражением attr-файлов. epoch — эпоха записи применяющего
 * (SPEC SE-12): офлайн-перестройка берёт свою, ограждая забытый запущенным SE.
 */
export async function applyRebuild(plan: RebuildPlan, cache: FileCache, epoch: number): Promise<void> {
  // Порядок по id (UUIDv7 — время загрузки): лента изменений после перестройки идёт в порядке создания.
  const changed = [...plan.missing, ...plan.stale].sort((a, b) => (a.id < b.id ? -1 : 1));
  // Пачками по транзакции: строка на транзакцию упиралась в цену COMMIT (в PGlite — особенно).
  for (let start = 0; start < changed.length; start += APPLY_BATCH) await cache.upsertMany(changed.slice(start, start + APPLY_BATCH), epoch);
  for (const id of plan.orphans) await cache.remove(id);
}

/** Краткая сводка плана для журнала, API и CLI. */
export function summarizePlan(plan: RebuildPlan) {
  return {
    scanned: plan.scanned,
    missing: plan.missing.length,
    stale: plan.stale.length,
    orphans: plan.orphans.length,
    unchanged: plan.unchanged,
    problems: plan.problems,
    diff: {
      missing: plan.missing.map((a) => a.id),
      stale: plan.stale.map((a) => a.id),
      orphans: plan.orphans,
    },
  };
}
