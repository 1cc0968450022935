import type { Migration } from '@artstore/core';

// Глобальный индекс (SPEC QR-1): копия записей всех SE, собранная из их лент изменений,
// и курсор ленты для каждого SE. Всегда может быть перестроен с нуля.
export const queryMigrations: Migration[] = [
  {
    id: '0001_index',
    sql: `
      create table query_files (
        id uuid primary key,
        element_id text not null,
        name text not null,
        content_type text not null,
        size bigint not null,
        sha256 text not null,
        status text not null,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        record jsonb not null,
        change_seq bigint not null,
        search tsvector generated always as (
          setweight(to_tsvector('simple', name), 'A') ||
          setweight(to_tsvector('russian', name), 'A') ||
          setweight(to_tsvector('english', name), 'A') ||
          setweight(to_tsvector('russian', coalesce(record->'metadata'->>'description', '')), 'B')
        ) stored
      );
      create index query_files_search on query_files using gin (search);
      create index query_files_created on query_files (created_at desc, id desc);
      create table query_cursors (
        element_id text primary key,
        last_seq bigint not null,
        updated_at timestamptz not null
      );
    `,
  },
];
