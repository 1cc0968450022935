// Гранты с областью действия (SPEC AD-5): роль, которая действует только на одном ресурсе. Сейчас
// область одна — элемент хранения `se:<element_id>`; новая область — новая запись в SCOPE_KINDS и поле
// в Resource. Формат строгий: токен с кривым грантом отвергается целиком (verifier → 401), а не
// «почти понимается».
import { ArtError } from '../errors.js';

/** Идентификатор элемента хранения (storage.element_id, SPEC SE-1): латиница в нижнем регистре, цифры, «-». */
export const ELEMENT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Вид области → шаблон идентификатора внутри неё. */
const SCOPE_KINDS = { se: ELEMENT_ID_PATTERN } as const satisfies Record<string, RegExp>;
type ScopeKind = keyof typeof SCOPE_KINDS;

/** Имя роли в гранте: те же символы, что у ролей таблицы permissions.ts; «__proto__» сюда не проходит. */
const ROLE_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/** Область гранта: `se:<element_id>`. */
export type Scope = `${ScopeKind}:${string}`;

export interface Grant {
  role: string;
  scope: Scope;
}

/** Над чем выполняется операция: сервис, который её выполняет, знает свой ресурс. */
export interface Resource {
  /** Элемент хранения, на котором лежит (или окажется) файл. */
  se: string;
}

/** Шаблон области целиком — для JSON-схем API (строгая проверка на входе). */
export const SCOPE_PATTERN = new RegExp(
  `^(?:${Object.entries(SCOPE_KINDS)
    .map(([kind, id]) => `${kind}:${id.source.slice(1, -1)}`)
    .join('|')})$`,
);

export function isScope(value: string): value is Scope {
  const colon = value.indexOf(':');
  if (colon < 0) return false;
  const kind = value.slice(0, colon);
  return Object.hasOwn(SCOPE_KINDS, kind) && SCOPE_KINDS[kind as ScopeKind].test(value.slice(colon + 1));
}

/** Области, в которых лежит ресурс: гранты любой из них дают права на операцию с ним. */
export function scopesOf(resource: Resource): Scope[] {
  return [`se:${resource.se}`];
}

/** Компактная запись гранта — в токене (claim `grants`) и в БД: `uploader@se:se-a`. */
export function formatGrant(grant: Grant): string {
  return `${grant.role}@${grant.scope}`;
}

/** Разбор компактной записи; null — запись не по формату. */
export function parseGrant(text: string): Grant | null {
  const at = text.indexOf('@');
  if (at < 0) return null;
  const role = text.slice(0, at);
  const scope = text.slice(at + 1);
  return ROLE_NAME.test(role) && isScope(scope) ? { role, scope } : null;
}

/**
 * Поле `grants` access-токена: нет поля — грантов нет; не массив строк или хоть одна запись не по
 * формату — токен недействителен (его выпустил не admin-module или выпустил с ошибкой).
 */
export function parseGrantsClaim(claim: unknown): Grant[] {
  if (claim === undefined) return [];
  const grants = Array.isArray(claim)
    ? claim.map((item) => (typeof item === 'string' ? parseGrant(item) : null))
    : [null];
  if (grants.some((grant) => grant === null)) {
    throw new ArtError('AUTH_TOKEN_INVALID', 'Поле grants токена: ожидается массив строк «роль@область»');
  }
  return grants as Grant[];
}
