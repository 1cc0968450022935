// Роли и разрешения (SPEC AD-5). Разрешение проверяется в том сервисе, который выполняет операцию.

export const permissions = [
  'files:read',
  'files:write',
  'files:delete',
  'changes:read',
  'storage:manage',
  'users:manage',
  'audit:read',
] as const;
export type Permission = (typeof permissions)[number];

/** Начальный набор ролей; роль `indexer` — для сервисной учётной записи query-module. */
export const rolePermissions: Record<string, readonly Permission[]> = {
  admin: permissions,
  operator: ['files:read', 'files:write', 'files:delete', 'storage:manage'],
  uploader: ['files:read', 'files:write'],
  reader: ['files:read'],
  auditor: ['audit:read', 'files:read'],
  indexer: ['files:read', 'changes:read'],
};

export function permissionsOf(roles: readonly string[]): Set<Permission> {
  return new Set(roles.flatMap((role) => rolePermissions[role] ?? []));
}
