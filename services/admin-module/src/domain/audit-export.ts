// Выгрузка журнала аудита (SPEC AD-9): JSON lines или CSV, постранично — журнал любой длины не
// собирается в памяти.
import type { AuditRow } from '../store/audit-log.js';
import type { Audit } from './audit.js';

export type AuditExportFormat = 'jsonl' | 'csv';

const CSV_COLUMNS = [
  'seq',
  'at',
  'service',
  'actor',
  'actor_name',
  'action',
  'target',
  'outcome',
  'ip',
  'request_id',
  'event_id',
  'details',
  'prev_hash',
  'hash',
] as const satisfies readonly (keyof AuditRow)[];

/** Поле CSV по RFC 4180: в кавычках, если есть запятая, кавычка или перевод строки. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function csvLine(row: AuditRow): string {
  const cells = CSV_COLUMNS.map((column) => {
    const value = row[column];
    return csvField(value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value));
  });
  return `${cells.join(',')}\r\n`;
}

export async function* exportAudit(
  audit: Pick<Audit, 'page'>,
  format: AuditExportFormat,
): AsyncGenerator<string> {
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
  for (let after = 0; ;) {
    const rows = await audit.page(after, 1000);
    if (rows.length === 0) return;
    for (const row of rows) yield format === 'csv' ? csvLine(row) : `${JSON.stringify(row)}\n`;
    after = rows.at(-1)!.seq;
  }
}
