// Разбор медленного случая бенчмарка: обёртка порта Database, которая перед каждым SELECT выполняет тот же
// запрос с теми же параметрами под EXPLAIN (ANALYZE, BUFFERS) и запоминает план. Так видны планы настоящего
// SQL сервиса (createSearchIndex query-module), а не его пересказа в бенчмарке.
import type { Database, Queryable } from '@artstore/core';

export interface ExplainedQuery {
  sql: string;
  plan: string;
}

export function explainingDatabase(db: Database, plans: ExplainedQuery[]): Database {
  const wrap = (target: Queryable): Queryable => ({
    async query(sql, params) {
      if (/^\s*(with|select|\()/i.test(sql)) {
        const { rows } = await target.query<{ 'QUERY PLAN': string }>(
          `explain (analyze, buffers) ${sql}`,
          params,
        );
        plans.push({
          sql: sql.replace(/\s+/g, ' ').trim(),
          plan: rows.map((r) => r['QUERY PLAN']).join('\n'),
        });
      }
      return target.query(sql, params);
    },
  });
  return {
    kind: db.kind,
    ...wrap(db),
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    ping: () => db.ping(),
    close: () => db.close(),
  };
}
