// Помощники тестов целостности SE (scrub, сверка, verify): порча байтов и attr на диске, ключи корня,
// отчёт обслуживания.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AttrRecord } from '../src/domain/attr.js';
import type { PublicSigningKey } from '../src/domain/attr-signing.js';
import { LAYOUT_FILE } from '../src/domain/layout.js';
import { ATTR_SUFFIX } from '../src/domain/naming.js';
import type { ReconcileReport } from '../src/domain/reconciler.js';
import type { ScrubPass } from '../src/domain/scrubber.js';
import type { VerifyReport } from '../src/domain/verify.js';
import type { RunningSe } from './helpers.js';

/** Инвертирует один байт хранимого файла, не меняя размера (тихая порча носителя). */
export async function flipByte(se: RunningSe, path: string, offset = 0): Promise<void> {
  const file = join(se.basePath, path);
  const bytes = await readFile(file);
  bytes[offset]! ^= 0xff;
  await writeFile(file, bytes);
}

export async function readStoredAttr(se: RunningSe, path: string): Promise<AttrRecord> {
  return JSON.parse(await readFile(join(se.basePath, `${path}${ATTR_SUFFIX}`), 'utf8')) as AttrRecord;
}

export async function writeStoredAttr(se: RunningSe, attr: AttrRecord): Promise<void> {
  await writeFile(join(se.basePath, `${attr.path}${ATTR_SUFFIX}`), JSON.stringify(attr));
}

export async function signingKeys(se: RunningSe): Promise<PublicSigningKey[]> {
  return (JSON.parse(await readFile(join(se.basePath, LAYOUT_FILE), 'utf8')) as { signing_keys: PublicSigningKey[] }).signing_keys;
}

export interface MaintenanceReport {
  scrub: { enabled: boolean; next_at: string | null; current: ScrubPass | null; last: ScrubPass | null };
  reconcile: { enabled: boolean; next_at: string | null; last: ReconcileReport | null };
}

export async function maintenanceReport(se: RunningSe, token: string): Promise<MaintenanceReport> {
  const response = await fetch(`${se.url}/api/maintenance/report`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text) as MaintenanceReport;
}

export function verify(se: RunningSe, id: string, token: string): Promise<Response> {
  return fetch(`${se.url}/api/files/${id}/verify`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
}

export async function verifyOk(se: RunningSe, id: string, token: string): Promise<VerifyReport> {
  const response = await verify(se, id, token);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text) as VerifyReport;
}

/** Значение ряда метрики с данными метками (прочие метки ряда, например service, не важны); 0 — ряда нет. */
export async function metricValue(se: RunningSe, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${se.url}/metrics`)).text();
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && pairs.every((pair) => l.includes(pair)));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}
