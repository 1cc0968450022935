// Схема ingester-module (SPEC IN-4, IN-6): журнал саг загрузки и журнал координатора переносов.
// Ingester сам без состояния: всё, что нужно другому экземпляру, чтобы довести или откатить начатое, — здесь.
import type { Migration } from '@artstore/core';

export const ingesterMigrations: readonly Migration[] = [
  {
    // Сага загрузки (SPEC IN-4, docs/uploads.md). file_id назначается до передачи: по нему другой
    // экземпляр спрашивает SE, дошёл ли файл. owner + heartbeat_at — кто ведёт сагу и жив ли он
    // (stale-work.ts); actor и ip — чтобы событие аудита после восстановления называло того, кто загружал.
    id: '0001_upload_sagas',
    sql: `
      create table ingester_upload_sagas (
        id uuid primary key,
        file_id uuid not null unique,
        element_id text,
        state text not null check (state in
          ('reserved', 'transferring', 'stored', 'completed', 'compensating', 'compensated', 'failed')),
        owner text,
        heartbeat_at timestamptz not null,
        started_at timestamptz not null,
        updated_at timestamptz not null,
        steps jsonb not null default '[]'::jsonb,
        actor jsonb not null,
        ip text,
        request_id text,
        name text not null,
        record jsonb,
        error text
      );
      create index ingester_upload_sagas_active on ingester_upload_sagas (heartbeat_at)
        where state in ('reserved', 'transferring', 'stored', 'compensating');
      create index ingester_upload_sagas_finished on ingester_upload_sagas (updated_at)
        where state in ('completed', 'compensated', 'failed');
    `,
  },
  {
    // Журнал координатора переноса (SPEC IN-6, ADR 0017): started → preparing → prepared → committing
    // (решение о фиксации, записывается до любого commit) → committed | aborting → aborted. Presumed abort:
    // строка без committing при восстановлении отменяется. Один незавершённый перенос на файл.
    id: '0002_transfers',
    sql: `
      create table ingester_transfers (
        id uuid primary key,
        file_id uuid not null,
        source text not null,
        target text not null,
        state text not null check (state in
          ('started', 'preparing', 'prepared', 'committing', 'committed', 'aborting', 'aborted')),
        owner text,
        heartbeat_at timestamptz not null,
        started_at timestamptz not null,
        updated_at timestamptz not null,
        steps jsonb not null default '[]'::jsonb,
        actor jsonb not null,
        ip text,
        request_id text,
        sha256 text not null,
        size bigint not null,
        error text
      );
      create unique index ingester_transfers_one_per_file on ingester_transfers (file_id)
        where state not in ('committed', 'aborted');
      create index ingester_transfers_active on ingester_transfers (heartbeat_at)
        where state in ('started', 'preparing', 'prepared', 'committing', 'aborting');
      create index ingester_transfers_finished on ingester_transfers (updated_at)
        where state in ('committed', 'aborted');
    `,
  },
];
