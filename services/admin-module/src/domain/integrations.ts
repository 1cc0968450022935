// Токены внешних интеграций (SPEC AD-3): сервисная учётная запись со сроком действия, созданная
// администратором. Секрет показывается один раз и хранится как bcrypt-хеш; по нему система получает
// обычные access-токены через client_credentials, и ни один не переживает срок интеграции.
// Отзыв действует на новые токены сразу, на уже выданные — по истечении их срока (≤ access_ttl).
import { randomBytes } from 'node:crypto';
import { ArtError, formatGrant, type Grant, type Logger } from '@artstore/core';
import type { Audit } from './audit.js';
import { hashPassword } from './passwords.js';
import type { IntegrationRow, ServiceAccountStore } from '../store/service-accounts.js';

export interface IntegrationInput {
  description: string;
  roles: string[];
  grants: Grant[];
  /** Срок действия, дни; не больше auth.integration_max_ttl_days. */
  ttl_days: number;
}

export interface CreatedIntegration extends IntegrationRow {
  /** Показывается один раз: в БД только хеш. */
  client_secret: string;
}

/** Префикс client_id интеграций: не пересекается с учётными записями из конфигурации. */
export const INTEGRATION_PREFIX = 'int-';

export function createIntegrations(deps: {
  store: ServiceAccountStore;
  audit: Pick<Audit, 'record'>;
  logger: Logger;
  now?: () => Date;
}) {
  const { store, audit, logger, now = () => new Date() } = deps;
  return {
    async create(input: IntegrationInput, actorId: string): Promise<CreatedIntegration> {
      // Роль admin внешней системе не выдаётся: утечка её секрета — полный захват хранилища.
      if (input.roles.includes('admin') || input.grants.some((grant) => grant.role === 'admin')) {
        throw new ArtError('INTEGRATION_ROLE_FORBIDDEN');
      }
      const clientId = `${INTEGRATION_PREFIX}${randomBytes(9).toString('base64url')}`;
      const secret = randomBytes(32).toString('base64url');
      const expiresAt = new Date(now().getTime() + input.ttl_days * 86_400_000);
      const row = {
        client_id: clientId,
        description: input.description,
        roles: input.roles,
        grants: input.grants.map(formatGrant),
        expires_at: expiresAt,
        created_by: actorId,
      };
      await store.insertIntegration({ ...row, secret_hash: await hashPassword(secret) });
      logger.info({ client_id: clientId, roles: row.roles, grants: row.grants, expires_at: expiresAt }, 'integration_created');
      await audit.record({
        actor: actorId,
        action: 'integration.created',
        target: clientId,
        details: { description: input.description, roles: row.roles, grants: row.grants, expires_at: expiresAt.toISOString() },
      });
      return { ...row, client_secret: secret, disabled: false, created_at: now() };
    },

    list: () => store.integrations(),

    async revoke(clientId: string, actorId: string): Promise<void> {
      if (!(await store.revokeIntegration(clientId))) throw new ArtError('INTEGRATION_NOT_FOUND');
      logger.info({ client_id: clientId }, 'integration_revoked');
      await audit.record({ actor: actorId, action: 'integration.revoked', target: clientId });
    },
  };
}
export type Integrations = ReturnType<typeof createIntegrations>;
