// JSON-схемы ролей и грантов (SPEC AD-5) для маршрутов, которые их принимают: пользователи и интеграции.
import { rolePermissions, SCOPE_PATTERN } from '@artstore/core';

const ROLES = Object.keys(rolePermissions);

// Глобальных ролей может не быть вовсе: учётная запись только с грантами (uploader@se:a) — обычный случай.
export const rolesSchema = {
  type: 'array',
  uniqueItems: true,
  items: { type: 'string', enum: ROLES },
} as const;

/** Гранты: роль из той же таблицы и область строго по шаблону (сейчас только se:<element_id>). */
export const grantsSchema = {
  type: 'array',
  maxItems: 256,
  uniqueItems: true,
  items: {
    type: 'object',
    required: ['role', 'scope'],
    additionalProperties: false,
    properties: {
      role: { type: 'string', enum: ROLES },
      scope: { type: 'string', pattern: SCOPE_PATTERN.source },
    },
  },
} as const;
