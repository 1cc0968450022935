import type { Migration } from '@artstore/core';

// Схема admin-module. Миграции неизменяемы: изменения — только новыми записями.
export const adminMigrations: Migration[] = [
  {
    id: '0001_identity',
    sql: `
      create table admin_users (
        id uuid primary key,
        username text not null unique,
        password_hash text not null,
        roles text[] not null,
        disabled boolean not null default false,
        must_change_password boolean not null default false,
        password_changed_at timestamptz not null,
        created_at timestamptz not null,
        updated_at timestamptz not null
      );
      create table admin_service_accounts (
        client_id text primary key,
        secret_hash text not null,
        roles text[] not null,
        disabled boolean not null default false,
        created_at timestamptz not null,
        updated_at timestamptz not null
      );
      create table admin_signing_keys (
        kid text primary key,
        algorithm text not null,
        public_jwk jsonb not null,
        private_key_encrypted text not null,
        created_at timestamptz not null,
        retired_at timestamptz
      );
    `,
  },
];
