// Двухфакторная аутентификация (SPEC AD-6): секрет TOTP пользователя (зашифрованный), состояние
// подключения, последний принятый шаг времени и резервные коды (только sha256).
import type { Database, Queryable } from '@artstore/core';

export interface MfaRow {
  user_id: string;
  secret_encrypted: string;
  /** null — подключение начато, но не подтверждено первым кодом. */
  confirmed_at: Date | null;
}

/** Отключение или сброс: секрет и резервные коды удаляются (коды — каскадом). */
export async function deleteMfa(db: Queryable, userId: string): Promise<boolean> {
  const { rowCount } = await db.query('delete from admin_mfa where user_id = $1', [userId]);
  return rowCount === 1;
}

export function createMfaStore(db: Database) {
  /** Заменяет резервные коды пользователя новыми (внутри транзакции вызывающего). */
  async function replaceRecoveryCodes(
    tx: Queryable,
    userId: string,
    codeHashes: readonly string[],
  ): Promise<void> {
    await tx.query('delete from admin_mfa_recovery_codes where user_id = $1', [userId]);
    await tx.query(
      'insert into admin_mfa_recovery_codes (user_id, code_hash) select $1, unnest($2::text[])',
      [userId, codeHashes],
    );
  }

  return {
    async byUser(userId: string): Promise<MfaRow | undefined> {
      const { rows } = await db.query<MfaRow>(
        'select user_id, secret_encrypted, confirmed_at from admin_mfa where user_id = $1',
        [userId],
      );
      return rows[0];
    },

    async isEnabled(userId: string): Promise<boolean> {
      const { rows } = await db.query(
        'select 1 from admin_mfa where user_id = $1 and confirmed_at is not null',
        [userId],
      );
      return rows.length > 0;
    },

    /** Начатое подключение с новым секретом; false — MFA уже подтверждена и не заменяется. */
    async startEnrolment(userId: string, secretEncrypted: string): Promise<boolean> {
      const { rowCount } = await db.query(
        `insert into admin_mfa (user_id, secret_encrypted, created_at) values ($1, $2, now())
         on conflict (user_id) do update set secret_encrypted = excluded.secret_encrypted, created_at = now()
         where admin_mfa.confirmed_at is null`,
        [userId, secretEncrypted],
      );
      return rowCount === 1;
    },

    /**
     * Подтверждение первым кодом: тот самый секрет (не заменён параллельным подключением) и ещё не
     * подтверждён; шаг кода сразу считается принятым. Резервные коды — в той же транзакции.
     */
    async confirm(
      userId: string,
      secretEncrypted: string,
      step: number,
      codeHashes: readonly string[],
    ): Promise<boolean> {
      return db.transaction(async (tx) => {
        const { rowCount } = await tx.query(
          `update admin_mfa set confirmed_at = now(), last_step = $3
           where user_id = $1 and secret_encrypted = $2 and confirmed_at is null`,
          [userId, secretEncrypted, step],
        );
        if (rowCount !== 1) return false;
        await replaceRecoveryCodes(tx, userId, codeHashes);
        return true;
      });
    },

    /**
     * Принимает шаг времени, только если он позже последнего принятого (RFC 6238 §5.2): проверка и
     * запись — одним UPDATE, поэтому из двух одновременных запросов с одним кодом проходит один.
     */
    async acceptStep(userId: string, step: number): Promise<boolean> {
      const { rowCount } = await db.query(
        `update admin_mfa set last_step = $2
         where user_id = $1 and confirmed_at is not null and (last_step is null or last_step < $2)`,
        [userId, step],
      );
      return rowCount === 1;
    },

    /** Гасит резервный код; false — такого нет или он уже использован. */
    async useRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
      const { rowCount } = await db.query(
        `update admin_mfa_recovery_codes set used_at = now()
         where user_id = $1 and code_hash = $2 and used_at is null`,
        [userId, codeHash],
      );
      return rowCount === 1;
    },

    async remainingRecoveryCodes(userId: string): Promise<number> {
      const { rows } = await db.query<{ n: number }>(
        'select count(*)::int as n from admin_mfa_recovery_codes where user_id = $1 and used_at is null',
        [userId],
      );
      return rows[0]?.n ?? 0;
    },

    async replaceRecoveryCodes(userId: string, codeHashes: readonly string[]): Promise<void> {
      await db.transaction((tx) => replaceRecoveryCodes(tx, userId, codeHashes));
    },

    remove: (userId: string) => deleteMfa(db, userId),
  };
}
export type MfaStore = ReturnType<typeof createMfaStore>;
