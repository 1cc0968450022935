// Управление пользователями (SPEC AD-1, AD-5): создание, роли, гранты с областью, отключение,
// временный пароль. Системный администратор защищён: любое изменение его учётной записи другим
// администратором — только запрос, который вступает в силу после одобрения второго администратора
// (не того, кто запросил).
import {
  ArtError,
  formatGrant,
  parseGrant,
  uuidv7,
  type Grant,
  type Logger,
  type Queryable,
} from '@artstore/core';
import {
  createPendingChangeStore,
  type PendingChangeRow,
  type UserChange,
} from '../store/pending-changes.js';
import { deleteMfa } from '../store/mfa.js';
import { createUserStore, type UserRow } from '../store/users.js';
import { SYSTEM_ADMIN } from './auth-service.js';
import { assertPasswordPolicy, hashPassword } from './passwords.js';
import type { Audit } from './audit.js';
import type { RefreshTokens } from './refresh-tokens.js';

/** Пользователь в ответах API: без хеша пароля. */
export interface UserView {
  id: string;
  username: string;
  roles: string[];
  /** Гранты с областью: роль действует только на своём элементе хранения (SPEC AD-5). */
  grants: Grant[];
  disabled: boolean;
  password_change_required: boolean;
  /** Второй фактор подключён (SPEC AD-6): администратор видит, кто ещё входит одним паролем. */
  mfa_enabled: boolean;
  password_changed_at: string;
  created_at: string;
}

export function userView(row: UserRow): UserView {
  return {
    id: row.id,
    username: row.username,
    roles: row.roles,
    grants: grantsOf(row.grants),
    disabled: row.disabled,
    password_change_required: row.must_change_password,
    mfa_enabled: row.mfa_enabled,
    password_changed_at: new Date(row.password_changed_at).toISOString(),
    created_at: new Date(row.created_at).toISOString(),
  };
}

/** Гранты из БД и ожидающих изменений: там только то, что прошло проверку API. */
export function grantsOf(stored: readonly string[]): Grant[] {
  return stored.map((text) => {
    const grant = parseGrant(text);
    if (!grant) throw new Error(`Грант «${text}» в БД не по формату «роль@область»`);
    return grant;
  });
}

export type ChangeOutcome = { applied: UserView } | { pending: PendingChangeRow };

/** Изменение пользователя через API: гранты — объектами { role, scope }. */
export interface UserPatch {
  roles?: string[];
  grants?: Grant[];
  disabled?: boolean;
}

export interface UserAdminDeps {
  db: Queryable;
  refreshTokens: RefreshTokens;
  /** Журнал аудита (SPEC AD-9): создание, изменения, запросы и решения по системному администратору. */
  audit: Pick<Audit, 'record'>;
  logger: Logger;
}

export function createUserAdmin({ db, refreshTokens, audit, logger }: UserAdminDeps) {
  const users = createUserStore(db);
  const changes = createPendingChangeStore(db);

  async function existing(id: string): Promise<UserRow> {
    const row = await users.byId(id);
    if (!row) throw new ArtError('USER_NOT_FOUND', `Пользователя ${id} нет`);
    return row;
  }

  /** Применяет изменение; отключение и новый пароль завершают все сессии пользователя. */
  async function apply(user: UserRow, change: UserChange): Promise<UserView> {
    if (change.password_hash !== undefined) await users.resetPassword(user.id, change.password_hash);
    const updated = await users.update(user.id, {
      roles: change.roles,
      grants: change.grants,
      disabled: change.disabled,
    });
    // Сброс MFA: сессии могли начаться с потерянного устройства — тоже завершаются.
    if (change.mfa_reset === true) await deleteMfa(db, user.id);
    if (change.disabled === true || change.password_hash !== undefined || change.mfa_reset === true)
      await refreshTokens.revokeUser(user.id, 'changed_by_admin');
    return userView(updated!);
  }

  /** Изменение чужой учётной записи: системного администратора — через одобрение. */
  async function change(id: string, requested: UserChange, actorId: string): Promise<ChangeOutcome> {
    const user = await existing(id);
    if (user.username !== SYSTEM_ADMIN || user.id === actorId) {
      const applied = await apply(user, requested);
      logger.info({ user_id: id, actor: actorId, change: describe(requested) }, 'user_changed');
      await audit.record({
        actor: actorId,
        action: 'user.changed',
        target: id,
        details: describe(requested),
      });
      return { applied };
    }
    const pending = { id: uuidv7(), user_id: id, change: requested, requested_by: actorId };
    await changes.insert(pending);
    await audit.record({
      actor: actorId,
      action: 'user.change.requested',
      target: id,
      details: { change_id: pending.id, ...describe(requested) },
    });
    logger.warn(
      { change_id: pending.id, user_id: id, actor: actorId, change: describe(requested) },
      'system_admin_change_requested',
    );
    return { pending: (await changes.byId(pending.id))! };
  }

  return {
    async list(): Promise<UserView[]> {
      return (await users.list()).map(userView);
    },
    async get(id: string): Promise<UserView> {
      return userView(await existing(id));
    },
    /** Новый пользователь с временным паролем: сменить его обязательно при первом входе. */
    async create(
      input: { username: string; password: string; roles: string[]; grants?: Grant[] },
      actorId: string,
    ): Promise<UserView> {
      assertPasswordPolicy(input.password, { username: input.username });
      const id = uuidv7();
      const grants = (input.grants ?? []).map(formatGrant);
      const created = await users.create({
        id,
        username: input.username,
        password_hash: await hashPassword(input.password),
        roles: input.roles,
        grants,
      });
      if (!created) throw new ArtError('USERNAME_TAKEN', `Имя ${input.username} уже занято`);
      logger.info(
        { user_id: id, username: input.username, roles: input.roles, grants, actor: actorId },
        'user_created',
      );
      await audit.record({
        actor: actorId,
        action: 'user.created',
        target: id,
        details: { username: input.username, roles: input.roles, grants },
      });
      return userView(await existing(id));
    },
    update: (id: string, patch: UserPatch, actorId: string) =>
      change(
        id,
        { roles: patch.roles, grants: patch.grants?.map(formatGrant), disabled: patch.disabled },
        actorId,
      ),
    async resetPassword(id: string, password: string, actorId: string): Promise<ChangeOutcome> {
      const user = await existing(id);
      assertPasswordPolicy(password, { username: user.username });
      return change(id, { password_hash: await hashPassword(password) }, actorId);
    },
    /** Сброс чужой MFA (SPEC AD-6); у системного администратора — через одобрение второго. */
    resetMfa: (id: string, actorId: string) => change(id, { mfa_reset: true }, actorId),
    pendingChanges: () => changes.pending(),
    /** Решение второго администратора: approve применяет изменение, reject — отклоняет. */
    async decide(changeId: string, approve: boolean, actorId: string): Promise<UserView | null> {
      const pending = await changes.byId(changeId);
      if (!pending || pending.status !== 'pending')
        throw new ArtError('USER_CHANGE_NOT_FOUND', `Ожидающего изменения ${changeId} нет`);
      if (pending.requested_by === actorId) {
        throw new ArtError(
          'USER_CHANGE_SELF_APPROVAL',
          'Изменение системного администратора решает другой администратор',
        );
      }
      if (!(await changes.decide(changeId, actorId, approve ? 'approved' : 'rejected'))) {
        throw new ArtError('USER_CHANGE_NOT_FOUND', `По изменению ${changeId} уже принято решение`);
      }
      logger.warn({ change_id: changeId, actor: actorId, approved: approve }, 'system_admin_change_decided');
      await audit.record({
        actor: actorId,
        action: approve ? 'user.change.approved' : 'user.change.rejected',
        target: pending.user_id,
        details: { change_id: changeId },
      });
      return approve ? apply(await existing(pending.user_id), pending.change) : null;
    },
  };
}
export type UserAdmin = ReturnType<typeof createUserAdmin>;

/** Что меняется — для журнала, без хеша пароля. */
function describe(change: UserChange): Record<string, unknown> {
  return {
    roles: change.roles,
    grants: change.grants,
    disabled: change.disabled,
    password_reset: change.password_hash !== undefined,
    mfa_reset: change.mfa_reset,
  };
}
