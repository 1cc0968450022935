// Клиент обнаружения SE (SPEC AD-8) для ingester и query. Источник истины — документ в координации
// (ключ + уведомление о новой версии); каждый более новый документ сохраняется в локальный файл.
// Координация недоступна — действует последний известный документ (из памяти или файла), а если его
// никогда не было — статическая конфигурация storage_elements. Версия никогда не идёт назад: документ
// старше текущего (устаревший лидер, Redis после потери данных) игнорируется.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import { withTimeout } from '../concurrency/with-timeout.js';
import { fsyncDirectory } from '../fs/fsync-directory.js';
import type { Logger } from '../logger.js';
import type { Coordination, Unsubscribe } from '../ports/coordination.js';
import {
  DISCOVERY_CHANNEL,
  DISCOVERY_KEY,
  parseDiscoveryDocument,
  staticDocument,
  type DiscoveryDocument,
  type StaticElementRef,
} from './document.js';

/** Откуда текущий документ: подтверждён координацией, последний сохранённый или статическая конфигурация. */
export type DiscoverySource = 'coordination' | 'file' | 'static';
const SOURCES: readonly DiscoverySource[] = ['coordination', 'file', 'static'];

export interface DiscoveryClientOptions {
  coordination: Coordination;
  /** Файл последнего известного документа; пишется атомарно (временный файл, fsync, rename). */
  cacheFile: string;
  /** Последний запасной вариант — секция storage_elements конфигурации. */
  staticElements: readonly StaticElementRef[];
  logger: Logger;
  /** Перечитывание ключа: страховка от потерянного уведомления и способ заметить возврат координации. */
  refreshIntervalMs: number;
  /** Сколько ждать ответа координации, прежде чем считать её недоступной. По умолчанию 2 000. */
  timeoutMs?: number;
  /** Реестр метрик сервиса: artstore_discovery_version и artstore_discovery_source. */
  registry?: Registry;
}

export interface DiscoveryStatus {
  source: DiscoverySource;
  version: number;
  storage_elements: number;
  /** Последняя ошибка координации, пока она недоступна. */
  coordination_error?: string;
}

export interface DiscoveryClient {
  current(): DiscoveryDocument;
  readonly source: DiscoverySource;
  /** Для /health/ready. */
  status(): DiscoveryStatus;
  /** Вызывается с каждым принятым более новым документом. */
  onChange(listener: (document: DiscoveryDocument) => void): void;
  start(): Promise<void>;
  /** Перечитать документ из координации сейчас (по уведомлению, по таймеру). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export function createDiscoveryClient(options: DiscoveryClientOptions): DiscoveryClient {
  const { coordination, cacheFile, logger } = options;
  const timeoutMs = options.timeoutMs ?? 2000;
  const listeners: ((document: DiscoveryDocument) => void)[] = [];
  let document = staticDocument(options.staticElements);
  /** Текущий документ подтверждён последним чтением координации. */
  let confirmed = false;
  let coordinationError: string | undefined;
  let subscription: Promise<Unsubscribe | undefined> | undefined;
  let queue: Promise<void> = Promise.resolve();
  let queued = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const source = (): DiscoverySource =>
    confirmed ? 'coordination' : document.version > 0 ? 'file' : 'static';

  if (options.registry) {
    const registers = [options.registry];
    new Gauge({
      name: 'artstore_discovery_version',
      help: 'Версия действующего документа обнаружения SE (0 — статическая конфигурация)',
      registers,
      collect() {
        this.set(document.version);
      },
    });
    new Gauge({
      name: 'artstore_discovery_source',
      help: 'Откуда действующий документ обнаружения SE: 1 у текущего источника',
      labelNames: ['source'] as const,
      registers,
      collect() {
        for (const name of SOURCES) this.set({ source: name }, name === source() ? 1 : 0);
      },
    });
  }

  async function persist(next: DiscoveryDocument): Promise<void> {
    const temp = `${cacheFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(cacheFile), { recursive: true });
      const handle = await open(temp, 'w');
      try {
        await handle.writeFile(`${JSON.stringify(next)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, cacheFile);
      await fsyncDirectory(dirname(cacheFile));
    } catch (error) {
      // Документ уже действует из памяти; без файла пострадает только следующий старт без координации.
      await rm(temp, { force: true });
      logger.warn({ err: error, file: cacheFile }, 'discovery_cache_write_failed');
    }
  }

  async function adopt(next: DiscoveryDocument): Promise<void> {
    const previous = document.version;
    document = next;
    confirmed = true;
    await persist(next);
    logger.info(
      { version: next.version, previous, storage_elements: next.storage_elements.length },
      'discovery_document_adopted',
    );
    for (const listener of listeners) {
      try {
        listener(next);
      } catch (error) {
        logger.error({ err: error }, 'discovery_listener_failed');
      }
    }
  }

  async function readCoordination(): Promise<void> {
    let text: string | null;
    try {
      text = await withTimeout(coordination.get(DISCOVERY_KEY), timeoutMs, 'координация: чтение документа');
    } catch (error) {
      if (coordinationError === undefined) {
        logger.warn(
          { err: error, version: document.version, fallback: document.version > 0 ? 'file' : 'static' },
          'discovery_coordination_unavailable',
        );
      }
      coordinationError = (error as Error).message;
      confirmed = false;
      return;
    }
    if (coordinationError !== undefined)
      logger.info({ version: document.version }, 'discovery_coordination_restored');
    coordinationError = undefined;
    const published = text === null ? undefined : parseDiscoveryDocument(text);
    if (text !== null && published === undefined)
      logger.warn({ key: DISCOVERY_KEY }, 'discovery_document_invalid');
    if (published === undefined) {
      confirmed = false;
      return;
    }
    if (published.version > document.version) await adopt(published);
    else confirmed = published.version === document.version;
  }

  /** Чтения идут по одному; пока одно ждёт очереди, новые запросы к нему присоединяются. */
  function refresh(): Promise<void> {
    if (queued) return queue;
    queued = true;
    queue = queue.then(() => {
      queued = false;
      return stopped ? undefined : readCoordination();
    });
    return queue;
  }

  function ensureSubscribed(): void {
    subscription ??= coordination
      .subscribe(DISCOVERY_CHANNEL, () => void refresh())
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'discovery_subscribe_failed');
        subscription = undefined;
        return undefined;
      });
  }

  async function loadFile(): Promise<void> {
    let text: string;
    try {
      text = await readFile(cacheFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        logger.warn({ err: error, file: cacheFile }, 'discovery_cache_read_failed');
      return;
    }
    const saved = parseDiscoveryDocument(text);
    if (saved) document = saved;
    else logger.warn({ file: cacheFile }, 'discovery_cache_invalid');
  }

  return {
    current: () => document,
    get source() {
      return source();
    },
    status: () => ({
      source: source(),
      version: document.version,
      storage_elements: document.storage_elements.length,
      ...(coordinationError === undefined ? {} : { coordination_error: coordinationError }),
    }),
    onChange(listener) {
      listeners.push(listener);
    },
    async start() {
      await loadFile();
      ensureSubscribed();
      // Подписка в недоступный Redis ждёт соединения; старт сервиса её не ждёт дольше таймаута.
      await withTimeout(subscription!, timeoutMs, 'координация: подписка').catch(() => undefined);
      await refresh();
      logger.info(this.status(), 'discovery_started');
      const tick = () => {
        ensureSubscribed();
        void refresh().finally(() => {
          if (stopped) return;
          timer = setTimeout(tick, options.refreshIntervalMs);
          timer.unref();
        });
      };
      timer = setTimeout(tick, options.refreshIntervalMs);
      timer.unref();
    },
    refresh,
    async close() {
      stopped = true;
      clearTimeout(timer);
      await queue;
      // Недоступный Redis не должен держать остановку сервиса: подписка и отписка — не дольше таймаута.
      const unsubscribe = await withTimeout(
        subscription ?? Promise.resolve(undefined),
        timeoutMs,
        'координация: подписка',
      ).catch(() => undefined);
      if (unsubscribe) await withTimeout(unsubscribe(), timeoutMs, 'координация: отписка').catch(() => undefined);
    },
  };
}
