// Эпоха записи SE в его БД (SPEC SE-12): корректность ограждения держится на ней, а не на аренде в
// Redis — счётчик Redis может откатиться после его failover, строка PostgreSQL — нет.
import { ArtError, type Database, type Queryable } from '@artstore/core';

export function createEpochStore(db: Database, prefix: string) {
  const table = `${prefix}master`;
  return {
    /** Новая эпоха, строго больше всех выданных: с этого момента фиксации прежних эпох отвергаются. */
    async advance(nodeId: string): Promise<number> {
      const { rows } = await db.query<{ epoch: string | number }>(
        `update ${table} set epoch = epoch + 1, node_id = $1, acquired_at = now() where id = 1 returning epoch`,
        [nodeId],
      );
      return Number(rows[0]!.epoch);
    },
    async current(): Promise<{ epoch: number; nodeId: string | null }> {
      const { rows } = await db.query<{ epoch: string | number; node_id: string | null }>(`select epoch, node_id from ${table} where id = 1`);
      return { epoch: Number(rows[0]!.epoch), nodeId: rows[0]!.node_id };
    },
  };
}
export type EpochStore = ReturnType<typeof createEpochStore>;

/** Отказ фиксации эпохи epoch — с действующей эпохой в тексте. */
export async function fencedError(q: Queryable, prefix: string, epoch: number): Promise<ArtError> {
  const { rows } = await q.query<{ epoch: string | number }>(`select epoch from ${prefix}master where id = 1`);
  const current = Number(rows[0]?.epoch ?? 0);
  return new ArtError('SE_WRITE_FENCED', `Запись эпохи ${epoch} отвергнута: действует эпоха ${current} (мастером стал другой узел)`, {
    extra: { epoch, current_epoch: current },
  });
}
