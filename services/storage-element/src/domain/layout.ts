// Самоописывающий корень SE (SPEC BY-1): маркер формата (как `0=ocfl_1.1` у OCFL), artstore_layout.json
// (раскладка, схема attr, открытые ключи подписи) и README — чтобы данные можно было понять и
// восстановить без ArtStore. Корень привязан к своему element_id: чужой корень SE не откроет.
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { ArtError, isArtError, type BlobStore } from '@artstore/core';
import { ATTR_SCHEMA } from './attr.js';
import type { PublicSigningKey } from './attr-signing.js';
import { layoutReadme } from './layout-readme.js';
import { ATTR_SUFFIX } from './naming.js';

export const LAYOUT_VERSION = 'artstore_se_1.0';
export const LAYOUT_MARKER = `0=${LAYOUT_VERSION}`;
export const LAYOUT_FILE = 'artstore_layout.json';
export const LAYOUT_README = 'README.md';
/** Служебные файлы корня: при обходе данных (перестройка кеша) пропускаются. */
export const LAYOUT_FILES = new Set([LAYOUT_MARKER, LAYOUT_FILE, LAYOUT_README]);

export interface LayoutDescription {
  layout: typeof LAYOUT_VERSION;
  element_id: string;
  created_at: string;
  path_pattern: string;
  attr_suffix: string;
  attr_schema: typeof ATTR_SCHEMA;
  /** Все ключи, которыми когда-либо подписывались attr этого SE: старые не удаляются. */
  signing_keys: PublicSigningKey[];
}

async function readText(blobs: BlobStore, key: string): Promise<string | null> {
  try {
    return await text(await blobs.get(key));
  } catch (error) {
    if (isArtError(error, 'BLOB_NOT_FOUND')) return null;
    throw error;
  }
}

const put = (blobs: BlobStore, key: string, content: string) => blobs.put(key, Readable.from([Buffer.from(content, 'utf8')]));

/** Разметка корня или null, если корень ещё не размечен; чужой формат — ошибка. */
export async function readLayout(blobs: BlobStore): Promise<LayoutDescription | null> {
  const existing = await readText(blobs, LAYOUT_FILE);
  if (existing === null) return null;
  const parsed = JSON.parse(existing) as Partial<Record<keyof LayoutDescription, unknown>>;
  if (parsed.layout !== LAYOUT_VERSION) {
    throw new ArtError('CONFIG_INVALID', `Корень SE размечен форматом ${JSON.stringify(parsed.layout)}, ожидается ${LAYOUT_VERSION}`);
  }
  return parsed as LayoutDescription;
}

/** Создаёт разметку корня при первом старте, проверяет её при следующих; добавляет новый ключ подписи. */
export async function ensureLayout(blobs: BlobStore, elementId: string, signingKey: PublicSigningKey): Promise<LayoutDescription> {
  const existing = await readLayout(blobs);
  let layout: LayoutDescription;
  if (existing === null) {
    layout = {
      layout: LAYOUT_VERSION,
      element_id: elementId,
      created_at: new Date().toISOString(),
      path_pattern: 'YYYY/MM/DD/HH/<safe-stem>_<id><.ext>',
      attr_suffix: ATTR_SUFFIX,
      attr_schema: ATTR_SCHEMA,
      signing_keys: [signingKey],
    };
    await put(blobs, LAYOUT_MARKER, `${LAYOUT_VERSION}\n`);
    await put(blobs, LAYOUT_README, layoutReadme(elementId));
  } else {
    layout = existing;
    if (layout.element_id !== elementId) {
      throw new ArtError(
        'CONFIG_INVALID',
        `Корень хранилища принадлежит элементу ${layout.element_id}, а storage.element_id = ${elementId}: проверьте storage.local.base_path`,
      );
    }
    if (layout.signing_keys.some((k) => k.key_id === signingKey.key_id)) return layout;
    layout = { ...layout, signing_keys: [...layout.signing_keys, signingKey] };
  }
  await put(blobs, LAYOUT_FILE, `${JSON.stringify(layout, null, 2)}\n`);
  return layout;
}
