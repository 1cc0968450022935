// Ротация ключей подписи (SPEC AD-4). Следующий ключ публикуется в JWKS за prepublish до того, как
// начнёт подписывать; прежний выводится, когда истёк последний подписанный им токен (overlap =
// срок access-токена + допуск часов + период перечитывания ключей другими экземплярами).
// Ротирует только лидер (аренда), а БД не даёт создать два «следующих» ключа даже при двух лидерах.
import { randomUUID } from 'node:crypto';
import type { Coordination, Logger } from '@artstore/core';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import type { Audit } from './audit.js';
import type { Leadership } from './leadership.js';
import type { MasterKey } from './master-key.js';
import type { SigningKeyring } from './signing-keyring.js';
import type { SigningKeyRow, SigningKeyStore } from '../store/signing-keys.js';

/** Канал уведомления экземпляров admin-module о новых и выведенных ключах. */
export const SIGNING_KEYS_CHANNEL = 'admin:signing-keys';

export interface KeyRotationOptions {
  store: SigningKeyStore;
  masterKey: MasterKey;
  keyring: SigningKeyring;
  /** Как часто меняется подписывающий ключ. */
  intervalMs: number;
  /** За сколько до начала подписи ключ появляется в JWKS. */
  prepublishMs: number;
  /** Сколько прежний ключ остаётся в JWKS после смены. */
  overlapMs: number;
  audit: Pick<Audit, 'record'>;
  logger: Logger;
  now: () => Date;
}

export interface RotationStep {
  published: string | null;
  retired: string[];
}

export interface KeyRotation {
  /** Первый ключ, если ключей нет вовсе (любой экземпляр при старте: без ключа нечем подписывать). */
  ensureKey(): Promise<void>;
  /** Один шаг ротации: опубликовать следующий ключ, если пора, вывести отслужившие. Идемпотентен. */
  rotate(): Promise<RotationStep>;
}

const time = (row: SigningKeyRow) => new Date(row.activates_at).getTime();

export function createKeyRotation(options: KeyRotationOptions): KeyRotation {
  const { store, keyring, logger, audit } = options;

  async function newKey(activatesAt: Date, after: Date): Promise<string | null> {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    const kid = randomUUID().replaceAll('-', '');
    const saved = await store.insertUnlessActivatingAfter(
      {
        kid,
        algorithm: 'RS256',
        public_jwk: await exportJWK(publicKey),
        private_key_encrypted: options.masterKey.encrypt(await exportPKCS8(privateKey)),
        created_at: options.now(),
        activates_at: activatesAt,
      },
      after,
    );
    return saved ? kid : null;
  }

  return {
    async ensureKey() {
      const kid = await newKey(options.now(), new Date(0));
      if (kid !== null) {
        logger.info({ kid }, 'auth_signing_key_created');
        await audit.record({ actor: 'system', action: 'auth.key.created', target: kid });
      }
      await keyring.reload();
      // Расшифровка сейчас, а не при первом входе: чужой мастер-ключ — отказ старта, а не 500 позже.
      await keyring.current();
    },

    async rotate() {
      const at = options.now().getTime();
      const rows = await store.published();
      const activated = rows.filter((row) => time(row) <= at);
      const pending = rows.some((row) => time(row) > at);
      const step: RotationStep = { published: null, retired: [] };

      const active = activated[0];
      if (active && !pending && at >= time(active) + options.intervalMs - options.prepublishMs) {
        // После долгого простоя следующий ключ всё равно публикуется за prepublish до подписи.
        const activatesAt = new Date(Math.max(time(active) + options.intervalMs, at + options.prepublishMs));
        step.published = await newKey(activatesAt, new Date(at));
        if (step.published !== null) {
          logger.info({ kid: step.published, activates_at: activatesAt.toISOString() }, 'auth_signing_key_published');
          await audit.record({
            actor: 'system',
            action: 'auth.key.published',
            target: step.published,
            details: { activates_at: activatesAt.toISOString(), previous: active.kid },
          });
        }
      }

      // activated — новейший первым: ключ i сменён ключом i − 1 в момент его activates_at.
      for (let i = 1; i < activated.length; i++) {
        if (at >= time(activated[i - 1]!) + options.overlapMs) step.retired.push(activated[i]!.kid);
      }
      if (step.retired.length > 0) {
        await store.retire(step.retired, options.now());
        logger.info({ kids: step.retired }, 'auth_signing_keys_retired');
        for (const kid of step.retired) await audit.record({ actor: 'system', action: 'auth.key.retired', target: kid });
      }
      if (step.published !== null || step.retired.length > 0) await keyring.reload();
      return step;
    },
  };
}

/**
 * Расписание: лидер ротирует каждые checkMs и оповещает остальных; каждый экземпляр перечитывает
 * ключи по уведомлению и, на случай потерянного сообщения, каждые refreshMs.
 */
export async function scheduleKeyMaintenance(options: {
  rotation: KeyRotation;
  keyring: SigningKeyring;
  leadership: Pick<Leadership, 'isLeader'>;
  coordination: Coordination;
  checkMs: number;
  refreshMs: number;
  logger: Logger;
}): Promise<() => Promise<void>> {
  const { rotation, keyring, leadership, coordination, logger } = options;
  const unsubscribe = await coordination.subscribe(SIGNING_KEYS_CHANNEL, () => {
    keyring.reload().catch((error: unknown) => logger.warn({ err: error }, 'auth_signing_keys_reload_failed'));
  });
  let running: Promise<unknown> | null = null;
  const rotateTimer = setInterval(() => {
    // Шаг с генерацией ключа может идти дольше периода: следующий ждёт окончания текущего.
    if (running !== null || !leadership.isLeader) return;
    running = rotation
      .rotate()
      .then(async (step) => {
        if (step.published !== null || step.retired.length > 0) {
          await coordination.publish(SIGNING_KEYS_CHANNEL, JSON.stringify(step));
        }
      })
      .catch((error: unknown) => logger.error({ err: error }, 'auth_key_rotation_failed'))
      .finally(() => {
        running = null;
      });
  }, options.checkMs);
  const reloadTimer = setInterval(() => {
    keyring.reload().catch((error: unknown) => logger.warn({ err: error }, 'auth_signing_keys_reload_failed'));
  }, options.refreshMs);
  rotateTimer.unref();
  reloadTimer.unref();
  return async () => {
    clearInterval(rotateTimer);
    clearInterval(reloadTimer);
    await running;
    await unsubscribe();
  };
}
