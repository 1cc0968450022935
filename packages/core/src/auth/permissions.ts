// Роли и разрешения (SPEC AD-5). Разрешение проверяется в том сервисе, который выполняет операцию.

export const permissions = [
  'files:read',
  'files:write',
  'files:delete',
  /** Досрочное удаление до истечения срока хранения (override_retention, SPEC SE-9): байты стираются раньше срока. */
  'files:purge',
  'changes:read',
  'storage:manage',
  'users:manage',
  'audit:read',
  /** Списки сроков хранения: истекающие и истёкшие файлы на рассмотрение (SPEC SE-9, BY-4). */
  'retention:read',
] as const;
export type Permission = (typeof permissions)[number];

/**
 * Роли SPEC AD-5 и сервисная роль `indexer` (учётная запись query-module) — единственная таблица ролей.
 * Роль действует глобально (поле `roles` токена) или только в своей области (грант, см. grants.ts).
 */
export const rolePermissions: Record<string, readonly Permission[]> = {
  admin: permissions,
  operator: ['files:read', 'files:write', 'files:delete', 'storage:manage', 'retention:read'],
  uploader: ['files:read', 'files:write'],
  reader: ['files:read'],
  auditor: ['audit:read', 'files:read', 'retention:read'],
  indexer: ['files:read', 'changes:read'],
};

export function permissionsOf(roles: readonly string[]): Set<Permission> {
  // Object.hasOwn: роль из токена «constructor» или «__proto__» иначе находит свойство Object.prototype
  // и кладёт в множество разрешений функцию или объект вместо строк.
  return new Set(
    roles.flatMap((role) => (Object.hasOwn(rolePermissions, role) ? rolePermissions[role]! : [])),
  );
}
