import type { Queryable } from '@artstore/core';

export interface ServiceAccountRow {
  client_id: string;
  secret_hash: string;
  roles: string[];
  /** Гранты «роль@se:<id>» (SPEC AD-5). */
  grants: string[];
  disabled: boolean;
  kind: 'config' | 'integration';
  /** Срок действия интеграции; null — бессрочная (только из конфигурации). */
  expires_at: Date | null;
}

/** Интеграция, как её видит администратор (без хеша секрета). */
export interface IntegrationRow {
  client_id: string;
  description: string;
  roles: string[];
  grants: string[];
  disabled: boolean;
  expires_at: Date;
  created_by: string;
  created_at: Date;
}

export function createServiceAccountStore(db: Queryable) {
  return {
    async byClientId(clientId: string): Promise<ServiceAccountRow | undefined> {
      const { rows } = await db.query<ServiceAccountRow>(
        `select client_id, secret_hash, roles, grants, disabled, kind, expires_at
         from admin_service_accounts where client_id = $1`,
        [clientId],
      );
      return rows[0];
    },
    /** Учётная запись из конфигурации (BY-7); интеграцию с тем же client_id не перезаписывает. */
    async upsert(account: Pick<ServiceAccountRow, 'client_id' | 'secret_hash' | 'roles' | 'grants'>): Promise<void> {
      await db.query(
        `insert into admin_service_accounts (client_id, secret_hash, roles, grants, created_at, updated_at)
         values ($1, $2, $3, $4, now(), now())
         on conflict (client_id) do update set secret_hash = excluded.secret_hash, roles = excluded.roles,
           grants = excluded.grants, updated_at = now()
         where admin_service_accounts.kind = 'config'`,
        [account.client_id, account.secret_hash, account.roles, account.grants],
      );
    },
    async insertIntegration(row: Omit<IntegrationRow, 'disabled' | 'created_at'> & { secret_hash: string }): Promise<void> {
      await db.query(
        `insert into admin_service_accounts
           (client_id, secret_hash, roles, grants, kind, description, expires_at, created_by, created_at, updated_at)
         values ($1, $2, $3, $4, 'integration', $5, $6, $7, now(), now())`,
        [row.client_id, row.secret_hash, row.roles, row.grants, row.description, row.expires_at, row.created_by],
      );
    },
    async integrations(): Promise<IntegrationRow[]> {
      const { rows } = await db.query<IntegrationRow>(
        `select client_id, description, roles, grants, disabled, expires_at, created_by, created_at
         from admin_service_accounts where kind = 'integration' order by created_at, client_id`,
      );
      return rows;
    },
    /** Отзыв: отключение, а не удаление — учётная запись остаётся в истории. false — нет такой интеграции. */
    async revokeIntegration(clientId: string): Promise<boolean> {
      const { rows } = await db.query(
        `update admin_service_accounts set disabled = true, updated_at = now()
         where client_id = $1 and kind = 'integration' returning client_id`,
        [clientId],
      );
      return rows.length > 0;
    },
  };
}
export type ServiceAccountStore = ReturnType<typeof createServiceAccountStore>;
