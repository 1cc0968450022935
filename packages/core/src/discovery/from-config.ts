// Клиент обнаружения из конфигурации сервиса (SPEC AD-8): файл последнего документа — свой у каждого
// сервиса (во встроенном режиме ingester и query делят data_dir), запасной список — storage_elements.
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { ServiceRuntime } from '../runtime.js';
import { createDiscoveryClient, type DiscoveryClient } from './discovery-client.js';

export function discoveryCacheFile(dataDir: string, service: string): string {
  return join(dataDir, 'discovery', `${service}.json`);
}

export function discoveryFromConfig(
  runtime: Pick<ServiceRuntime, 'config' | 'coordination' | 'logger'>,
  service: string,
  registry: Registry,
): DiscoveryClient {
  const { config } = runtime;
  return createDiscoveryClient({
    coordination: runtime.coordination,
    cacheFile: discoveryCacheFile(config.data_dir, service),
    staticElements: config.storage_elements,
    logger: runtime.logger,
    refreshIntervalMs: config.discovery.refresh_interval,
    registry,
  });
}
