// artstore start [all|admin-module|storage-element|ingester-module|query-module|gateway] (SPEC §1, X-10).
// all — встроенный режим: все сервисы и шлюз в одном процессе на общих портах-реализациях.
import { mkdirSync } from 'node:fs';
import { startAdminModule } from '@artstore/admin-module';
import { createLogger, loadConfig, type Backends, type Config, type Logger, type RunningService } from '@artstore/core';
import { startGateway } from '@artstore/gateway';
import { startIngesterModule } from '@artstore/ingester-module';
import { startQueryModule } from '@artstore/query-module';
import { startStorageElement, storageBasePath } from '@artstore/storage-element';
import { createBackends, createBlobStore, type OwnedBackends } from '../backends.js';
import { applyEmbeddedDefaults } from '../embedded-secrets.js';

export const STARTABLE = ['all', 'admin-module', 'storage-element', 'ingester-module', 'query-module', 'gateway'] as const;
export type Startable = (typeof STARTABLE)[number];

type Starter = (config: Config, logger: Logger, backends: Backends) => Promise<RunningService>;

const starters: Record<Exclude<Startable, 'all'>, Starter> = {
  'admin-module': (config, logger, backends) => startAdminModule({ config, logger, ...backends }),
  'storage-element': (config, logger, backends) =>
    startStorageElement({ config, logger, ...backends, blobs: createBlobStore(config, storageBasePath({ config })) }),
  'ingester-module': (config, logger, backends) => startIngesterModule({ config, logger, ...backends }),
  'query-module': (config, logger, backends) => startQueryModule({ config, logger, ...backends }),
  gateway: (config, logger) => startGateway({ config, logger }),
};

/** Порядок запуска: admin раньше всех (JWKS, токен сервиса), шлюз — последним. */
const EMBEDDED_ORDER: Exclude<Startable, 'all'>[] = ['admin-module', 'storage-element', 'query-module', 'ingester-module', 'gateway'];

export async function runStart(target: Startable, options: { config?: string }): Promise<void> {
  const started = performance.now();
  const config = applyEmbeddedDefaults(loadConfig({ file: options.config }));
  // Поле service добавляет каждый сервис в своём дочернем журнале.
  const logger = createLogger({ level: config.log.level });
  mkdirSync(config.data_dir, { recursive: true });
  const backends: OwnedBackends = await createBackends(config, target === 'all' ? 'embedded' : target, logger);
  const running: RunningService[] = [];
  let stopping = false;

  async function stop(reason: string, code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutdown_started');
    for (const service of running.reverse()) {
      await service.stop().catch((error: unknown) => logger.error({ err: error, service: service.name }, 'service_stop_failed'));
    }
    await backends.close().catch((error: unknown) => logger.error({ err: error }, 'backends_close_failed'));
    logger.info('shutdown_completed');
    process.exit(code);
  }
  process.once('SIGINT', () => void stop('SIGINT', 0));
  process.once('SIGTERM', () => void stop('SIGTERM', 0));

  try {
    for (const name of target === 'all' ? EMBEDDED_ORDER : [target]) {
      running.push(await starters[name](config, logger, backends));
    }
  } catch (error) {
    logger.fatal({ err: error }, 'startup_failed');
    console.error(`\nНе удалось запустить ${target}: ${(error as Error).message}\n`);
    await stop('startup_failed', 1);
    return;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  logger.info({ services: running.map((s) => ({ name: s.name, url: s.url })), startup_seconds: Number(seconds) }, 'artstore_started');
  printBanner(config, running, seconds);
}

function printBanner(config: Config, running: RunningService[], seconds: string): void {
  const lines = [
    '',
    `ArtStore запущен за ${seconds} с (профиль ${config.profile}, данные: ${config.data_dir})`,
    ...running.map((s) => `  ${s.name.padEnd(16)} ${s.url}`),
  ];
  const gateway = running.find((s) => s.name === 'gateway');
  if (gateway) lines.push('', `Точка входа: ${gateway.url}  (API: ${gateway.url}/api/…)`);
  if (config.profile === 'embedded' && running.some((s) => s.name === 'admin-module')) {
    lines.push('Первый вход: admin / admin123 — пароль нужно сменить при первом входе, затем подключить двухфакторную аутентификацию (TOTP).');
  }
  lines.push('Остановка: Ctrl+C', '');
  process.stderr.write(`${lines.join('\n')}\n`);
}
