// Корень SE для замера перестройки кеша (SPEC SE-6): N пар «данные + attr» пишутся прямо на диск,
// без HTTP, WAL и БД — иначе 100 000 файлов готовились бы дольше, чем длится сам замер. Зато attr
// строится, подписывается и сериализуется кодом самого SE (ATTR_SCHEMA, storedPath, AttrSigner,
// serializeAttr, ensureLayout) — второго формата attr здесь нет, и перестройка видит ровно то, что
// видела бы после настоящих загрузок. fsync не делается: файлы — вход замера, а не данные клиента.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createLocalFsBlobStore } from '@artstore/adapters';
import { uuidv7, type BlobStore } from '@artstore/core';
import { ATTR_SCHEMA, serializeAttr, type AttrRecord } from '../../services/storage-element/src/domain/attr.js';
import { loadOrCreateAttrSigner } from '../../services/storage-element/src/domain/attr-signing.js';
import { ensureLayout, type LayoutDescription } from '../../services/storage-element/src/domain/layout.js';
import { ATTR_SUFFIX, storedPath } from '../../services/storage-element/src/domain/naming.js';
import { runPool } from './http-client.js';

export interface AttrCorpusOptions {
  /** Корень SE (будущий storage.local.base_path). */
  root: string;
  /** Закрытый ключ подписи attr; создаётся, если его нет (как при первом старте SE). */
  keyPath: string;
  elementId: string;
  count: number;
  /** Размер файла данных, байт. */
  dataBytes: number;
  /** Сколько файлов пишется одновременно (пул libuv всё равно 4 потока). */
  concurrency?: number;
}

export interface AttrCorpus {
  blobs: BlobStore;
  layout: LayoutDescription;
  /** Суммарный размер всех attr-файлов, байт (для отчёта). */
  attrBytes: number;
}

/** Время «загрузки» первого файла; следующие — через секунду: ~28 каталогов-часов по 3 600 пар. */
const FIRST_UPLOAD = Date.UTC(2026, 10, 1, 0, 0, 0);
const STEP_MS = 1000;

export async function writeAttrCorpus(options: AttrCorpusOptions): Promise<AttrCorpus> {
  const blobs = createLocalFsBlobStore({ root: options.root });
  const signer = await loadOrCreateAttrSigner(options.keyPath);
  const layout = await ensureLayout(blobs, options.elementId, signer.publicKey);
  const pool = randomBytes(options.dataBytes + options.count);
  // Каталог создаётся один раз; параллельные записи в тот же каталог ждут тот же mkdir.
  const createdDirs = new Map<string, Promise<unknown>>();
  let attrBytes = 0;
  await runPool(options.count, options.concurrency ?? 32, async (i) => {
    const uploadedAt = new Date(FIRST_UPLOAD + i * STEP_MS);
    const id = uuidv7(uploadedAt.getTime());
    const originalName = `bench-rebuild-${String(i).padStart(6, '0')}.bin`;
    const path = storedPath(originalName, id, uploadedAt);
    // У каждого файла свои байты (сдвиг окна в общем случайном буфере) и свой sha256.
    const data = pool.subarray(i, i + options.dataBytes);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const stamp = uploadedAt.toISOString();
    // Те же поля и значения, что ставит file-writer.ts при первой записи файла.
    const attr = signer.sign<AttrRecord>({
      schema: ATTR_SCHEMA,
      id,
      element_id: options.elementId,
      path,
      original_name: originalName,
      content_type: 'application/octet-stream',
      size: data.length,
      sha256,
      stored: { encoding: 'identity', size: data.length, sha256 },
      created_at: stamp,
      created_by: 'bench',
      updated_at: stamp,
      updated_by: 'bench',
      retention_until: null,
      status: 'active',
      metadata: { description: '', tags: [], custom: {} },
      version: 1,
      vector_clock: { [options.elementId]: 1 },
    });
    const file = join(options.root, path);
    const dir = dirname(file);
    let created = createdDirs.get(dir);
    if (created === undefined) createdDirs.set(dir, (created = mkdir(dir, { recursive: true })));
    await created;
    const serialized = serializeAttr(attr);
    attrBytes += serialized.length;
    await writeFile(file, data, { flag: 'wx' });
    await writeFile(`${file}${ATTR_SUFFIX}`, serialized, { flag: 'wx' });
  });
  return { blobs, layout, attrBytes };
}
