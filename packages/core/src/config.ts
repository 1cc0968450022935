// Конфигурация (SPEC X-1): YAML-файл + переопределение переменными окружения
// ARTSTORE_<SECTION>__<KEY> (двойное подчёркивание — вложенность). Единственное место,
// где читается process.env. Ошибки называют ключ и источник значения.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ELEMENT_ID_PATTERN, parseGrant } from './auth/grants.js';
import { rolePermissions } from './auth/permissions.js';
import { ArtError } from './errors.js';
import { parseDuration } from './duration.js';
import { parseSize } from './size.js';

const ENV_PREFIX = 'ARTSTORE_';
/** Переменные ARTSTORE_*, которые не являются ключами конфигурации. */
const NON_CONFIG_ENV = new Set(['ARTSTORE_CONFIG', 'ARTSTORE_URL', 'ARTSTORE_TOKEN', 'ARTSTORE_USERNAME', 'ARTSTORE_PASSWORD', 'ARTSTORE_OTP']);
const NON_CONFIG_ENV_PREFIXES = ['ARTSTORE_TEST_'];

// Значения из окружения всегда строки: эти конструкторы принимают и строку, и «родной» тип YAML.
// Не z.coerce.number(): он молча делает из пустой строки и null ноль (ARTSTORE_DATABASE__PORT= → порт 0),
// а из «0x1F» и «1e3» — числа. Строка принимается, только если это целое десятичное число.
const int = (min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v), z.number().int().min(min).max(max));
const port = () => int(0, 65535);
const bool = () =>
  z.preprocess((v) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v), z.boolean());
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(item));
const size = () =>
  z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
    const bytes = typeof v === 'number' ? v : parseSize(v);
    if (bytes === null) {
      ctx.addIssue({ code: 'custom', message: `«${String(v)}» — не размер (примеры: 500MB, 2TiB, 1073741824)` });
      return z.NEVER;
    }
    return bytes;
  });

/** Длительность > 0: число миллисекунд или строка `500ms`, `30s`, `15m`, `6h`, `7d`. */
const duration = () =>
  z.union([z.number().int().positive(), z.string()]).transform((v, ctx) => {
    const ms = typeof v === 'number' ? v : parseDuration(v);
    if (ms === null || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: `«${String(v)}» — не длительность > 0 (примеры: 30s, 15m, 6h, 7d, 1500)` });
      return z.NEVER;
    }
    return ms;
  });

const endpoint = (defaultPort: number) =>
  z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: port().default(defaultPort),
      /** Адрес, по которому сервис доступен другим сервисам; по умолчанию http://host:port. */
      url: z.url().optional(),
    })
    .prefault({});

const storageElementRef = z.strictObject({
  id: z.string().regex(ELEMENT_ID_PATTERN, 'латиница в нижнем регистре, цифры и «-»'),
  url: z.url(),
  priority: int().default(100),
});

export const configSchema = z.strictObject({
  /** embedded — всё в одном процессе, admin/admin123 допустим; production — строгие проверки. */
  profile: z.enum(['embedded', 'production']).default('embedded'),
  data_dir: z.string().min(1).default('./.data'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  http: z
    .strictObject({
      /** Предел тела JSON-запросов; загрузки файлов идут потоком и этим пределом не ограничены. */
      json_body_limit: size().default(1024 * 1024),
      /** Предел суммарного размера заголовков (Node maxHeaderSize); сверх — 431. */
      max_header_size: size().default(16 * 1024),
      request_timeout_ms: int(0).default(0),
      /**
       * Прокси, которым верим в X-Forwarded-For (адреса или CIDR): за ними адрес клиента — из заголовка
       * (ограничение входов по адресу, журналы). По умолчанию — loopback: шлюз того же узла.
       */
      trusted_proxies: z.array(z.string().min(1)).default(['127.0.0.1', '::1']),
      /** Сколько остановка ждёт незавершённые запросы, прежде чем закрыть их соединения. */
      shutdown_grace_ms: int(0).default(10_000),
      cors: z.strictObject({ allowed_origins: list(z.string().min(1)).default([]) }).prefault({}),
      /** Отдавать /metrics без токена (SPEC AD-11: «metrics (configurable)»). */
      public_metrics: bool().default(true),
      /**
       * Ограничение частоты запросов (SPEC AD-11), бюджеты — на окно window: анонимным — на адрес,
       * с токеном — на субъект, точкам /api/auth/* — на адрес. Превышение в block_after окнах
       * (0 — без блокировки) блокирует клиента на block_for. Выбор значений — docs/security.md.
       */
      rate_limit: z
        .strictObject({
          enabled: bool().default(true),
          window: duration().default(60_000),
          max_anonymous: int(1).default(600),
          max_authenticated: int(1).default(60_000),
          max_auth_endpoints: int(1).default(120),
          block_after: int(0, 1000).default(5),
          block_for: duration().default(900_000),
        })
        .prefault({}),
    })
    .prefault({}),
  services: z
    .strictObject({
      admin: endpoint(8000),
      storage_element: endpoint(8010),
      ingester: endpoint(8020),
      query: endpoint(8030),
      gateway: endpoint(4200),
    })
    .prefault({}),
  /** Нет секции — встроенный PGlite в data_dir. */
  database: z
    .strictObject({
      host: z.string().min(1),
      port: port().default(5432),
      username: z.string().min(1),
      password: z.string().optional(),
      database: z.string().min(1),
      ssl: bool().default(false),
      max_connections: int(1, 1000).default(10),
      /** Префикс таблиц кеша SE: несколько SE могут делить одну БД (SPEC SE-4). */
      table_prefix: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/).default('se_'),
    })
    .optional(),
  /** Нет секции — координация и очередь задач в процессе. */
  redis: z
    .strictObject({
      url: z.string().regex(/^rediss?:\/\//, 'ожидается redis://… или rediss://…').optional(),
      cluster: z.array(z.strictObject({ host: z.string().min(1), port: port() })).min(1).optional(),
      key_prefix: z.string().min(1).default('artstore:'),
    })
    .refine((r) => (r.url === undefined) !== (r.cluster === undefined), 'нужен ровно один из ключей url или cluster')
    .optional(),
  auth: z
    .strictObject({
      jwt: z
        .strictObject({
          algorithm: z.literal('RS256').default('RS256'),
          issuer: z.string().min(1).default('artstore'),
          audience: z.string().min(1).default('artstore'),
          access_ttl_seconds: int(60, 24 * 3600).default(1800),
          /** По умолчанию <services.admin>/.well-known/jwks.json. */
          jwks_url: z.url().optional(),
          /** Не чаще одного перезапроса JWKS за этот интервал при неизвестном kid. */
          jwks_cooldown_ms: int(0).default(30_000),
          /** Плановое обновление JWKS: ключ, убранный admin-module из набора, перестаёт приниматься. */
          jwks_refresh_ms: int(1000).default(300_000),
          clock_tolerance_seconds: int(0, 300).default(5),
        })
        .prefault({}),
      /**
       * Пароль первого администратора в профиле production (SPEC AD-1): без него, или со значением
       * по умолчанию, старт отказывает. В профиле embedded — admin/admin123 со сменой при первом входе.
       */
      initial_admin_password: z.string().min(1).optional(),
      /** Ключ шифрования закрытых ключей в БД (32 байта, base64). Во встроенном режиме создаётся в data_dir. */
      master_key: z.string().min(1).optional(),
      /**
       * Сети (адреса или CIDR), из которых доступны административные маршруты admin-module —
       * управление пользователями и т. п. (SPEC AD-11). Пусто — без ограничения.
       */
      admin_networks: z.array(z.string().min(1)).default([]),
      /** Срок refresh-токена пользователя, секунды (SPEC AD-3: 7 дней). */
      refresh_ttl_seconds: int(60, 90 * 86_400).default(7 * 86_400),
      /** Через сколько дней пароль пользователя требует смены при входе (SPEC AD-1). */
      password_max_age_days: int(1, 3650).default(90),
      /**
       * Ограничение неудачных входов (SPEC AD-2, ASVS 2.2.1): сколько неудач за окно window допускается
       * на одну учётную запись и на один адрес; дальше — 429 до выхода старых неудач из окна.
       */
      lockout: z
        .strictObject({
          account_failures: int(1, 100).default(10),
          ip_failures: int(1, 10_000).default(50),
          window: duration().default(3_600_000),
        })
        .prefault({}),
      /**
       * Двухфакторная аутентификация TOTP (SPEC AD-6): для пользователей с любой из required_roles она
       * обязательна — до подключения их токен открывает только её подключение. issuer — имя сервиса в
       * приложении-аутентификаторе (otpauth URI). Роль с опечаткой молча отключила бы требование — отказ.
       */
      mfa: z
        .strictObject({
          required_roles: list(
            z.string().refine((role) => Object.hasOwn(rolePermissions, role), 'неизвестная роль'),
          ).default(['admin']),
          issuer: z.string().min(1).default('ArtStore'),
        })
        .prefault({}),
      /**
       * Ротация ключей подписи (SPEC AD-4): подписывающий ключ меняется каждые interval; следующий
       * публикуется в JWKS за prepublish до начала подписи; check_interval — как часто лидер проверяет,
       * не пора ли, и как часто прочие экземпляры перечитывают ключи.
       */
      key_rotation: z
        .strictObject({
          interval: duration().default(86_400_000),
          prepublish: duration().default(3_600_000),
          check_interval: duration().default(60_000),
        })
        .refine((r) => r.prepublish < r.interval, { message: 'prepublish должен быть меньше interval', path: ['prepublish'] })
        .refine((r) => r.check_interval < r.prepublish, {
          message: 'check_interval должен быть меньше prepublish: иначе экземпляр не успеет загрузить следующий ключ',
          path: ['check_interval'],
        })
        .prefault({}),
      /** Наибольший срок токена интеграции, дни (SPEC AD-3): внешней системе — не бессрочный доступ. */
      integration_max_ttl_days: int(1, 3650).default(365),
      /** Аренда лидера admin-module (ротация ключей, опрос SE, публикация обнаружения). */
      leader_lease_ttl: duration()
        .refine((ms) => ms >= 1000, 'не меньше 1s')
        .default(10_000),
      /** Учётные данные этого сервиса для вызовов других сервисов (client_credentials, SPEC AD-3). */
      client: z.strictObject({ client_id: z.string().min(1), client_secret: z.string().min(8) }).optional(),
      /** Сервисные учётные записи, которые admin-module заводит при старте (конфигурация как код, BY-7). */
      service_clients: z
        .array(
          z
            .strictObject({
              client_id: z.string().min(1),
              client_secret: z.string().min(16),
              roles: z.array(z.string().min(1)).default([]),
              /** Гранты с областью «роль@se:<id>» (SPEC AD-5): сервис с правами только на своём SE. */
              grants: z
                .array(z.string().refine((grant) => parseGrant(grant) !== null, 'ожидается «роль@se:<element_id>»'))
                .default([]),
            })
            .refine((client) => client.roles.length + client.grants.length > 0, 'нужна хотя бы одна роль или грант'),
        )
        .default([]),
    })
    .prefault({}),
  storage: z
    .strictObject({
      element_id: z.string().regex(ELEMENT_ID_PATTERN).default('se-local'),
      /** Где лежат байты (SPEC SE-10): local — base_path на ФС; s3 — бакет (секция s3), в base_path только WAL. */
      type: z.enum(['local', 's3']).default('local'),
      /**
       * Режим SE (SPEC SE-7): edit — полный CRUD, rw — без удаления, ro — только чтение, ar — архив
       * (только метаданные; байтов может не быть). edit и ar меняются только здесь и перезапуском.
       */
      mode: z.enum(['edit', 'rw', 'ro', 'ar']).default('edit'),
      /** Срок хранения файлов (SPEC SE-9): `permanent` или число с единицей d/y — `90d`, `5y`. */
      retention: z.string().regex(/^(permanent|\d{1,4}[dy])$/, 'ожидается permanent, <n>d или <n>y').default('permanent'),
      max_size: size().default(10 * 2 ** 30),
      /**
       * Место (SPEC SE-8, SE-9, BY-5): headroom — запас ФС для WAL и attr, который загрузки не занимают;
       * пороги тревоги — % от max_size или от ФС, что полнее; check_interval — период проверки.
       */
      capacity: z
        .strictObject({
          headroom: size().default(256 * 2 ** 20),
          alarm_thresholds: list(int(1, 100))
            .refine((t) => t.every((v, i) => i === 0 || v > t[i - 1]!), 'пороги — по возрастанию, без повторов')
            .default([80, 90, 95]),
          check_interval: duration().default(30_000),
        })
        .prefault({}),
      /** Предупреждения о сроке хранения (SPEC SE-9): за сколько до retention_until предупреждать и как часто проверять. */
      retention_warnings: z
        .strictObject({
          lead_times: list(z.string().refine((s) => (parseDuration(s) ?? 0) > 0, 'ожидается длительность > 0: 90d, 12h'))
            .refine((t) => t.length > 0, 'нужно хотя бы одно упреждение')
            .default(['90d', '30d', '7d']),
          interval: duration().default(3_600_000),
        })
        .prefault({}),
      local: z.strictObject({ base_path: z.string().min(1).optional() }).prefault({}),
      /** S3-бэкенд (SPEC SE-10). Ключи доступа — лучше переменными ARTSTORE_STORAGE__S3__*; в журнал не попадают. */
      s3: z
        .strictObject({
          /** Адрес S3-совместимого сервиса (MinIO, Ceph…); для AWS не нужен. */
          endpoint: z.url().optional(),
          region: z.string().min(1).default('us-east-1'),
          bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'имя бакета S3: 3–63 символа a-z, 0-9, «.», «-»').optional(),
          /** Префикс ключей в бакете; по умолчанию element_id (несколько SE в одном бакете), '' — корень бакета. */
          prefix: z.string().optional(),
          force_path_style: bool().default(true),
          access_key_id: z.string().min(1).optional(),
          secret_access_key: z.string().min(1).optional(),
        })
        .refine((s) => (s.access_key_id === undefined) === (s.secret_access_key === undefined), 'access_key_id и secret_access_key задаются вместе')
        .optional(),
      /** Закрытый ключ Ed25519 для подписи attr (SPEC SE-2); по умолчанию <data_dir>/keys/<element_id>/attr-signing-ed25519.pem. */
      signing_key_path: z.string().min(1).optional(),
      /**
       * Узел SE (SPEC SE-12): имя среди узлов над одним хранилищем — им подписаны аренда, эпоха и
       * каталог WAL узла. По умолчанию — имя хоста.
       */
      node_id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/).optional(),
      /**
       * Выборы мастера (SPEC SE-12) для нескольких узлов над одним хранилищем: пишет только держатель
       * аренды lease_ttl. Выключено — узел единственный и всегда мастер (встроенный режим).
       */
      election: z
        .strictObject({ enabled: bool().default(false), lease_ttl: duration().refine((ms) => ms >= 1000, 'не меньше 1s').default(10_000) })
        .prefault({}),
      /** Фоновая проверка байтов (SPEC SE-6, BY-3): перехеширование со скоростью rate байт/с, пауза interval между проходами. */
      scrub: z
        .strictObject({
          enabled: bool().default(true),
          rate: size().refine((bytes) => bytes > 0, 'скорость должна быть больше нуля').default(50 * 1000 * 1000),
          interval: duration().default(7 * 86_400_000),
        })
        .prefault({}),
      /** Периодическая сверка кеша с attr-файлами (SPEC SE-6, BY-2): раз в interval. */
      reconcile: z
        .strictObject({ enabled: bool().default(true), interval: duration().default(86_400_000) })
        .prefault({}),
      /** Возобновляемые загрузки tus (SPEC IN-1, BY-6): срок сессии и как часто убирать истёкшие. */
      uploads: z
        .strictObject({ expiration: duration().default(86_400_000), sweep_interval: duration().default(600_000) })
        .prefault({}),
    })
    .refine((s) => s.type !== 's3' || s.s3?.bucket !== undefined, { message: 'storage.type = s3 требует storage.s3.bucket', path: ['s3', 'bucket'] })
    .prefault({}),
  /**
   * Элементы хранения в конфигурации. admin-module заносит их в реестр при старте (конфигурация как код,
   * BY-7); ingester и query берут их, только если документа обнаружения нет ни в координации, ни в файле (AD-8).
   */
  storage_elements: z.array(storageElementRef).default([]),
  /**
   * Обнаружение SE (SPEC AD-7, AD-8). poll_interval — как часто лидер admin-module опрашивает SE
   * (готовность, режим, место); refresh_interval — как часто ingester и query перечитывают документ из
   * координации на случай потерянного уведомления.
   */
  discovery: z
    .strictObject({ poll_interval: duration().default(10_000), refresh_interval: duration().default(15_000) })
    .prefault({}),
  /**
   * Выбор SE для загрузки (SPEC IN-2, IN-7). min_free — сколько свободного места должен показывать SE в
   * документе обнаружения для файла без заявленной длины; replay_buffer — сколько первых байтов тела
   * ingester держит в памяти, чтобы после явного отказа SE (507, смена режима, нет мастера) отправить
   * файл следующему SE.
   */
  ingester: z
    .strictObject({
      min_free: size().default(64 * 2 ** 20),
      replay_buffer: size().default(256 * 2 ** 10),
      /**
       * Восстановление незавершённой работы умерших экземпляров (SPEC IN-4, IN-6): каждый экземпляр раз в
       * heartbeat_interval отмечает свою работу; чужую без отметки дольше stale_after раз в check_interval
       * забирает и доводит другой; завершённые саги старше keep_finished удаляются.
       */
      recovery: z
        .strictObject({
          heartbeat_interval: duration().default(5_000),
          stale_after: duration().default(30_000),
          check_interval: duration().default(10_000),
          keep_finished: duration().default(7 * 86_400_000),
        })
        .refine((r) => r.stale_after > r.heartbeat_interval, 'stale_after больше heartbeat_interval')
        .prefault({}),
      /**
       * Сжатие на лету (SPEC IN-3): ingester выбирает кодировку по типу содержимого, SE сжимает при записи.
       * Шаблоны типов — glob по `type/subtype` без параметров (`*` — любые символы); never сильнее compress,
       * тип вне обоих списков не сжимается. level: br 0–11, gzip 1–9; по умолчанию br 1 / gzip 4
       * (DEFAULT_ENCODING_LEVELS в contracts, замеры — bench/compression.ts).
       */
      compression: z
        .strictObject({
          enabled: bool().default(true),
          algorithm: z.enum(['br', 'gzip']).default('br'),
          level: int(0, 11).optional(),
          /** Файл с заявленной длиной меньше этого не сжимается: заголовки кодировки съедят выигрыш. */
          min_size: size().default(1024),
          compress: list(z.string().min(1)).default([
            'text/*',
            'application/json',
            '*+json',
            'application/x-ndjson',
            'application/xml',
            '*+xml',
            'application/javascript',
            'application/ecmascript',
            'application/x-javascript',
            'application/csv',
            'application/rtf',
            'application/yaml',
            'application/x-yaml',
            'application/toml',
            'application/sql',
            'application/x-sh',
            'application/postscript',
            'application/x-tar',
            'application/msword',
            'application/vnd.ms-excel',
            'application/vnd.ms-powerpoint',
            'application/vnd.visio',
            'image/bmp',
            'image/x-ms-bmp',
          ]),
          never: list(z.string().min(1)).default([
            'application/octet-stream',
            'application/zip',
            '*+zip',
            'application/gzip',
            'application/x-gzip',
            'application/x-bzip2',
            'application/x-xz',
            'application/zstd',
            'application/x-7z-compressed',
            'application/vnd.rar',
            'application/x-rar-compressed',
            'application/x-compress',
            'application/x-lzip',
            'application/x-lzma',
            'application/java-archive',
            'application/vnd.android.package-archive',
            'application/vnd.openxmlformats-officedocument.*',
            'application/vnd.oasis.opendocument.*',
            'application/vnd.ms-excel.sheet.macroenabled.12',
            'application/pdf',
            'image/jpeg',
            'image/png',
            'image/gif',
            'image/webp',
            'image/avif',
            'image/heic',
            'image/heif',
            'image/jxl',
            'audio/*',
            'video/*',
            'font/woff',
            'font/woff2',
          ]),
        })
        .refine((c) => c.algorithm !== 'gzip' || c.level === undefined || (c.level >= 1 && c.level <= 9), {
          message: 'для gzip level — от 1 до 9',
          path: ['level'],
        })
        .prefault({}),
      /**
       * Тело сырой загрузки с Content-Encoding (SPEC IN-1) распаковывается в ingester с границей против
       * сжатых бомб: распакованных байтов не больше allowance + max_ratio × сжатых и не больше max_size.
       */
      content_encoding: z
        .strictObject({
          max_ratio: int(1, 1_000_000).default(100),
          allowance: size().default(2 ** 20),
          max_size: size().default(64 * 2 ** 30),
        })
        .prefault({}),
    })
    .prefault({}),
  query: z
    .strictObject({
      poll_interval_ms: int(50).default(2000),
      consistency_wait_ms: int(0, 60_000).default(5000),
      change_batch_size: int(1, 10_000).default(500),
      /** Кеш чтений индекса (SPEC QR-5): записей в LRU процесса (0 — без него) и срок жизни записи в обоих слоях. */
      cache: z
        .strictObject({ local_entries: int(0, 1_000_000).default(10_000), ttl_ms: int(1000, 86_400_000).default(60_000) })
        .prefault({}),
    })
    .prefault({}),
  /**
   * Журнал аудита admin-module (SPEC AD-9, BY-8): подписанные контрольные точки цепочки — раз в
   * checkpoint_interval и через каждые checkpoint_every записей. Обрезку хвоста, дописанного после
   * последней точки, подпись не ловит: интервал — это окно такой потери.
   */
  audit: z
    .strictObject({
      checkpoint_interval: duration().default(300_000),
      checkpoint_every: int(1, 1_000_000).default(1000),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ServiceName = keyof Config['services'];

export interface LoadConfigOptions {
  /** Путь к YAML; по умолчанию ARTSTORE_CONFIG, если задан. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Значения поверх файла и окружения (тесты, CLI-флаги). */
  overrides?: Record<string, unknown>;
}

/** Читает, сливает и проверяет конфигурацию. Бросает ArtError CONFIG_INVALID с перечнем ключей. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.ARTSTORE_CONFIG;
  const fromFile = file === undefined ? {} : readYaml(file);
  const { values: fromEnv, sources } = envToObject(env);
  const merged = deepMerge(deepMerge(fromFile, fromEnv), options.overrides ?? {});
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    // Источник — переменная, задавшая сам ключ или что-то внутри него (ARTSTORE_X__A=1 даёт
    // неизвестный ключ «x»), иначе файл. Каждый неизвестный ключ — своей строкой со своим источником.
    const sourceOf = (where: string): string => {
      const exact = sources.get(where);
      if (exact !== undefined) return exact;
      for (const [path, source] of sources) if (path.startsWith(`${where}.`)) return source;
      return file ? `файл ${file}` : 'не задан';
    };
    const lines = result.error.issues.flatMap((issue) => {
      const key = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((k) => {
          const where = key ? `${key}.${k}` : k;
          return `${where}: неизвестный ключ [${sourceOf(where)}]`;
        });
      }
      const where = key || '(корень)';
      return [`${where}: ${issue.message} [${sourceOf(where)}]`];
    });
    throw new ArtError('CONFIG_INVALID', `Некорректная конфигурация:\n  ${lines.join('\n  ')}`);
  }
  const config = result.data;
  config.data_dir = resolve(config.data_dir);
  return config;
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ArtError('CONFIG_INVALID', `Не удалось прочитать файл конфигурации ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new ArtError('CONFIG_INVALID', `Файл ${file} — некорректный YAML: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ArtError('CONFIG_INVALID', `Файл ${file}: на верхнем уровне ожидается объект`);
  }
  return parsed as Record<string, unknown>;
}

/** ARTSTORE_DATABASE__HOST=x → { database: { host: 'x' } }; запоминает, откуда пришёл каждый ключ. */
function envToObject(env: NodeJS.ProcessEnv): { values: Record<string, unknown>; sources: Map<string, string> } {
  const values: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    if (NON_CONFIG_ENV.has(name) || NON_CONFIG_ENV_PREFIXES.some((p) => name.startsWith(p))) continue;
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split('__');
    let node = values;
    for (const segment of path.slice(0, -1)) {
      const next = node[segment];
      node = (typeof next === 'object' && next !== null ? next : (node[segment] = {})) as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = value;
    sources.set(path.join('.'), `переменная ${name}`);
  }
  return { values, sources };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

/** Адрес сервиса для других сервисов. */
export function serviceUrl(config: Config, service: ServiceName): string {
  const endpoint = config.services[service];
  return (endpoint.url ?? `http://${endpoint.host === '0.0.0.0' ? '127.0.0.1' : endpoint.host}:${endpoint.port}`).replace(/\/$/, '');
}

/**
 * Точки внедрения сбоев для тестов устойчивости (ARTSTORE_TEST_FAULTS, например
 * `se.after-data-rename:kill@3`). Профиль production их не принимает — это проверяет сервис.
 */
export function readTestFaults(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.ARTSTORE_TEST_FAULTS;
}

/** Настройки клиента CLI: адрес шлюза и учётные данные из окружения (флаги CLI их перекрывают). */
export function readClientEnv(env: NodeJS.ProcessEnv = process.env): {
  url?: string;
  token?: string;
  username?: string;
  password?: string;
  /** Код TOTP для входа с двухфакторной аутентификацией (SPEC AD-6). */
  otp?: string;
} {
  return { url: env.ARTSTORE_URL, token: env.ARTSTORE_TOKEN, username: env.ARTSTORE_USERNAME, password: env.ARTSTORE_PASSWORD, otp: env.ARTSTORE_OTP };
}
