// Общий SQL «чья это работа и жив ли её хозяин» для журналов ingester (саги загрузки IN-4, переносы IN-6).
// Таблица обязана иметь колонки id, state, owner, heartbeat_at, started_at, updated_at. Время — now() базы: часы
// экземпляров могут расходиться, часы одной БД — нет.
import type { TransactionStep } from '@artstore/contracts';
import type { AuditActor, Database } from '@artstore/core';

const iso = (value: unknown): string => new Date(value as string | Date).toISOString();
/** jsonb: PostgreSQL отдаёт объект, PGlite в некоторых путях — строку. */
export const json = <T>(value: unknown): T =>
  typeof value === 'string' ? (JSON.parse(value) as T) : (value as T);

/** Общие колонки журналов ingester (саги загрузки, переносы): чья работа, её шаги и кто её заказал. */
export interface JournalRow {
  id: string;
  file_id: string;
  owner: string | null;
  heartbeat_at: string;
  started_at: string;
  updated_at: string;
  steps: TransactionStep[];
  actor: AuditActor;
  ip: string | null;
  request_id: string | null;
  error: string | null;
}

/** Общие колонки журналов ingester в виде строки JSON: времена — ISO, шаги и актор — объекты. */
export function journalColumns(row: Record<string, unknown>) {
  return {
    heartbeat_at: iso(row.heartbeat_at),
    started_at: iso(row.started_at),
    updated_at: iso(row.updated_at),
    steps: json<TransactionStep[]>(row.steps),
    actor: json<AuditActor>(row.actor),
  };
}

export interface StaleRowsSpec {
  table: string;
  /** Состояния незавершённой работы: их отмечает хозяин и забирают другие, когда хозяин молчит. */
  activeStates: readonly string[];
  /** Конечные состояния: такие строки удаляются по сроку хранения. */
  finishedStates: readonly string[];
}

export interface StaleRowsStore<R> {
  /**
   * Отметка «жив» на работе, которую экземпляр сейчас ведёт, — один запрос на интервал. Только по
   * списку: строка, брошенная самим живым экземпляром (исход не установлен), устаревает и достаётся
   * восстановлению.
   */
  heartbeat(owner: string, ids: readonly string[]): Promise<void>;
  /**
   * Забирает незавершённую работу без хозяина или с молчащим дольше staleAfterMs: один UPDATE … RETURNING
   * над строками, заблокированными FOR UPDATE SKIP LOCKED, — два живых экземпляра не получат одну строку.
   */
  claimStale(owner: string, staleAfterMs: number, limit: number): Promise<R[]>;
  /** Отдаёт строку следующему кругу (ответ не получен): owner = NULL, забрать её может любой. */
  release(id: string, owner: string): Promise<void>;
  /** Удаляет завершённые строки старше keepMs; число удалённых. */
  purgeFinished(keepMs: number): Promise<number>;
  get(id: string): Promise<R | undefined>;
  /** Для GET /api/transactions: без state — незавершённые, иначе строки в этом состоянии; старые первыми. */
  list(filter: { state?: string; limit: number }): Promise<R[]>;
}

export function createStaleRowsStore<R>(
  db: Database,
  spec: StaleRowsSpec,
  parse: (row: Record<string, unknown>) => R,
): StaleRowsStore<R> {
  const { table } = spec;
  const active = [...spec.activeStates];
  const finished = [...spec.finishedStates];
  return {
    async heartbeat(owner, ids) {
      if (ids.length === 0) return;
      await db.query(
        `update ${table} set heartbeat_at = now() where owner = $1 and id = any($2::uuid[]) and state = any($3::text[])`,
        [owner, [...ids], active],
      );
    },
    async claimStale(owner, staleAfterMs, limit) {
      const { rows } = await db.query(
        `update ${table} set owner = $1, heartbeat_at = now()
         where id in (
           select id from ${table}
           where state = any($2::text[])
             and (owner is null or heartbeat_at < now() - make_interval(secs => $3::double precision / 1000))
           order by heartbeat_at
           limit $4
           for update skip locked)
         returning *`,
        [owner, active, staleAfterMs, limit],
      );
      return rows.map(parse);
    },
    async release(id, owner) {
      await db.query(`update ${table} set owner = null where id = $1 and owner = $2`, [id, owner]);
    },
    async purgeFinished(keepMs) {
      const { rowCount } = await db.query(
        `delete from ${table}
         where state = any($1::text[]) and updated_at < now() - make_interval(secs => $2::double precision / 1000)`,
        [finished, keepMs],
      );
      return rowCount;
    },
    async get(id) {
      const { rows } = await db.query(`select * from ${table} where id = $1`, [id]);
      return rows[0] === undefined ? undefined : parse(rows[0]);
    },
    async list(filter) {
      const states = filter.state === undefined ? active : [filter.state];
      const { rows } = await db.query(
        `select * from ${table} where state = any($1::text[]) order by started_at limit $2`,
        [states, filter.limit],
      );
      return rows.map(parse);
    },
  };
}
