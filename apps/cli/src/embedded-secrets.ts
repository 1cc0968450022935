// Секреты встроенного профиля: мастер-ключ и секрет внутренней сервисной учётной записи query-module
// создаются при первом старте в data_dir/secrets.json (права 0600) и переиспользуются дальше.
// В профиле production их задаёт оператор в конфигурации — этот файл не используется.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceUrl, type Config } from '@artstore/core';

interface EmbeddedSecrets {
  master_key: string;
  query_client_secret: string;
}

export const INTERNAL_QUERY_CLIENT = 'query-module';

function loadOrCreate(dataDir: string): EmbeddedSecrets {
  const file = join(dataDir, 'secrets.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as EmbeddedSecrets;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secrets: EmbeddedSecrets = {
    master_key: randomBytes(32).toString('base64'),
    query_client_secret: randomBytes(24).toString('base64url'),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return secrets;
}

/** Дополняет конфигурацию embedded-профиля тем, чего в ней нет: ключи, внутренний клиент, локальный SE. */
export function applyEmbeddedDefaults(config: Config): Config {
  if (config.profile !== 'embedded') return config;
  const secrets = loadOrCreate(config.data_dir);
  const auth = { ...config.auth, master_key: config.auth.master_key ?? secrets.master_key };
  if (!auth.client) {
    auth.client = { client_id: INTERNAL_QUERY_CLIENT, client_secret: secrets.query_client_secret };
    if (!auth.service_clients.some((c) => c.client_id === INTERNAL_QUERY_CLIENT)) {
      auth.service_clients = [
        ...auth.service_clients,
        { client_id: INTERNAL_QUERY_CLIENT, client_secret: secrets.query_client_secret, roles: ['indexer'], grants: [] },
      ];
    }
  }
  const storageElements =
    config.storage_elements.length > 0
      ? config.storage_elements
      : [{ id: config.storage.element_id, url: serviceUrl(config, 'storage_element'), priority: 100 }];
  return { ...config, auth, storage_elements: storageElements };
}
