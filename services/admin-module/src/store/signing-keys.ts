import type { Database } from '@artstore/core';
import type { JWK } from 'jose';

/**
 * Ключ подписи access-токенов (SPEC AD-4). Жизненный цикл: опубликован заранее (activates_at в
 * будущем) → подписывает (новейший из наступивших) → только проверяется (сменён более новым) →
 * выведен (retired_at; из JWKS убран, закрытый ключ стёрт).
 */
export interface SigningKeyRow {
  kid: string;
  algorithm: string;
  public_jwk: JWK;
  private_key_encrypted: string;
  created_at: Date;
  activates_at: Date;
  retired_at: Date | null;
}

/** Один на всю БД: создание следующего ключа не выполняется двумя экземплярами сразу. */
const ROTATION_LOCK = 7_310_417;

export function createSigningKeyStore(db: Database) {
  return {
    /** Не выведенные ключи — то, что публикуется в JWKS; новейший по activates_at первым. */
    async published(): Promise<SigningKeyRow[]> {
      const { rows } = await db.query<SigningKeyRow>(
        `select * from admin_signing_keys where retired_at is null
         order by activates_at desc, created_at desc, kid desc`,
      );
      return rows;
    },
    /**
     * Сохраняет ключ, если среди опубликованных нет ключа с activates_at > after: так два экземпляра
     * (или два шага ротации) не создают два «следующих» ключа. after = эпоха 0 — «если ключей нет вовсе».
     */
    async insertUnlessActivatingAfter(row: Omit<SigningKeyRow, 'retired_at'>, after: Date): Promise<boolean> {
      return db.transaction(async (tx) => {
        await tx.query('select pg_advisory_xact_lock($1)', [ROTATION_LOCK]);
        const { rows } = await tx.query(
          'select 1 from admin_signing_keys where retired_at is null and activates_at > $1 limit 1',
          [after],
        );
        if (rows.length > 0) return false;
        await tx.query(
          `insert into admin_signing_keys (kid, algorithm, public_jwk, private_key_encrypted, created_at, activates_at)
           values ($1, $2, $3, $4, $5, $6)`,
          [
            row.kid,
            row.algorithm,
            JSON.stringify(row.public_jwk),
            row.private_key_encrypted,
            row.created_at,
            row.activates_at,
          ],
        );
        return true;
      });
    },
    /** Вывод ключей: из JWKS убираются, закрытая часть стирается — подписать ими больше нельзя. */
    async retire(kids: readonly string[], at: Date): Promise<void> {
      if (kids.length === 0) return;
      await db.query(
        `update admin_signing_keys set retired_at = $2, private_key_encrypted = ''
         where kid = any($1) and retired_at is null`,
        [kids, at],
      );
    },
  };
}
export type SigningKeyStore = ReturnType<typeof createSigningKeyStore>;

