// Правки файлов прямо на SE (метаданные, удаление) и позиция индекса отдельного экземпляра query — для тестов
// кеша (SPEC QR-5) и перестроения (QR-1): каждая правка — новое изменение в ленте SE.
import assert from 'node:assert/strict';
import type { FileMetadata, FileRecord } from '@artstore/contracts';
import type { QueryStack } from './harness.js';

type SeAnswer = FileRecord & { seq: number };

async function seCall(
  stack: QueryStack,
  method: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const response = await fetch(`${stack.seUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.adminToken}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${method} ${path}: ${text}`);
  return JSON.parse(text) as SeAnswer;
}

/** Правка метаданных на SE (If-Match — текущая версия записи). */
export async function patchOnSe(
  stack: QueryStack,
  file: FileRecord,
  patch: Partial<FileMetadata>,
): Promise<SeAnswer> {
  const current = await seCall(stack, 'GET', `/api/files/${file.id}`);
  return seCall(stack, 'PATCH', `/api/files/${file.id}`, {
    body: patch,
    headers: { 'if-match': `"v${current.version}"` },
  });
}

export function deleteOnSe(stack: QueryStack, file: FileRecord): Promise<SeAnswer> {
  return seCall(stack, 'DELETE', `/api/files/${file.id}?reason=${encodeURIComponent('тест индекса')}`);
}

/** Деталь готовности index экземпляра query по url (SPEC QR-1). */
export async function indexDetail(
  queryUrl: string,
): Promise<Record<string, { last_seq: number; head_seq: number; lag: number }>> {
  const response = await fetch(`${queryUrl}/health/ready`);
  const body = (await response.json()) as {
    checks: { index?: { detail?: Record<string, { last_seq: number; head_seq: number; lag: number }> } };
  };
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.checks.index?.detail ?? {};
}

/** Ждёт, пока экземпляр query по url применит ленту SE до seq. */
export async function waitInstanceIndexed(
  queryUrl: string,
  elementId: string,
  seq: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const current = (await indexDetail(queryUrl))[elementId]?.last_seq ?? 0;
    if (current >= seq) return;
    if (performance.now() > deadline)
      assert.fail(`${queryUrl}: индекс не дошёл до seq ${seq} за ${timeoutMs} мс (сейчас ${current})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Значение счётчика Prometheus с точными метками из /metrics экземпляра (0, если серии ещё нет). */
export async function metricValue(
  queryUrl: string,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await (await fetch(`${queryUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelPart = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (wanted.every((w) => labelPart.split(',').includes(w)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}
