// Новая версия attr существующего файла (правка метаданных, удаление, очистка байтов): версия +1,
// векторные часы +1, новая подпись; намерение в WAL до записи, attr заменяется атомарно — на диске
// всегда целиком старая или новая версия (SPEC SE-2, SE-3). При ошибке прежний attr возвращается.
// Текущая версия (строка кеша) сначала проверяется по подписи: подделку нельзя «узаконить» переподписью.
import { Readable } from 'node:stream';
import { uuidv7, type BlobStore, type Coordination, type Logger } from '@artstore/core';
import { SE_CHANGES_CHANNEL, type SeChangeEvent } from '@artstore/contracts';
import type { FileCache } from '../store/file-cache.js';
import type { WriteAheadLog } from '../wal/index.js';
import { serializeAttr, type AttrRecord, type UnsignedAttr } from './attr.js';
import { assertAttrSignature, type AttrSigner, type PublicSigningKey } from './attr-signing.js';
import type { Mastership } from './mastership.js';
import { ATTR_SUFFIX } from './naming.js';

export interface UpdateIntent {
  op: 'update';
  id: string;
  attr_path: string;
  version: number;
}

export interface AttrReplacerDeps {
  elementId: string;
  mastership: Mastership;
  blobs: BlobStore;
  cache: FileCache;
  coordination: Coordination;
  logger: Logger;
  signer: AttrSigner;
  /** Открытые ключи корня SE (artstore_layout.json): ими проверяется текущая версия. */
  signingKeys: readonly PublicSigningKey[];
  wal: WriteAheadLog;
}

export function createAttrReplacer(deps: AttrReplacerDeps) {
  return async function replaceAttr(
    current: AttrRecord,
    change: (unsigned: UnsignedAttr) => UnsignedAttr,
    actor: string,
  ): Promise<{ attr: AttrRecord; seq: number }> {
    assertAttrSignature(current, deps.signingKeys, deps.logger);
    const epoch = deps.mastership.writeEpoch();
    const { integrity: _old, ...rest } = current;
    const next = deps.signer.sign<AttrRecord>(
      change({
        ...rest,
        version: current.version + 1,
        updated_at: new Date().toISOString(),
        updated_by: actor,
        vector_clock: { ...current.vector_clock, [deps.elementId]: (current.vector_clock[deps.elementId] ?? 0) + 1 },
      }),
    );
    const attrPath = `${current.path}${ATTR_SUFFIX}`;
    const tx = uuidv7();
    const intent: UpdateIntent = { op: 'update', id: current.id, attr_path: attrPath, version: next.version };
    await deps.wal.append({ type: 'intent', tx, epoch, ...intent });
    try {
      await deps.blobs.put(attrPath, Readable.from([serializeAttr(next)]));
      deps.mastership.assertEpoch(epoch);
      const seq = await deps.cache.upsert(next, epoch);
      await deps.wal.append({ type: 'commit', tx, epoch }, { durable: false });
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
      if (restored) await deps.wal.append({ type: 'abort', tx, epoch }, { durable: false }).catch(() => undefined);
      deps.mastership.assertEpoch(epoch);
      throw error;
    }
  };
}
export type ReplaceAttr = ReturnType<typeof createAttrReplacer>;
