// Ключи подписи контрольных точек аудита (SPEC AD-9): отдельные от ключей JWT — их ротация и утечка
// не касаются журнала. Закрытый ключ — зашифрованный мастер-ключом, открытый — PEM (SPKI).
import type { Queryable } from '@artstore/core';

export interface AuditKeyRow {
  kid: string;
  algorithm: 'Ed25519';
  public_key: string;
  private_key_encrypted: string;
  created_at: string;
}

export function createAuditKeyStore(db: Queryable) {
  return {
    /** Все ключи, новейший первым: старыми подписаны прежние точки. */
    async all(): Promise<AuditKeyRow[]> {
      const { rows } = await db.query<Omit<AuditKeyRow, 'created_at'> & { created_at: Date | string }>(
        'select kid, algorithm, public_key, private_key_encrypted, created_at from admin_audit_keys order by created_at desc, kid desc',
      );
      return rows.map((row) => ({ ...row, created_at: new Date(row.created_at).toISOString() }));
    },
    async insert(row: AuditKeyRow): Promise<void> {
      await db.query(
        `insert into admin_audit_keys (kid, algorithm, public_key, private_key_encrypted, created_at) values ($1, $2, $3, $4, $5)`,
        [row.kid, row.algorithm, row.public_key, row.private_key_encrypted, row.created_at],
      );
    },
  };
}
export type AuditKeyStore = ReturnType<typeof createAuditKeyStore>;
