import { ArtError } from '../errors.js';
import { permissionsOf, type Permission } from './permissions.js';

/** Кто выполняет запрос: пользователь или сервисная учётная запись, по проверенному токену. */
export interface Principal {
  subject: string;
  username: string;
  kind: 'user' | 'service';
  roles: string[];
  permissions: Set<Permission>;
  /** Пароль должен быть сменён, прежде чем разрешено что-либо ещё (SPEC §9). */
  mustChangePassword: boolean;
  tokenId: string;
  /** Исходный токен — чтобы переслать его SE от имени пользователя. */
  token: string;
}

export function createPrincipal(fields: Omit<Principal, 'permissions'>): Principal {
  return { ...fields, permissions: permissionsOf(fields.roles) };
}

export function requirePermission(principal: Principal | undefined, permission: Permission): Principal {
  if (!principal) throw new ArtError('AUTH_TOKEN_MISSING');
  if (!principal.permissions.has(permission)) {
    throw new ArtError('FORBIDDEN', `Нужно разрешение ${permission}`, { extra: { permission } });
  }
  return principal;
}
