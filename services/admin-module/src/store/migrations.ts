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
  {
    // Неудачные входы (SPEC AD-2): по одной строке на неудачу, ключ — учётная запись или адрес.
    // В БД, а не в памяти: ограничение общее для всех экземпляров admin-module и переживает перезапуск.
    id: '0002_login_failures',
    sql: `
      create table admin_login_failures (
        key text not null,
        failed_at timestamptz not null
      );
      create index admin_login_failures_key on admin_login_failures (key, failed_at);
    `,
  },
  {
    // Refresh-токены (SPEC AD-3): в БД только sha256 токена; семейство — цепочка ротаций одного входа.
    id: '0003_refresh_tokens',
    sql: `
      create table admin_refresh_tokens (
        id uuid primary key,
        family_id uuid not null,
        user_id uuid not null references admin_users (id) on delete cascade,
        token_hash text not null unique,
        created_at timestamptz not null,
        expires_at timestamptz not null,
        used_at timestamptz,
        revoked_at timestamptz,
        revoked_reason text
      );
      create index admin_refresh_tokens_family on admin_refresh_tokens (family_id);
      create index admin_refresh_tokens_user on admin_refresh_tokens (user_id) where revoked_at is null;
    `,
  },
  {
    // Изменения системного администратора ждут одобрения второго администратора (SPEC AD-1).
    id: '0004_pending_user_changes',
    sql: `
      create table admin_pending_user_changes (
        id uuid primary key,
        user_id uuid not null references admin_users (id) on delete cascade,
        change jsonb not null,
        requested_by uuid not null,
        requested_at timestamptz not null,
        decided_by uuid,
        decided_at timestamptz,
        status text not null check (status in ('pending', 'approved', 'rejected'))
      );
      create unique index admin_users_username_ci on admin_users (lower(username));
    `,
  },
  {
    // Журнал аудита (SPEC AD-9, BY-8): цепочка хешей; изменить или удалить запись не даёт сама БД.
    id: '0005_audit_log',
    sql: `
      create table admin_audit_log (
        seq bigint primary key,
        at timestamptz not null,
        actor text not null,
        action text not null,
        target text,
        details jsonb not null,
        prev_hash text not null,
        hash text not null
      );
      create function admin_audit_log_append_only() returns trigger language plpgsql as $$
      begin
        raise exception 'admin_audit_log: журнал аудита только дописывается (%)', tg_op using errcode = 'insufficient_privilege';
      end;
      $$;
      create trigger admin_audit_log_no_update before update or delete on admin_audit_log
        for each row execute function admin_audit_log_append_only();
      create trigger admin_audit_log_no_truncate before truncate on admin_audit_log
        for each statement execute function admin_audit_log_append_only();
    `,
  },
];
