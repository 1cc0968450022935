import type { Queryable } from '@artstore/core';
import type { JWK } from 'jose';

export interface SigningKeyRow {
  kid: string;
  algorithm: string;
  public_jwk: JWK;
  private_key_encrypted: string;
  created_at: Date;
  retired_at: Date | null;
}

export function createSigningKeyStore(db: Queryable) {
  return {
    /** Действующие (не выведенные) ключи, новейший первым. */
    async active(): Promise<SigningKeyRow[]> {
      const { rows } = await db.query<SigningKeyRow>(
        'select * from admin_signing_keys where retired_at is null order by created_at desc, kid desc',
      );
      return rows;
    },
    async insert(row: Omit<SigningKeyRow, 'retired_at'>): Promise<void> {
      await db.query(
        `insert into admin_signing_keys (kid, algorithm, public_jwk, private_key_encrypted, created_at)
         values ($1, $2, $3, $4, $5)`,
        [row.kid, row.algorithm, JSON.stringify(row.public_jwk), row.private_key_encrypted, row.created_at],
      );
    },
  };
}
export type SigningKeyStore = ReturnType<typeof createSigningKeyStore>;
