import type { Migration } from '@artstore/core';

// Кеш SE в БД (SPEC SE-4): таблицы с префиксом table_prefix, чтобы несколько SE делили одну БД.
// change_seq растёт при каждом изменении записи — по нему идёт лента изменений (SE-5).
export function storageElementMigrations(prefix: string): Migration[] {
  return [
    {
      id: '0001_file_cache',
      sql: `
        create sequence ${prefix}change_seq;
        create table ${prefix}files (
          id uuid primary key,
          element_id text not null,
          path text not null unique,
          original_name text not null,
          content_type text not null,
          size bigint not null,
          sha256 text not null,
          status text not null,
          created_at timestamptz not null,
          created_by text not null,
          updated_at timestamptz not null,
          retention_until timestamptz,
          metadata jsonb not null,
          version integer not null,
          attr jsonb not null,
          change_seq bigint not null unique,
          search tsvector generated always as (
            setweight(to_tsvector('simple', original_name), 'A') ||
            setweight(to_tsvector('russian', original_name), 'A') ||
            setweight(to_tsvector('russian', coalesce(metadata->>'description', '')), 'B')
          ) stored
        );
        create index ${prefix}files_search on ${prefix}files using gin (search);
        create index ${prefix}files_status on ${prefix}files (status);
      `,
    },
    {
      // Отпечаток attr (sha256 канонического JSON): сверка с файлами без чтения всех attr из БД (SE-6).
      id: '0002_attr_digest',
      sql: `alter table ${prefix}files add column attr_digest text;`,
    },
    {
      // Состояние SE, которое меняется через API (режим, SPEC SE-7).
      id: '0003_state',
      sql: `create table ${prefix}state (key text primary key, value jsonb not null, updated_at timestamptz not null);`,
    },
    {
      // Истекающие и истёкшие сроки хранения (SPEC SE-9, BY-4): подсчёт и выдача по (retention_until, id)
      // среди активных файлов без просмотра всей таблицы.
      id: '0004_retention_index',
      sql: `create index ${prefix}files_retention on ${prefix}files (retention_until, id)
              where status = 'active' and retention_until is not null;`,
    },
    {
      // Эпоха записи (SPEC SE-12): растёт при каждом захвате роли мастера и при каждом старте
      // одиночного SE; фиксация в кеш проверяет её в той же транзакции (ограждение прежнего мастера).
      id: '0005_master_epoch',
      sql: `create table ${prefix}master (
              id smallint primary key check (id = 1),
              epoch bigint not null,
              node_id text,
              acquired_at timestamptz
            );
            insert into ${prefix}master (id, epoch) values (1, 0);`,
    },
  ];
}
