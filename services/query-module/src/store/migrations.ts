import type { Migration } from '@artstore/core';

// Глобальный индекс (SPEC QR-1): копия записей всех SE, собранная из их лент изменений,
// и курсор ленты для каждого SE. Всегда может быть перестроен с нуля.
export const queryMigrations: Migration[] = [
  {
    id: '0001_index',
    sql: `
      create table query_files (
        id uuid primary key,
        element_id text not null,
        name text not null,
        content_type text not null,
        size bigint not null,
        sha256 text not null,
        status text not null,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        record jsonb not null,
        change_seq bigint not null,
        search tsvector generated always as (
          setweight(to_tsvector('simple', name), 'A') ||
          setweight(to_tsvector('russian', name), 'A') ||
          setweight(to_tsvector('english', name), 'A') ||
          setweight(to_tsvector('russian', coalesce(record->'metadata'->>'description', '')), 'B')
        ) stored
      );
      create index query_files_search on query_files using gin (search);
      create index query_files_created on query_files (created_at desc, id desc);
      create table query_cursors (
        element_id text primary key,
        last_seq bigint not null,
        updated_at timestamptz not null
      );
    `,
  },
  {
    // Поиск (SPEC QR-2, QR-3). Всё выводится из record в самой БД (generated-колонки, триггер), поэтому
    // запись индекса (apply) о поиске не знает, а перестроение индекса с нуля пересчитывает и поиск.
    id: '0002_search',
    sql: `
      create extension if not exists pg_trgm;

      -- Функции помечены IMMUTABLE, чтобы годиться для generated-колонок: результат зависит только от
      -- аргументов. Для query_instant это так, потому что SE пишет моменты через toISOString (UTC, «Z»).
      create function query_record_tags(record jsonb) returns text[] language sql immutable parallel safe as $$
        select coalesce(array_agg(distinct t order by t), '{}')
        from jsonb_array_elements_text(case jsonb_typeof(record->'metadata'->'tags') when 'array' then record->'metadata'->'tags' else '[]' end) t
      $$;
      create function query_record_custom(record jsonb) returns text language sql immutable parallel safe as $$
        select coalesce(string_agg(value, ' '), '')
        from jsonb_each_text(case jsonb_typeof(record->'metadata'->'custom') when 'object' then record->'metadata'->'custom' else '{}' end)
      $$;
      create function query_instant(value text) returns timestamptz language sql immutable parallel safe as $$
        select value::timestamptz
      $$;
      -- Веса (SPEC QR-2): имя A, теги B, описание C, значения custom D. Имя и теги ещё и в simple — без
      -- стемминга: так находятся числа, артикулы и префиксы слов, которые стеммер обрезал бы иначе.
      create function query_search_vector(name text, record jsonb) returns tsvector language sql immutable parallel safe as $$
        select setweight(to_tsvector('simple', name), 'A') || setweight(to_tsvector('russian', name), 'A')
            || setweight(to_tsvector('english', name), 'A')
            || setweight(to_tsvector('simple', tags), 'B') || setweight(to_tsvector('russian', tags), 'B')
            || setweight(to_tsvector('russian', description), 'C') || setweight(to_tsvector('english', description), 'C')
            || setweight(to_tsvector('simple', query_record_custom(record)), 'D')
        from (select array_to_string(query_record_tags(record), ' ') as tags,
                     coalesce(record->'metadata'->>'description', '') as description) s
      $$;

      drop index query_files_search;
      alter table query_files drop column search;
      alter table query_files
        add column search tsvector generated always as (query_search_vector(name, record)) stored,
        add column tags text[] generated always as (query_record_tags(record)) stored,
        add column created_by text generated always as (record->>'created_by') stored,
        add column retention_until timestamptz generated always as (query_instant(record->>'retention_until')) stored;

      create index query_files_search on query_files using gin (search);
      create index query_files_tags on query_files using gin (tags);
      -- Ключи сортировок вместе с id — keyset-пагинация идёт по индексу без сортировки всей выборки.
      create index query_files_name on query_files (name, id);
      create index query_files_size on query_files (size, id);
      create index query_files_owner on query_files (created_by, created_at desc, id desc);
      create index query_files_element on query_files (element_id, created_at desc, id desc);
      create index query_files_retention on query_files (retention_until) where retention_until is not null;
      -- Подсказки (SPEC QR-3): начало имени — btree с побайтовым порядком, начало слова в имени — GIN по
      -- словам одного имени (в общем search совпали бы и теги с описанием), опечатки — триграммы.
      create index query_files_name_prefix on query_files ((lower(name) collate "C"));
      create index query_files_name_trgm on query_files using gin (lower(name) gin_trgm_ops);
      create index query_files_name_words on query_files using gin (to_tsvector('simple', name));

      -- Словарь тегов для подсказок: число активных файлов с тегом по SE (права QR-8 — по element_id).
      -- Держит его триггер: искать теги по префиксу в массивах миллиона строк было бы полным просмотром.
      create table query_tags (
        element_id text not null,
        tag text not null,
        files integer not null,
        primary key (element_id, tag)
      );
      create index query_tags_prefix on query_tags ((lower(tag) collate "C"));
      create index query_tags_trgm on query_tags using gin (lower(tag) gin_trgm_ops);
      create function query_tags_count() returns trigger language plpgsql as $$
      begin
        if tg_op = 'UPDATE' and old.element_id = new.element_id and old.status = new.status and old.tags = new.tags then
          return null;
        end if;
        if tg_op in ('UPDATE', 'DELETE') and old.status = 'active' then
          update query_tags set files = files - 1 where element_id = old.element_id and tag = any(old.tags);
          delete from query_tags where element_id = old.element_id and tag = any(old.tags) and files <= 0;
        end if;
        if tg_op in ('INSERT', 'UPDATE') and new.status = 'active' then
          insert into query_tags (element_id, tag, files) select new.element_id, t, 1 from unnest(new.tags) t
          on conflict (element_id, tag) do update set files = query_tags.files + 1;
        end if;
        return null;
      end
      $$;
      create trigger query_tags_count after insert or update or delete on query_files
        for each row execute function query_tags_count();

      -- Популярные запросы (SPEC QR-3): нормализованный запрос, давший результаты на SE, и счётчик.
      -- По SE — чтобы подсказка не выдавала запросы, находившие только недоступные вызывающему файлы.
      create table query_popular (
        element_id text not null,
        query text not null,
        hits bigint not null,
        last_at timestamptz not null,
        primary key (element_id, query)
      );
      create index query_popular_prefix on query_popular ((query collate "C"));
    `,
  },
  {
    // Временные ссылки (SPEC QR-6): ключ подписи, общий для всех экземпляров query, и отметки
    // использования одноразовых ссылок (первичный ключ делает отметку атомарной).
    id: '0003_links',
    sql: `
      create table query_link_keys (
        kid text primary key,
        secret text not null,
        created_at timestamptz not null default now()
      );
      create table query_link_uses (
        link_id uuid primary key,
        expires_at timestamptz not null,
        used_at timestamptz not null default now()
      );
      create index query_link_uses_expires on query_link_uses (expires_at);
    `,
  },
  {
    // Перестроение индекса с нуля без пустого поиска (SPEC QR-1): mark-and-sweep. Строка помечается эпохой
    // курсора своего SE при применении; эпоха курсора растёт при перестроении, и после дочитанной ленты строки
    // SE со старой эпохой удаляются. Эпоха курсора заодно ограждает применение пачек, прочитанных до сброса.
    id: '0004_index_epoch',
    sql: `
      alter table query_files add column index_epoch bigint not null default 0;
      alter table query_cursors add column epoch bigint not null default 0;
      alter table query_cursors add column sweep_pending boolean not null default false;
      create index query_files_element_epoch on query_files (element_id, index_epoch);
    `,
  },
  {
    // Фильтр по типу содержимого с сортировкой по дате (SPEC QR-2): без этого индекса запрос «только фильтры»
    // на 1 000 000 строк строил неточный bitmap по created_at и size и читал половину таблицы (bench search, в).
    id: '0005_content_type_index',
    sql: `create index query_files_content_type on query_files (content_type, created_at desc, id desc);`,
  },
];
