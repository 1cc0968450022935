// Сборка admin-module из портов (SPEC §3). Только связывание — логика в domain/, SQL в store/.
import {
  createServer,
  createServiceClient,
  listen,
  runMigrations,
  serverOptionsFrom,
  serviceUrl,
  verifierFromConfig,
  type Database,
  type RunningService,
  type ServiceRuntime,
} from '@artstore/core';
import { randomUUID } from 'node:crypto';
import { openAuditReader, openAuditTrail, type AuditReader } from './domain/audit-trail.js';
import { createAuthService } from './domain/auth-service.js';
import { createIntegrations } from './domain/integrations.js';
import { createKeyRotation, scheduleKeyMaintenance } from './domain/key-rotation.js';
import { createLeadership } from './domain/leadership.js';
import { createLoginThrottle } from './domain/login-throttle.js';
import { masterKeyFrom } from './domain/master-key.js';
import { createMfa } from './domain/mfa.js';
import { createMfaChallenges } from './domain/mfa-challenges.js';
import { createRefreshTokens } from './domain/refresh-tokens.js';
import { createDiscoveryPublisher } from './domain/discovery-publisher.js';
import { createSeClients, SE_CALL_TIMEOUT_MS } from './domain/se-clients.js';
import { createSePoller } from './domain/se-poller.js';
import { createSeRegistry } from './domain/se-registry.js';
import { createTransactionsOverview } from './domain/transactions-overview.js';
import { createSelfTokenProvider } from './domain/self-token.js';
import { createSigningKeyring } from './domain/signing-keyring.js';
import { createUserAdmin } from './domain/user-admin.js';
import { createTokenIssuer } from './domain/token-issuer.js';
import { registerAdminNetworkGuard } from './http/admin-network-guard.js';
import { registerAuditRoutes } from './http/audit-routes.js';
import { registerAuthRoutes } from './http/auth-routes.js';
import { registerIntegrationRoutes } from './http/integration-routes.js';
import { registerMfaRoutes } from './http/mfa-routes.js';
import { registerSeRoutes } from './http/se-routes.js';
import { registerTransactionRoutes } from './http/transaction-routes.js';
import { registerUserRoutes } from './http/user-routes.js';
import { adminMigrations } from './store/migrations.js';
import { createLoginFailureStore } from './store/login-failures.js';
import { createMfaStore } from './store/mfa.js';
import { createMfaChallengeStore } from './store/mfa-challenges.js';
import { createRefreshTokenStore } from './store/refresh-tokens.js';
import { createServiceAccountStore } from './store/service-accounts.js';
import { createSigningKeyStore } from './store/signing-keys.js';
import { createStorageElementStore } from './store/storage-elements.js';
import { createUserStore } from './store/users.js';

export const ADMIN_MODULE = 'admin-module';

/** Журнал аудита над БД admin-module — для `artstore audit verify|export|public-key` без запущенного сервиса. */
export async function openAuditLog(db: Database): Promise<AuditReader> {
  await runMigrations(db, ADMIN_MODULE, adminMigrations);
  return openAuditReader(db);
}

export async function startAdminModule(runtime: ServiceRuntime): Promise<RunningService> {
  const { config, db, coordination } = runtime;
  const logger = runtime.logger.child({ service: ADMIN_MODULE });
  await runMigrations(db, ADMIN_MODULE, adminMigrations);

  const users = createUserStore(db);
  const serviceAccounts = createServiceAccountStore(db);
  const now = () => new Date();
  const masterKey = masterKeyFrom(config.auth.master_key);
  const audit = await openAuditTrail(db, {
    logger,
    masterKey,
    checkpointIntervalMs: config.audit.checkpoint_interval,
    checkpointEvery: config.audit.checkpoint_every,
  });
  const signingKeys = createSigningKeyStore(db);
  const keyring = await createSigningKeyring({ store: signingKeys, masterKey, now });
  const { key_rotation: rotationConfig } = config.auth;
  const rotation = createKeyRotation({
    store: signingKeys,
    masterKey,
    keyring,
    intervalMs: rotationConfig.interval,
    prepublishMs: rotationConfig.prepublish,
    // Последний токен прежнего ключа: его срок + допуск часов + запоздавший экземпляр (check_interval).
    overlapMs:
      (config.auth.jwt.access_ttl_seconds + config.auth.jwt.clock_tolerance_seconds) * 1000 +
      rotationConfig.check_interval,
    audit,
    logger,
    now,
  });
  await rotation.ensureKey();
  const issuer = createTokenIssuer({
    keyring,
    issuer: config.auth.jwt.issuer,
    audience: config.auth.jwt.audience,
    accessTtlSeconds: config.auth.jwt.access_ttl_seconds,
    now,
  });
  const leadership = createLeadership({
    coordination,
    name: 'admin-leader',
    ownerId: `admin-${randomUUID()}`,
    ttlMs: config.auth.leader_lease_ttl,
    logger,
  });
  const stopKeyMaintenance = await scheduleKeyMaintenance({
    rotation,
    keyring,
    leadership,
    coordination,
    checkMs: rotationConfig.check_interval,
    refreshMs: rotationConfig.check_interval,
    logger,
  });
  const throttle = createLoginThrottle({
    failures: createLoginFailureStore(db),
    accountFailures: config.auth.lockout.account_failures,
    ipFailures: config.auth.lockout.ip_failures,
    windowMs: config.auth.lockout.window,
    logger,
  });
  const refreshTokens = createRefreshTokens({
    store: createRefreshTokenStore(db),
    ttlSeconds: config.auth.refresh_ttl_seconds,
    audit,
    logger,
  });
  const mfa = createMfa({
    store: createMfaStore(db),
    users,
    masterKey,
    issuer: config.auth.mfa.issuer,
    requiredRoles: config.auth.mfa.required_roles,
    throttle,
    audit,
    logger,
  });
  const auth = createAuthService({
    users,
    serviceAccounts,
    issuer,
    throttle,
    refreshTokens,
    mfa,
    mfaChallenges: createMfaChallenges(createMfaChallengeStore(db)),
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
    readiness: {
      database: () => db.ping(),
      coordination: () => coordination.ping(),
      // Кто из экземпляров ротирует ключи и публикует обнаружение (SPEC AD-4, AD-8).
      leadership: () => Promise.resolve({ role: leadership.isLeader ? 'leader' : 'follower' }),
    },
    ...serverOptionsFrom(config, coordination),
  });
  // Управление — только из разрешённых сетей; вход, JWKS и собственный профиль — отовсюду.
  registerAdminNetworkGuard(app, config.auth.admin_networks, ['/api/users', '/api/audit', '/api/integrations', '/api/storage-elements', '/api/transactions']);
  registerAuthRoutes(app, auth, issuer);
  const userAdmin = createUserAdmin({ db, refreshTokens, audit, logger });
  registerUserRoutes(app, userAdmin);
  registerMfaRoutes(app, { auth, mfa, userAdmin });
  registerAuditRoutes(app, audit);
  registerIntegrationRoutes(app, createIntegrations({ store: serviceAccounts, audit, logger }), {
    maxTtlDays: config.auth.integration_max_ttl_days,
  });
  // Реестр SE (AD-7) и обнаружение (AD-8): опрашивает SE и публикует документ только лидер.
  const seStore = createStorageElementStore(db);
  const seToken = createSelfTokenProvider(issuer);
  const seClients = createSeClients(() => seToken.token());
  const publisher = createDiscoveryPublisher({ store: seStore, coordination, leadership, logger });
  const poller = createSePoller({
    store: seStore,
    clients: seClients,
    leadership,
    afterPoll: publisher.sync,
    intervalMs: config.discovery.poll_interval,
    logger,
  });
  const seRegistry = createSeRegistry({
    store: seStore,
    clients: seClients,
    getToken: () => seToken.token(),
    pollOne: (id) => poller.pollOne(id),
    onChanged: () => publisher.changed(),
    audit,
    logger,
  });
  await seRegistry.syncDeclared(config.storage_elements);
  registerSeRoutes(app, seRegistry);
  // Саги и переносы ingester (SPEC AD-10) — вызовом токеном смотрящего, как и SE.
  const ingesterClient = createServiceClient({
    baseUrl: serviceUrl(config, 'ingester'),
    name: 'ingester-module',
    connectTimeoutMs: 2000,
    headersTimeoutMs: SE_CALL_TIMEOUT_MS,
    bodyTimeoutMs: SE_CALL_TIMEOUT_MS,
  });
  registerTransactionRoutes(
    app,
    createTransactionsOverview({ registry: seRegistry, clients: seClients, ingester: ingesterClient }),
  );
  await publisher.start();
  poller.start();
  // События других сервисов из очереди `audit` и подписанные контрольные точки (SPEC AD-9).
  const auditTasks = audit.start(runtime.jobs);
  leadership.start();
  return listen(ADMIN_MODULE, app, config.services.admin, async () => {
    await auditTasks.close();
    await stopKeyMaintenance();
    await poller.stop();
    await publisher.stop();
    await seClients.close();
    await ingesterClient.close();
    await leadership.close();
  });
}
