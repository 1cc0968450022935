// Проверка метаданных пользователя (SPEC §9: description, tags, свободные ключи) — одна для ingester и SE.
import { ArtError } from '@artstore/core';
import type { FileMetadata } from './files.js';

const LIMITS = { description: 4096, tags: 64, tag: 128, customKeys: 64, customKey: 128, customValue: 4096 };

export function normalizeMetadata(input: unknown): FileMetadata {
  if (input === undefined || input === null) return { description: '', tags: [], custom: {} };
  if (typeof input !== 'object' || Array.isArray(input)) throw invalid('ожидается объект');
  const { description = '', tags = [], custom = {}, ...rest } = input as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw invalid(`неизвестные поля: ${Object.keys(rest).join(', ')}`);
  if (typeof description !== 'string' || description.length > LIMITS.description) {
    throw invalid(`description — строка до ${LIMITS.description} символов`);
  }
  if (!Array.isArray(tags) || tags.length > LIMITS.tags || !tags.every((t) => typeof t === 'string' && t.trim() !== '' && t.length <= LIMITS.tag)) {
    throw invalid(`tags — до ${LIMITS.tags} непустых строк до ${LIMITS.tag} символов`);
  }
  if (typeof custom !== 'object' || custom === null || Array.isArray(custom)) throw invalid('custom — объект строк');
  const entries = Object.entries(custom);
  if (
    entries.length > LIMITS.customKeys ||
    !entries.every(([k, v]) => k.length > 0 && k.length <= LIMITS.customKey && typeof v === 'string' && v.length <= LIMITS.customValue)
  ) {
    throw invalid(`custom — до ${LIMITS.customKeys} пар «строка: строка»`);
  }
  return {
    description: description.normalize('NFC'),
    tags: [...new Set((tags as string[]).map((t) => t.trim().normalize('NFC')))],
    custom: Object.fromEntries(entries),
  };
}

/** Теги из поля формы: JSON-массив или список через запятую. */
export function parseTagsField(value: string): string[] {
  const trimmed = value.trim();
  if (trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed) as string[];
    } catch {
      throw invalid('tags: некорректный JSON-массив');
    }
  }
  return trimmed.split(',').map((t) => t.trim()).filter(Boolean);
}

function invalid(detail: string): ArtError {
  return new ArtError('VALIDATION_FAILED', `Метаданные файла: ${detail}`);
}

/** JSON-схема тела правки метаданных (SPEC IN-8): её проверяют и ingester до пересылки, и сам SE. */
export const METADATA_PATCH_BODY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    description: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    custom: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

/** Параметры удаления (SPEC IN-5, SE-9): причина обязательна; override_retention — досрочно, право files:purge. */
export const DELETE_FILE_QUERY_SCHEMA = {
  type: 'object',
  required: ['reason'],
  additionalProperties: false,
  properties: {
    reason: { type: 'string', minLength: 1, maxLength: 1024 },
    override_retention: { type: 'boolean', default: false },
  },
} as const;
