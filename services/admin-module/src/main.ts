// Сборка admin-module из портов (SPEC §3). Только связывание — логика в domain/, SQL в store/.
import {
  createServer,
  listen,
  runMigrations,
  serverOptionsFrom,
  verifierFromConfig,
  type Database,
  type Logger,
  type RunningService,
  type ServiceRuntime,
} from '@artstore/core';
import { createAudit, type Audit } from './domain/audit.js';
import { createAuthService } from './domain/auth-service.js';
import { createLoginThrottle } from './domain/login-throttle.js';
import { masterKeyFrom } from './domain/master-key.js';
import { createRefreshTokens } from './domain/refresh-tokens.js';
import { createUserAdmin } from './domain/user-admin.js';
import { createTokenIssuer } from './domain/token-issuer.js';
import { registerAdminNetworkGuard } from './http/admin-network-guard.js';
import { registerAuditRoutes } from './http/audit-routes.js';
import { registerAuthRoutes } from './http/auth-routes.js';
import { registerUserRoutes } from './http/user-routes.js';
import { createAuditLogStore } from './store/audit-log.js';
import { adminMigrations } from './store/migrations.js';
import { createLoginFailureStore } from './store/login-failures.js';
import { createRefreshTokenStore } from './store/refresh-tokens.js';
import { createServiceAccountStore } from './store/service-accounts.js';
import { createSigningKeyStore } from './store/signing-keys.js';
import { createUserStore } from './store/users.js';

export const ADMIN_MODULE = 'admin-module';

/** Журнал аудита над БД admin-module — для `artstore audit verify|export` без запущенного сервиса. */
export async function openAuditLog(db: Database, logger: Logger): Promise<Audit> {
  await runMigrations(db, ADMIN_MODULE, adminMigrations);
  return createAudit(createAuditLogStore(db), logger);
}

export async function startAdminModule(runtime: ServiceRuntime): Promise<RunningService> {
  const { config, db, coordination } = runtime;
  const logger = runtime.logger.child({ service: ADMIN_MODULE });
  await runMigrations(db, ADMIN_MODULE, adminMigrations);

  const users = createUserStore(db);
  const serviceAccounts = createServiceAccountStore(db);
  const issuer = await createTokenIssuer({
    keys: createSigningKeyStore(db),
    masterKey: masterKeyFrom(config.auth.master_key),
    issuer: config.auth.jwt.issuer,
    audience: config.auth.jwt.audience,
    accessTtlSeconds: config.auth.jwt.access_ttl_seconds,
  });
  const throttle = createLoginThrottle({
    failures: createLoginFailureStore(db),
    accountFailures: config.auth.lockout.account_failures,
    ipFailures: config.auth.lockout.ip_failures,
    windowMs: config.auth.lockout.window,
    logger,
  });
  const audit = createAudit(createAuditLogStore(db), logger);
  const refreshTokens = createRefreshTokens({
    store: createRefreshTokenStore(db),
    ttlSeconds: config.auth.refresh_ttl_seconds,
    audit,
    logger,
  });
  const auth = createAuthService({
    users,
    serviceAccounts,
    issuer,
    throttle,
    refreshTokens,
    audit,
    passwordMaxAgeDays: config.auth.password_max_age_days,
    logger,
  });
  await auth.bootstrapAdmin(config.profile, config.auth.initial_admin_password);
  await auth.syncServiceClients(config.auth.service_clients);

  const { app } = await createServer({
    service: ADMIN_MODULE,
    description: 'Пользователи, токены, JWKS, реестр элементов хранения, аудит',
    logger,
    verifier: verifierFromConfig(config),
    readiness: { database: () => db.ping(), coordination: () => coordination.ping() },
    ...serverOptionsFrom(config),
  });
  // Управление — только из разрешённых сетей; вход, JWKS и собственный профиль — отовсюду.
  registerAdminNetworkGuard(app, config.auth.admin_networks, ['/api/users', '/api/audit']);
  registerAuthRoutes(app, auth, issuer);
  registerUserRoutes(app, createUserAdmin({ db, refreshTokens, audit, logger }));
  registerAuditRoutes(app, audit);
  return listen(ADMIN_MODULE, app, config.services.admin);
}
