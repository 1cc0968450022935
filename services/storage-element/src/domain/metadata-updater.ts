// Правка метаданных файла на SE (SPEC IN-8, SE-2, SE-3): оптимистичная блокировка по версии (If-Match),
// новая версия attr с увеличенными векторными часами и новой подписью пишется атомарно (на диске всегда
// целиком старая или целиком новая версия), намерение — в WAL до записи.
import { Readable } from 'node:stream';
import { ArtError, uuidv7, type BlobStore, type Coordination, type Logger } from '@artstore/core';
import { normalizeMetadata, SE_CHANGES_CHANNEL, type SeChangeEvent } from '@artstore/contracts';
import type { FileCache } from '../store/file-cache.js';
import type { WriteAheadLog } from '../wal/index.js';
import { serializeAttr, type AttrRecord } from './attr.js';
import type { AttrSigner } from './attr-signing.js';
import type { KeyedLock } from './keyed-lock.js';
import type { ModeController } from './mode-controller.js';
import { ATTR_SUFFIX } from './naming.js';

export interface MetadataPatch {
  description?: string;
  tags?: string[];
  custom?: Record<string, string>;
}

export interface UpdateIntent {
  op: 'update';
  id: string;
  attr_path: string;
  version: number;
}

export interface MetadataUpdaterDeps {
  elementId: string;
  epoch: number;
  blobs: BlobStore;
  cache: FileCache;
  coordination: Coordination;
  logger: Logger;
  signer: AttrSigner;
  wal: WriteAheadLog;
  modes: ModeController;
  lock: KeyedLock;
}

export function createMetadataUpdater(deps: MetadataUpdaterDeps) {
  return {
    async update(id: string, expectedVersion: number, patch: MetadataPatch, actor: string): Promise<{ attr: AttrRecord; seq: number }> {
      deps.modes.assert('update_metadata');
      if (deps.wal.failed) throw new ArtError('STORAGE_WRITES_STOPPED', `SE ${deps.elementId} не принимает запись после сбоя журнала`);
      return deps.lock(id, async () => {
        const current = await deps.cache.get(id);
        if (!current || current.status !== 'active') throw new ArtError('FILE_NOT_FOUND', `Файл ${id} не найден`);
        if (current.version !== expectedVersion) {
          throw new ArtError('PRECONDITION_FAILED', `Версия файла ${current.version}, а If-Match требует ${expectedVersion}`, {
            extra: { current_version: current.version },
            headers: { etag: metadataEtag(current.version) },
          });
        }
        const metadata = normalizeMetadata({ ...current.metadata, ...patch });
        const { integrity: _old, ...rest } = current;
        const next = deps.signer.sign<AttrRecord>({
          ...rest,
          metadata,
          version: current.version + 1,
          updated_at: new Date().toISOString(),
          updated_by: actor,
          vector_clock: { ...current.vector_clock, [deps.elementId]: (current.vector_clock[deps.elementId] ?? 0) + 1 },
        });
        const attrPath = `${current.path}${ATTR_SUFFIX}`;
        const tx = uuidv7();
        const intent: UpdateIntent = { op: 'update', id, attr_path: attrPath, version: next.version };
        await deps.wal.append({ type: 'intent', tx, epoch: deps.epoch, ...intent });
        try {
          // Атомарная замена (temp → fsync → rename): читатель видит целиком старый или новый attr.
          await deps.blobs.put(attrPath, Readable.from([serializeAttr(next)]));
          const seq = await deps.cache.upsert(next);
          await deps.wal.append({ type: 'commit', tx, epoch: deps.epoch }, { durable: false });
          deps.logger.info({ file_id: id, version: next.version, seq }, 'file_metadata_updated');
          await deps.coordination
            .publish(SE_CHANGES_CHANNEL, JSON.stringify({ element_id: deps.elementId, seq } satisfies SeChangeEvent))
            .catch((error: unknown) => deps.logger.warn({ err: error }, 'change_publish_failed'));
          return { attr: next, seq };
        } catch (error) {
          // Откат: возвращаем прежний attr (тоже атомарно). Не удалось — намерение остаётся открытым,
          // и восстановление при старте сведёт кеш с тем attr, что окажется на диске (он всегда целый).
          const restored = await deps.blobs.put(attrPath, Readable.from([serializeAttr(current)])).then(
            () => true,
            () => false,
          );
          if (restored) await deps.wal.append({ type: 'abort', tx, epoch: deps.epoch }, { durable: false }).catch(() => undefined);
          throw error;
        }
      });
    },
  };
}
export type MetadataUpdater = ReturnType<typeof createMetadataUpdater>;

/** ETag версии метаданных: "v<версия>" (отличается от ETag байтов — sha256). */
export function metadataEtag(version: number): string {
  return `"v${version}"`;
}

/** If-Match: "v3" → 3; иначе null. */
export function parseMetadataIfMatch(header: string | undefined): number | null {
  const match = /^\s*"v(\d{1,9})"\s*$/.exec(header ?? '');
  return match ? Number(match[1]) : null;
}
