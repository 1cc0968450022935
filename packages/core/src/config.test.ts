import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, readClientEnv, serviceUrl, type LoadConfigOptions } from './config.js';
import { isArtError } from './errors.js';
import { formatSize, parseSize } from './size.js';

const dir = mkdtempSync(join(tmpdir(), 'artstore-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
function yamlFile(text: string): string {
  const file = join(dir, `config-${++fileCounter}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** Ошибка загрузки конфигурации: CONFIG_INVALID, текст — для проверки ключей и источников. */
function configError(options: LoadConfigOptions): string {
  try {
    loadConfig(options);
  } catch (error) {
    assert.ok(isArtError(error, 'CONFIG_INVALID'), `ожидалась CONFIG_INVALID, получено ${String(error)}`);
    return error.message;
  }
  assert.fail('loadConfig должна была отказать');
}

describe('loadConfig', () => {
  it('без файла и окружения даёт значения по умолчанию и не создаёт секций database/redis', () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.profile, 'embedded');
    assert.equal(config.data_dir, resolve('./.data'));
    assert.equal(config.log.level, 'info');
    assert.equal(config.http.json_body_limit, 1024 * 1024);
    assert.equal(config.http.max_header_size, 16 * 1024);
    assert.deepEqual(config.http.cors.allowed_origins, []);
    assert.equal(config.http.public_metrics, true);
    assert.deepEqual(config.services.admin, { host: '127.0.0.1', port: 8000 });
    assert.equal(config.services.storage_element.port, 8010);
    assert.equal(config.auth.jwt.algorithm, 'RS256');
    assert.equal(config.auth.jwt.jwks_cooldown_ms, 30_000);
    assert.equal(config.storage.max_size, 10 * 2 ** 30);
    assert.equal(config.database, undefined, 'нет секции database — встроенный PGlite (SPEC X-1)');
    assert.equal(config.redis, undefined, 'нет секции redis — координация в процессе (SPEC X-1)');
  });

  it('читает YAML-файл, а окружение перекрывает файл, overrides — и то и другое', () => {
    const file = yamlFile(
      [
        'profile: production',
        'log:',
        '  level: warn',
        'database:',
        '  host: db.example',
        '  port: 5433',
        '  username: art',
        '  database: artstore',
        'services:',
        '  admin:',
        '    port: 9000',
      ].join('\n'),
    );
    const config = loadConfig({
      file,
      env: {
        ARTSTORE_DATABASE__HOST: 'db-from-env',
        ARTSTORE_LOG__LEVEL: 'debug',
        ARTSTORE_SERVICES__QUERY__PORT: '9300',
      },
      overrides: { log: { level: 'error' } },
    });
    assert.equal(config.profile, 'production');
    assert.equal(config.database?.host, 'db-from-env');
    assert.equal(config.database?.port, 5433, 'ключ из файла, не заданный в окружении, сохраняется');
    assert.equal(config.database?.username, 'art');
    assert.equal(config.database?.table_prefix, 'se_');
    assert.equal(config.log.level, 'error');
    assert.equal(config.services.admin.port, 9000);
    assert.equal(config.services.query.port, 9300);
    assert.equal(config.services.admin.host, '127.0.0.1', 'умолчания внутри частично заданной секции');
  });

  it('берёт путь к файлу из ARTSTORE_CONFIG и не считает эту переменную ключом', () => {
    const file = yamlFile('data_dir: /srv/artstore\n');
    const config = loadConfig({
      env: { ARTSTORE_CONFIG: file, ARTSTORE_URL: 'http://x', ARTSTORE_TOKEN: 't' },
    });
    assert.equal(config.data_dir, resolve('/srv/artstore'));
  });

  it('ARTSTORE_DATABASE__PORT=abc — ошибка называет database.port и переменную', () => {
    const message = configError({
      env: {
        ARTSTORE_DATABASE__HOST: 'h',
        ARTSTORE_DATABASE__USERNAME: 'u',
        ARTSTORE_DATABASE__DATABASE: 'd',
        ARTSTORE_DATABASE__PORT: 'abc',
      },
    });
    const line = message.split('\n').find((l) => l.includes('database.port'));
    assert.ok(line, message);
    assert.match(line, /ARTSTORE_DATABASE__PORT/);
    assert.doesNotMatch(message, /database\.host|database\.username/, 'верные ключи в ошибку не попадают');
  });

  it('пустая или нечисловая строка не превращается в число молча', () => {
    for (const value of ['', '  ', '0x1F', '1e3', '80.5', '-1', '70000']) {
      const message = configError({ env: { ARTSTORE_SERVICES__ADMIN__PORT: value } });
      assert.match(
        message,
        /services\.admin\.port: .*ARTSTORE_SERVICES__ADMIN__PORT/,
        `значение «${value}»: ${message}`,
      );
    }
    assert.equal(loadConfig({ env: { ARTSTORE_SERVICES__ADMIN__PORT: ' 8080 ' } }).services.admin.port, 8080);
  });

  it('сервисная учётная запись: гранты «роль@se:<id>», без ролей и грантов — ошибка с путём ключа', () => {
    const client = { client_id: 'archiver', client_secret: 'секрет-архиватора-2026' };
    const ok = loadConfig({ env: {}, overrides: { auth: { service_clients: [{ ...client, grants: ['uploader@se:se-a'] }] } } });
    assert.deepEqual(ok.auth.service_clients[0]!.grants, ['uploader@se:se-a']);
    assert.deepEqual(ok.auth.service_clients[0]!.roles, []);
    const bad = (entry: Record<string, unknown>) =>
      configError({ env: {}, overrides: { auth: { service_clients: [{ ...client, ...entry }] } } });
    assert.match(bad({ grants: ['uploader@se:../x'] }), /auth\.service_clients\.0\.grants\.0: ожидается «роль@se:<element_id>»/);
    assert.match(bad({ grants: ['uploader'] }), /auth\.service_clients\.0\.grants\.0/);
    assert.match(bad({}), /auth\.service_clients\.0: нужна хотя бы одна роль или грант/);
  });

  it('null в YAML для числа — ошибка, а не 0', () => {
    const file = yamlFile('services:\n  admin:\n    port: null\n');
    assert.match(configError({ file, env: {} }), /services\.admin\.port/);
  });

  it('неизвестный ключ в YAML называется полностью, с файлом-источником', () => {
    const file = yamlFile('database:\n  host: h\n  username: u\n  database: d\n  hots: typo\n');
    const message = configError({ file, env: {} });
    assert.match(message, /database\.hots: .*\[файл .*config-\d+\.yaml\]/);
  });

  it('неизвестный ключ в окружении называется полностью, с переменной-источником', () => {
    const message = configError({ env: { ARTSTORE_HTTP__CORS_ORIGINS: 'http://a' } });
    assert.match(message, /http\.cors_origins: .*ARTSTORE_HTTP__CORS_ORIGINS/);
    assert.match(configError({ env: { ARTSTORE_NOPE: '1' } }), /nope: .*ARTSTORE_NOPE/);
  });

  it('неизвестная секция и несколько неизвестных ключей — у каждого своя переменная', () => {
    assert.match(
      configError({ env: { ARTSTORE_CACHE__TTL: '5' } }),
      /^ {2}cache: .*\[переменная ARTSTORE_CACHE__TTL\]$/m,
    );
    const message = configError({ env: { ARTSTORE_HTTP__A: '1', ARTSTORE_HTTP__B: '2' } });
    assert.match(message, /^ {2}http\.a: .*\[переменная ARTSTORE_HTTP__A\]$/m);
    assert.match(message, /^ {2}http\.b: .*\[переменная ARTSTORE_HTTP__B\]$/m);
  });

  it('переменные ARTSTORE_TEST_* и не-ARTSTORE игнорируются', () => {
    const config = loadConfig({
      env: { ARTSTORE_TEST_RUN: 'r1', ARTSTORE_TEST_DATABASE__PORT: 'abc', HOME: '/root' },
    });
    assert.equal(config.database, undefined);
  });

  it('размеры строками: 1Gb, 500GB, 2TiB, число байт', () => {
    assert.equal(loadConfig({ env: { ARTSTORE_STORAGE__MAX_SIZE: '1Gb' } }).storage.max_size, 1e9);
    assert.equal(loadConfig({ env: { ARTSTORE_STORAGE__MAX_SIZE: '500GB' } }).storage.max_size, 500e9);
    assert.equal(loadConfig({ env: { ARTSTORE_STORAGE__MAX_SIZE: '2TiB' } }).storage.max_size, 2 * 2 ** 40);
    assert.equal(loadConfig({ env: { ARTSTORE_STORAGE__MAX_SIZE: '1073741824' } }).storage.max_size, 2 ** 30);
    const file = yamlFile('storage:\n  max_size: 2048\nhttp:\n  json_body_limit: 64KiB\n');
    const config = loadConfig({ file, env: {} });
    assert.equal(config.storage.max_size, 2048);
    assert.equal(config.http.json_body_limit, 65536);
    assert.match(
      configError({ env: { ARTSTORE_STORAGE__MAX_SIZE: 'lots' } }),
      /storage\.max_size: .*lots.*ARTSTORE_STORAGE__MAX_SIZE/,
    );
  });

  it('список из переменной через запятую', () => {
    const config = loadConfig({
      env: { ARTSTORE_HTTP__CORS__ALLOWED_ORIGINS: 'http://a.test, https://b.test,,' },
    });
    assert.deepEqual(config.http.cors.allowed_origins, ['http://a.test', 'https://b.test']);
  });

  it('логические значения: true/false/1/0, остальное — ошибка', () => {
    assert.equal(loadConfig({ env: { ARTSTORE_HTTP__PUBLIC_METRICS: 'false' } }).http.public_metrics, false);
    assert.equal(loadConfig({ env: { ARTSTORE_HTTP__PUBLIC_METRICS: '0' } }).http.public_metrics, false);
    assert.equal(loadConfig({ env: { ARTSTORE_HTTP__PUBLIC_METRICS: '1' } }).http.public_metrics, true);
    assert.match(configError({ env: { ARTSTORE_HTTP__PUBLIC_METRICS: 'yes' } }), /http\.public_metrics/);
  });

  it('redis: ровно один из url и cluster', () => {
    assert.equal(
      loadConfig({ env: { ARTSTORE_REDIS__URL: 'redis://127.0.0.1:6379' } }).redis?.url,
      'redis://127.0.0.1:6379',
    );
    assert.match(configError({ env: { ARTSTORE_REDIS__KEY_PREFIX: 'x:' } }), /redis: нужен ровно один/);
    assert.match(
      configError({ env: { ARTSTORE_REDIS__URL: 'http://x' } }),
      /redis\.url: .*ARTSTORE_REDIS__URL/,
    );
  });

  it('storage.s3: умолчания, ключи доступа из окружения, type: s3 требует bucket', () => {
    const file = yamlFile('storage:\n  type: s3\n  s3:\n    endpoint: http://minio.internal:9000\n    bucket: artstore-se\n');
    const config = loadConfig({
      file,
      env: { ARTSTORE_STORAGE__S3__ACCESS_KEY_ID: 'AKIA1', ARTSTORE_STORAGE__S3__SECRET_ACCESS_KEY: 'from-env-secret' },
    });
    assert.equal(config.storage.type, 's3');
    assert.deepEqual(config.storage.s3, {
      endpoint: 'http://minio.internal:9000',
      region: 'us-east-1',
      bucket: 'artstore-se',
      force_path_style: true,
      access_key_id: 'AKIA1',
      secret_access_key: 'from-env-secret',
    });
    assert.equal(loadConfig({ env: { ARTSTORE_STORAGE__S3__PREFIX: '' } }).storage.s3?.prefix, '', "'' — корень бакета");
    assert.match(configError({ env: { ARTSTORE_STORAGE__TYPE: 's3' } }), /storage\.s3\.bucket: storage\.type = s3 требует storage\.s3\.bucket/);
    assert.match(configError({ env: { ARTSTORE_STORAGE__TYPE: 'nfs' } }), /storage\.type: .*ARTSTORE_STORAGE__TYPE/);
    assert.match(configError({ env: { ARTSTORE_STORAGE__S3__BUCKET: 'Bad_Bucket' } }), /storage\.s3\.bucket: имя бакета/);
    const halfKey = configError({ env: { ARTSTORE_STORAGE__S3__BUCKET: 'b-1', ARTSTORE_STORAGE__S3__SECRET_ACCESS_KEY: 'lonely-secret' } });
    assert.match(halfKey, /storage\.s3: access_key_id и secret_access_key задаются вместе/);
    assert.doesNotMatch(halfKey, /lonely-secret/, 'значение секрета в ошибку не попадает');
  });

  it('отсутствующий файл — понятная ошибка с путём', () => {
    const missing = join(dir, 'no-such.yaml');
    const message = configError({ file: missing, env: {} });
    assert.ok(message.includes(missing), message);
    assert.match(message, /ENOENT/);
  });

  it('битый YAML и YAML не-объект — понятные ошибки', () => {
    assert.match(configError({ file: yamlFile('a: [1, 2\n'), env: {} }), /некорректный YAML/);
    assert.match(configError({ file: yamlFile('- 1\n- 2\n'), env: {} }), /ожидается объект/);
    assert.equal(
      loadConfig({ file: yamlFile(''), env: {} }).profile,
      'embedded',
      'пустой файл — все умолчания',
    );
  });
});

describe('serviceUrl и readClientEnv', () => {
  it('адрес по host:port, 0.0.0.0 → 127.0.0.1, явный url без завершающего «/»', () => {
    const config = loadConfig({
      env: {
        ARTSTORE_SERVICES__ADMIN__HOST: '0.0.0.0',
        ARTSTORE_SERVICES__QUERY__URL: 'https://query.example/',
      },
    });
    assert.equal(serviceUrl(config, 'admin'), 'http://127.0.0.1:8000');
    assert.equal(serviceUrl(config, 'query'), 'https://query.example');
  });

  it('readClientEnv берёт только переменные клиента', () => {
    assert.deepEqual(readClientEnv({ ARTSTORE_URL: 'http://gw', ARTSTORE_TOKEN: 't', ARTSTORE_OTP: '123456', OTHER: 'x' }), {
      url: 'http://gw',
      token: 't',
      username: undefined,
      password: undefined,
      otp: '123456',
    });
  });
});

describe('parseSize / formatSize', () => {
  it('десятичные и двоичные суффиксы без учёта регистра', () => {
    const cases: [string, number][] = [
      ['0', 0],
      ['1024', 1024],
      ['1b', 1],
      ['1k', 1000],
      ['1KB', 1000],
      ['1KiB', 1024],
      ['1kib', 1024],
      ['1Gb', 1e9],
      ['500GB', 500e9],
      ['2TiB', 2 * 2 ** 40],
      ['1.5MiB', 1.5 * 2 ** 20],
      [' 10 MB ', 10e6],
      ['1PiB', 2 ** 50],
    ];
    for (const [text, bytes] of cases) assert.equal(parseSize(text), bytes, text);
  });

  it('не размер — null', () => {
    for (const text of ['', 'GB', '-1GB', '1XB', '1e9', '1,5GB', '1 G B', '10000PiB']) {
      assert.equal(parseSize(text), null, text);
    }
  });

  it('formatSize', () => {
    assert.equal(formatSize(512), '512 B');
    assert.equal(formatSize(1536), '1.5 KiB');
    assert.equal(formatSize(2 * 2 ** 40), '2.0 TiB');
  });
});
