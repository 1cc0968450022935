// SQL кеша SE. Кеш пишется только после attr-файла (SPEC SE-4) и всегда может быть перестроен из attr.
import { createGroupBatcher, type Database, type KeysetPosition, type Queryable } from '@artstore/core';
import type { ChangeEntry } from '@artstore/contracts';
import { attrDigest, recordFromAttr, type AttrRecord } from '../domain/attr.js';
import { fencedError } from './epochs.js';

/** Столбцы строки кеша в порядке VALUES; change_seq добавляется отдельно. */
const COLUMNS = [
  'id', 'element_id', 'path', 'original_name', 'content_type', 'size', 'sha256', 'status', 'created_at',
  'created_by', 'updated_at', 'retention_until', 'metadata', 'version', 'attr', 'attr_digest',
] as const;
/** Типы столбцов: в INSERT … SELECT FROM (VALUES …) параметры не получают тип от столбцов сами. */
const COLUMN_TYPES: Record<(typeof COLUMNS)[number], string> = {
  id: 'uuid',
  element_id: 'text',
  path: 'text',
  original_name: 'text',
  content_type: 'text',
  size: 'bigint',
  sha256: 'text',
  status: 'text',
  created_at: 'timestamptz',
  created_by: 'text',
  updated_at: 'timestamptz',
  retention_until: 'timestamptz',
  metadata: 'jsonb',
  version: 'integer',
  attr: 'jsonb',
  attr_digest: 'text',
};
const UPDATED = COLUMNS.filter((column) => column !== 'id' && column !== 'element_id' && column !== 'created_at' && column !== 'created_by');
/** Пачка групповой записи: 16 параметров на строку, далеко от предела протокола (65 535). */
const MAX_BATCH = 256;

function rowValues(attr: AttrRecord): unknown[] {
  return [
    attr.id, attr.element_id, attr.path, attr.original_name, attr.content_type, attr.size, attr.sha256, attr.status,
    attr.created_at, attr.created_by, attr.updated_at, attr.retention_until, JSON.stringify(attr.metadata),
    attr.version, JSON.stringify(attr), attrDigest(attr),
  ];
}

/** Разбивает пачку так, чтобы id в одной части не повторялся: ON CONFLICT не обновляет строку дважды. */
function withoutRepeatedIds(attrs: readonly AttrRecord[]): AttrRecord[][] {
  const parts: AttrRecord[][] = [];
  let current: AttrRecord[] = [];
  let ids = new Set<string>();
  for (const attr of attrs) {
    if (ids.has(attr.id) || current.length === MAX_BATCH) {
      parts.push(current);
      current = [];
      ids = new Set();
    }
    current.push(attr);
    ids.add(attr.id);
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

interface EpochWrite {
  attr: AttrRecord;
  epoch: number;
}

export function createFileCache(db: Database, prefix: string) {
  const table = `${prefix}files`;

  /**
   * Вставка/обновление строк с новыми номерами изменений, одной транзакцией. Номера берутся под
   * транзакционной блокировкой: изменения фиксируются строго в порядке номеров, и читатель ленты не
   * пропустит «запоздавший» номер. epoch — эпоха записи вызывающего (SPEC SE-12): фиксация проходит,
   * только если она всё ещё текущая, иначе SE_WRITE_FENCED и ничего не записано. Возвращает номера в
   * порядке attrs.
   */
  async function upsertMany(attrs: readonly AttrRecord[], epoch: number): Promise<number[]> {
    const parts = withoutRepeatedIds(attrs);
    if (parts.length === 0) return [];
    // Одна часть — один оператор (своя неявная транзакция): для одиночной загрузки это один запрос
    // к БД вместо пяти (BEGIN, блокировка, эпоха, INSERT, COMMIT) — в PGlite каждый стоит ~0,3 мс CPU.
    if (parts.length === 1) return insertPart(db, parts[0]!, epoch);
    return db.transaction(async (tx) => {
      const seqs: number[] = [];
      for (const part of parts) seqs.push(...(await insertPart(tx, part, epoch)));
      return seqs;
    });
  }

  /**
   * INSERT … ON CONFLICT одной части под двумя условиями в том же операторе: транзакционная блокировка
   * номера изменения (номера фиксируются строго по порядку — читатель ленты не пропустит
   * «запоздавший») и действующая эпоха записи (FOR SHARE ждёт идущую смену эпохи). Не та эпоха —
   * ни одной строки, и фиксация отвергается.
   */
  async function insertPart(q: Queryable, part: readonly AttrRecord[], epoch: number): Promise<number[]> {
    const params: unknown[] = [epoch, `${prefix}change_seq`];
    const tuples = part.map((attr) => {
      const first = params.length;
      params.push(...rowValues(attr));
      return `(${COLUMNS.map((column, i) => `$${first + i + 1}::${COLUMN_TYPES[column]}`).join(', ')})`;
    });
    const { rows } = await q.query<{ id: string; change_seq: string | number }>(
      `with fence as (select 1 from ${prefix}master where id = 1 and epoch = $1 for share),
            seq_lock as (select pg_advisory_xact_lock(hashtext($2)))
       insert into ${table} (${COLUMNS.join(', ')}, change_seq)
       select v.*, nextval('${prefix}change_seq') from (values ${tuples.join(', ')}) as v (${COLUMNS.join(', ')}), fence, seq_lock
       on conflict (id) do update set ${UPDATED.map((c) => `${c} = excluded.${c}`).join(', ')}, change_seq = excluded.change_seq
       returning id, change_seq`,
      params,
    );
    if (rows.length === 0) throw await fencedError(q, prefix, epoch);
    const byId = new Map(rows.map((row) => [row.id, Number(row.change_seq)]));
    return part.map((attr) => byId.get(attr.id)!);
  }

  // Запись одиночных изменений (загрузка, правка, удаление) — групповая: параллельные загрузки
  // делят одну транзакцию, как WAL делит один fsync.
  const upsertOne = createGroupBatcher<EpochWrite, number>(
    async (writes) => {
      const seqs: number[] = [];
      // Эпоха в пачке почти всегда одна; смена эпохи посреди очереди делит пачку по порядку.
      for (let start = 0; start < writes.length; ) {
        const { epoch } = writes[start]!;
        let end = start + 1;
        while (end < writes.length && writes[end]!.epoch === epoch) end++;
        seqs.push(...(await upsertMany(writes.slice(start, end).map((write) => write.attr), epoch)));
        start = end;
      }
      return seqs;
    },
    { maxBatch: MAX_BATCH },
  );

  return {
    /** Вставка/обновление одной строки с новым номером изменения (групповой записью с соседями). */
    upsert: (attr: AttrRecord, epoch: number): Promise<number> => upsertOne({ attr, epoch }),
    upsertMany,

    async get(id: string): Promise<AttrRecord | undefined> {
      const { rows } = await db.query<{ attr: AttrRecord }>(`select attr from ${table} where id = $1`, [id]);
      return rows[0]?.attr;
    },

    /** Копия переноса до commit (pending, SPEC IN-6) в ленту не идёт: индексы увидят её уже активной. */
    async changes(after: number, limit: number): Promise<ChangeEntry[]> {
      const { rows } = await db.query<{ attr: AttrRecord; change_seq: string | number }>(
        `select attr, change_seq from ${table} where change_seq > $1 and status <> 'pending' order by change_seq limit $2`,
        [after, limit],
      );
      return rows.map((row) => ({ seq: Number(row.change_seq), record: recordFromAttr(row.attr) }));
    },

    /** Отпечатки attr всех строк — для сверки с attr-файлами (SPEC SE-6). */
    async digests(): Promise<Map<string, string | null>> {
      const { rows } = await db.query<{ id: string; attr_digest: string | null }>(`select id, attr_digest from ${table}`);
      return new Map(rows.map((row) => [row.id, row.attr_digest]));
    },

    /** Удаляет строку, у которой больше нет attr-файла (сирота кеша). */
    async remove(id: string): Promise<void> {
      await db.query(`delete from ${table} where id = $1`, [id]);
    },

    /** Число строк по статусу — метрика artstore_se_files (SPEC X-3). */
    async countByStatus(): Promise<Map<string, number>> {
      const { rows } = await db.query<{ status: string; files: string | number }>(
        `select status, count(*) as files from ${table} group by status`,
      );
      return new Map(rows.map((row) => [row.status, Number(row.files)]));
    },

    async usedBytes(): Promise<number> {
      const { rows } = await db.query<{ used: string | number }>(
        // pending (копия переноса до commit) занимает место так же, как активный файл.
        `select coalesce(sum(size), 0) as used from ${table} where status in ('active', 'pending')`,
      );
      return Number(rows[0]?.used ?? 0);
    },

    /**
     * Страница id активных файлов по возрастанию id (UUIDv7 — время загрузки) — обход для scrub
     * (SPEC SE-6). Курсор — id, а не change_seq: запись итога проверки меняет seq, но не место в обходе.
     */
    async activeIdsAfter(after: string | null, limit: number): Promise<string[]> {
      const { rows } = await db.query<{ id: string }>(
        `select id from ${table} where status = 'active' and ($1::uuid is null or id > $1::uuid) order by id limit $2`,
        [after, limit],
      );
      return rows.map((row) => row.id);
    },

    /**
     * Сколько активных файлов со сроком хранения в (from, to]: from — «сейчас» для истекающих,
     * null — для уже истёкших (SPEC SE-9, BY-4). Файлы с бессрочным хранением сюда не попадают.
     */
    async countRetention(from: string | null, to: string): Promise<number> {
      const { rows } = await db.query<{ count: string | number }>(
        `select count(*) as count from ${table}
         where status = 'active' and retention_until <= $2 and ($1::timestamptz is null or retention_until > $1)`,
        [from, to],
      );
      return Number(rows[0]?.count ?? 0);
    },

    /** Те же файлы постранично по (retention_until, id) — ближайший срок первым. */
    async listRetention(
      from: string | null,
      to: string,
      after: KeysetPosition | null,
      limit: number,
    ): Promise<{ attrs: AttrRecord[]; next: KeysetPosition | null }> {
      const { rows } = await db.query<{ attr: AttrRecord; retention_until: Date | string; id: string }>(
        `select attr, retention_until, id from ${table}
         where status = 'active' and retention_until <= $2 and ($1::timestamptz is null or retention_until > $1)
           and ($3::timestamptz is null or (retention_until, id) > ($3::timestamptz, $4::uuid))
         order by retention_until, id limit $5`,
        [from, to, after?.at ?? null, after?.id ?? null, limit + 1],
      );
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        attrs: page.map((row) => row.attr),
        next: rows.length > limit && last ? { at: new Date(last.retention_until).toISOString(), id: last.id } : null,
      };
    },
  };
}
export type FileCache = ReturnType<typeof createFileCache>;
