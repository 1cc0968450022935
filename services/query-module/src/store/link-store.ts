// SQL временных ссылок (SPEC QR-6): ключ подписи и отметки использования одноразовых ссылок.
import { randomBytes } from 'node:crypto';
import type { Database } from '@artstore/core';

export interface LinkSigningKey {
  kid: string;
  secret: Buffer;
}

/** kid первого ключа. Смена ключа — новая строка с новым kid; старые ссылки проверяются по своему kid. */
const INITIAL_KID = 'k1';

export function createLinkStore(db: Database) {
  return {
    /**
     * Ключи подписи; первый — действующий (самый новый). При первом старте ключ создаётся: несколько
     * экземпляров query, стартующих одновременно, вставляют каждый свой секрет, но `on conflict do nothing`
     * оставляет один, и все читают его — ссылку, подписанную одним экземпляром, принимает любой.
     */
    async signingKeys(): Promise<LinkSigningKey[]> {
      await db.query(
        'insert into query_link_keys (kid, secret) values ($1, $2) on conflict (kid) do nothing',
        [INITIAL_KID, randomBytes(32).toString('base64')],
      );
      const { rows } = await db.query<{ kid: string; secret: string }>(
        'select kid, secret from query_link_keys order by created_at desc, kid desc',
      );
      return rows.map((row) => ({ kid: row.kid, secret: Buffer.from(row.secret, 'base64') }));
    },

    /** Ссылка уже выдала байты. */
    async isUsed(linkId: string): Promise<boolean> {
      const { rows } = await db.query('select 1 from query_link_uses where link_id = $1', [linkId]);
      return rows.length > 0;
    },

    /**
     * Отметка использования одноразовой ссылки: true — эта выдача первая. Атомарна: из двух одновременных
     * выдач строку вставит одна. Отметки истёкших ссылок больше не нужны (ссылка отвергается по сроку) —
     * они убираются здесь же, чтобы таблица не росла.
     */
    async markUsed(linkId: string, expiresAt: Date): Promise<boolean> {
      // С запасом на расхождение часов: срок ссылки проверяют часы экземпляра query, а уборку — часы базы;
      // отметка, убранная раньше, чем экземпляр с отстающими часами отвергнет ссылку, дала бы второй раз.
      await db.query("delete from query_link_uses where expires_at < now() - interval '1 hour'");
      const { rowCount } = await db.query(
        'insert into query_link_uses (link_id, expires_at) values ($1, $2) on conflict (link_id) do nothing',
        [linkId, expiresAt.toISOString()],
      );
      return rowCount === 1;
    },
  };
}
export type LinkStore = ReturnType<typeof createLinkStore>;
