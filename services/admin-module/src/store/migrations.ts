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
  {
    // Двухфакторная аутентификация TOTP (SPEC AD-6). Секрет — только зашифрованный мастер-ключом;
    // confirmed_at null — подключение начато, но первым кодом не подтверждено. last_step — последний
    // принятый шаг времени: код принимается один раз (RFC 6238 §5.2), проверка и запись — одним UPDATE.
    // Резервные коды и незавершённые входы (mfa_token) — только sha256, как refresh-токены.
    id: '0006_mfa',
    sql: `
      create table admin_mfa (
        user_id uuid primary key references admin_users (id) on delete cascade,
        secret_encrypted text not null,
        confirmed_at timestamptz,
        last_step bigint,
        created_at timestamptz not null
      );
      create table admin_mfa_recovery_codes (
        user_id uuid not null references admin_mfa (user_id) on delete cascade,
        code_hash text not null,
        used_at timestamptz,
        primary key (user_id, code_hash)
      );
      create table admin_mfa_challenges (
        token_hash text primary key,
        user_id uuid not null references admin_users (id) on delete cascade,
        expires_at timestamptz not null,
        failures integer not null default 0,
        used_at timestamptz
      );
      create index admin_mfa_challenges_expires on admin_mfa_challenges (expires_at);
    `,
  },
  {
    // Реестр элементов хранения (SPEC AD-7) и версия документа обнаружения (AD-8). Версия растёт в той же
    // транзакции, что и значимое изменение реестра, поэтому документ версии N всегда один и тот же.
    // capacity — свежие цифры для API; published_capacity — цифры, вошедшие в документ (меняются
    // только вместе с версией, когда место перешло в другую ступень).
    id: '0007_storage_elements',
    sql: `
      create table admin_storage_elements (
        id text primary key,
        name text not null,
        url text not null,
        priority integer not null,
        managed_by text not null check (managed_by in ('api', 'config')),
        mode text check (mode in ('edit', 'rw', 'ro', 'ar')),
        configured_mode text check (configured_mode in ('edit', 'rw', 'ro', 'ar')),
        health text not null default 'unknown' check (health in ('unknown', 'up', 'degraded', 'down')),
        health_error text,
        capacity jsonb,
        published_capacity jsonb,
        last_polled_at timestamptz,
        last_seen_at timestamptz,
        created_at timestamptz not null,
        updated_at timestamptz not null
      );
      create table admin_discovery_version (
        singleton boolean primary key default true check (singleton),
        version bigint not null
      );
      insert into admin_discovery_version (singleton, version) values (true, 0);
    `,
  },
  {
    // Аудит от всех сервисов и подписанные контрольные точки (SPEC AD-9, BY-8). event_id — ключ
    // идемпотентности: повторно доставленное из очереди событие не дописывается второй раз. Точки и
    // ключи подписи аудита, как и сам журнал, только дописываются.
    id: '0008_audit_checkpoints',
    sql: `
      alter table admin_audit_log
        add column event_id uuid,
        add column service text,
        add column actor_name text,
        add column outcome text,
        add column ip text,
        add column request_id text;
      create unique index admin_audit_log_event_id on admin_audit_log (event_id);
      create table admin_audit_keys (
        kid text primary key,
        algorithm text not null,
        public_key text not null,
        private_key_encrypted text not null,
        created_at timestamptz not null
      );
      create table admin_audit_checkpoints (
        seq bigint primary key,
        hash text not null,
        count bigint not null,
        created_at timestamptz not null,
        kid text not null references admin_audit_keys (kid),
        signature text not null
      );
      create function admin_append_only() returns trigger language plpgsql as $$
      begin
        raise exception '%: только дописывается (%)', tg_table_name, tg_op using errcode = 'insufficient_privilege';
      end;
      $$;
      create trigger admin_audit_checkpoints_no_update before update or delete on admin_audit_checkpoints
        for each row execute function admin_append_only();
      create trigger admin_audit_checkpoints_no_truncate before truncate on admin_audit_checkpoints
        for each statement execute function admin_append_only();
      create trigger admin_audit_keys_no_update before update or delete on admin_audit_keys
        for each row execute function admin_append_only();
      create trigger admin_audit_keys_no_truncate before truncate on admin_audit_keys
        for each statement execute function admin_append_only();
    `,
  },
  {
    // Гранты с областью (SPEC AD-5): «роль@se:<element_id>», та же запись, что в токене (claim grants).
    id: '0009_user_grants',
    sql: `
      alter table admin_users add column grants text[] not null default '{}';
    `,
  },
  {
    // Ротация ключей (SPEC AD-4): ключ публикуется раньше, чем начинает подписывать (activates_at).
    id: '0010_key_rotation',
    sql: `
      alter table admin_signing_keys add column activates_at timestamptz;
      update admin_signing_keys set activates_at = created_at;
      alter table admin_signing_keys alter column activates_at set not null;
    `,
  },
  {
    // Токены интеграций (SPEC AD-3): сервисная учётная запись со сроком, созданная через API.
    // kind = 'config' — учётные записи из конфигурации (BY-7), их синхронизация интеграции не трогает.
    id: '0011_integration_tokens',
    sql: `
      alter table admin_service_accounts
        add column kind text not null default 'config' check (kind in ('config', 'integration')),
        add column grants text[] not null default '{}',
        add column description text,
        add column expires_at timestamptz,
        add column created_by text;
      alter table admin_service_accounts
        add constraint admin_service_accounts_integration_expires
        check (kind = 'config' or expires_at is not null);
    `,
  },
  {
    // Срок хранения SE в реестре (SPEC AD-7): по опросу GET /api/mode.
    id: '0012_storage_element_retention',
    sql: `alter table admin_storage_elements add column retention text;`,
  },
];
