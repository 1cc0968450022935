import { ArtError } from '../errors.js';
import { scopesOf, type Grant, type Resource, type Scope } from './grants.js';
import { permissionsOf, type Permission } from './permissions.js';

/** Кто выполняет запрос: пользователь или сервисная учётная запись, по проверенному токену. */
export interface Principal {
  subject: string;
  username: string;
  kind: 'user' | 'service';
  roles: string[];
  /** Разрешения глобальных ролей: действуют на любом ресурсе. */
  permissions: Set<Permission>;
  /** Гранты с областью (SPEC AD-5): роль действует только на ресурсах своей области. */
  grants: readonly Grant[];
  /** Разрешения грантов по областям (`se:<id>` → разрешения) — вычислены из grants. */
  scopedPermissions: ReadonlyMap<Scope, ReadonlySet<Permission>>;
  /** Пароль должен быть сменён, прежде чем разрешено что-либо ещё (SPEC §9). */
  mustChangePassword: boolean;
  /**
   * Роль требует двухфакторной аутентификации, а она не подключена (SPEC AD-6): до подключения
   * разрешены только её подключение, смена пароля, выход и свой профиль.
   */
  mustEnrolMfa?: boolean;
  tokenId: string;
  /** Исходный токен — чтобы переслать его SE от имени пользователя. */
  token: string;
}

export type PrincipalFields = Omit<Principal, 'permissions' | 'grants' | 'scopedPermissions'> & {
  grants?: readonly Grant[];
};

export function createPrincipal(fields: PrincipalFields): Principal {
  const grants = fields.grants ?? [];
  const scopedPermissions = new Map<Scope, Set<Permission>>();
  for (const grant of grants) {
    const granted = scopedPermissions.get(grant.scope) ?? new Set<Permission>();
    for (const permission of permissionsOf([grant.role])) granted.add(permission);
    scopedPermissions.set(grant.scope, granted);
  }
  return { ...fields, grants, permissions: permissionsOf(fields.roles), scopedPermissions };
}

function authenticated(principal: Principal | undefined): Principal {
  if (!principal) throw new ArtError('AUTH_TOKEN_MISSING');
  return principal;
}

function forbidden(permission: Permission, scope?: Scope): ArtError {
  return new ArtError('FORBIDDEN', `Нужно разрешение ${permission}${scope ? ` на ${scope}` : ''}`, {
    extra: scope ? { permission, scope } : { permission },
  });
}

/**
 * Проверка там, где выполняется операция (SPEC AD-5). Глобальные роли действуют везде; гранты — только
 * если операция названа вместе с ресурсом из их области. Без ресурса (пользователи, аудит) гранты не
 * считаются: `admin@se:a` — администратор элемента a, а не системы.
 */
export function requirePermission(
  principal: Principal | undefined,
  permission: Permission,
  resource?: Resource,
): Principal {
  const checked = authenticated(principal);
  if (checked.permissions.has(permission)) return checked;
  if (resource === undefined) throw forbidden(permission);
  const scopes = scopesOf(resource);
  if (scopes.some((scope) => checked.scopedPermissions.get(scope)?.has(permission))) return checked;
  throw forbidden(permission, scopes[0]);
}

/**
 * Где разрешение действует: 'all' — глобально, иначе элементы хранения из грантов (возможно, ни
 * одного). Для тех, кто выбирает SE или фильтрует списки, ещё не зная ресурса.
 */
export function allowedElements(principal: Principal, permission: Permission): 'all' | ReadonlySet<string> {
  if (principal.permissions.has(permission)) return 'all';
  const elements = new Set<string>();
  for (const [scope, granted] of principal.scopedPermissions) {
    if (scope.startsWith('se:') && granted.has(permission)) elements.add(scope.slice('se:'.length));
  }
  return elements;
}

/**
 * Разрешение хоть где-нибудь — ранний отказ до разбора тела или поиска ресурса; окончательная проверка —
 * requirePermission с ресурсом, когда он известен.
 */
export function requirePermissionSomewhere(
  principal: Principal | undefined,
  permission: Permission,
): Principal {
  const checked = authenticated(principal);
  if (checked.permissions.has(permission)) return checked;
  for (const granted of checked.scopedPermissions.values()) if (granted.has(permission)) return checked;
  throw forbidden(permission);
}
