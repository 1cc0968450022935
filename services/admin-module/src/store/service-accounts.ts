import type { Queryable } from '@artstore/core';

export interface ServiceAccountRow {
  client_id: string;
  secret_hash: string;
  roles: string[];
  disabled: boolean;
}

export function createServiceAccountStore(db: Queryable) {
  return {
    async byClientId(clientId: string): Promise<ServiceAccountRow | undefined> {
      const { rows } = await db.query<ServiceAccountRow>(
        'select client_id, secret_hash, roles, disabled from admin_service_accounts where client_id = $1',
        [clientId],
      );
      return rows[0];
    },
    async upsert(account: Omit<ServiceAccountRow, 'disabled'>): Promise<void> {
      await db.query(
        `insert into admin_service_accounts (client_id, secret_hash, roles, created_at, updated_at)
         values ($1, $2, $3, now(), now())
         on conflict (client_id) do update set secret_hash = excluded.secret_hash, roles = excluded.roles, updated_at = now()`,
        [account.client_id, account.secret_hash, account.roles],
      );
    },
  };
}
export type ServiceAccountStore = ReturnType<typeof createServiceAccountStore>;
