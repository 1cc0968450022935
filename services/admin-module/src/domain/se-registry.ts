// Реестр элементов хранения (SPEC AD-7): регистрация, изменение, удаление, смена режима на самом SE.
// Регистрируется только SE, который ответил по указанному адресу своим element_id: опечатка в адресе
// или чужой SE не попадают в документ обнаружения (AD-8), по которому ingester выбирает, куда писать.
import { ArtError, type Logger, type Principal, type SeMode } from '@artstore/core';
import { apiTransitionsFrom, assertApiTransition, type StorageElementView } from '@artstore/contracts';
import type {
  DeclaredElement,
  Observation,
  StorageElementRow,
  StorageElementStore,
} from '../store/storage-elements.js';
import type { Audit } from './audit.js';
import { createSeClient, type SeClients } from './se-clients.js';
import { probeStorageElement } from './se-probe.js';

export interface RegisterInput {
  id: string;
  url: string;
  name?: string;
  priority?: number;
}

export interface SeRegistryDeps {
  store: StorageElementStore;
  clients: SeClients;
  /** Токен admin-module для пробы нового адреса. */
  getToken: () => Promise<string>;
  /** Опросить SE сейчас (после смены режима документ не должен ждать очередного опроса). */
  pollOne: (id: string) => Promise<void>;
  /** Реестр изменился — документ обнаружения надо опубликовать (AD-8). */
  onChanged: () => void;
  audit: Pick<Audit, 'record'>;
  logger: Logger;
  now?: () => Date;
}

const DEFAULT_PRIORITY = 100;
const iso = (date: Date | null) => (date === null ? null : new Date(date).toISOString());

export function storageElementView(row: StorageElementRow): StorageElementView {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    priority: row.priority,
    managed_by: row.managed_by,
    mode: row.mode,
    configured_mode: row.configured_mode,
    retention: row.retention,
    allowed_transitions: row.mode === null ? [] : apiTransitionsFrom(row.mode),
    health: row.health,
    health_error: row.health_error,
    capacity: row.capacity,
    last_polled_at: iso(row.last_polled_at),
    last_seen_at: iso(row.last_seen_at),
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
  };
}

export function createSeRegistry(deps: SeRegistryDeps) {
  const { store, clients, audit, logger } = deps;
  const now = deps.now ?? (() => new Date());

  async function existing(id: string): Promise<StorageElementRow> {
    const row = await store.byId(id);
    if (!row) throw new ArtError('SE_NOT_REGISTERED', `Элемент хранения ${id} не зарегистрирован`);
    return row;
  }

  function assertApiManaged(row: StorageElementRow, what: string): void {
    if (row.managed_by === 'config') {
      throw new ArtError(
        'SE_MANAGED_BY_CONFIG',
        `Элемент хранения ${row.id} объявлен в storage_elements конфигурации admin-module: ${what} — там`,
      );
    }
  }

  /** Проба адреса своим клиентом: отказ не оставляет в общем пуле клиента к чужому адресу. */
  async function verify(id: string, url: string): Promise<Observation> {
    const client = createSeClient(id, url, deps.getToken);
    try {
      const { element_id, ...observation } = await probeStorageElement(client, id, now());
      if (element_id === null) {
        throw new ArtError(
          'SE_UNREACHABLE',
          `SE ${id} по адресу ${url} не ответил: ${observation.health_error ?? 'нет element_id'}`,
          {
            extra: { url },
          },
        );
      }
      if (element_id !== id) {
        throw new ArtError(
          'SE_ID_MISMATCH',
          `По адресу ${url} отвечает элемент хранения ${element_id}, а не ${id}`,
          {
            extra: { url, expected: id, actual: element_id },
          },
        );
      }
      return observation;
    } finally {
      await client.close();
    }
  }

  return {
    async list(): Promise<StorageElementView[]> {
      return (await store.list()).map(storageElementView);
    },

    async get(id: string): Promise<StorageElementView> {
      return storageElementView(await existing(id));
    },

    async register(input: RegisterInput, actor: string): Promise<StorageElementView> {
      if (await store.byId(input.id)) {
        throw new ArtError('SE_ALREADY_REGISTERED', `Элемент хранения ${input.id} уже зарегистрирован`);
      }
      const observation = await verify(input.id, input.url);
      const element = {
        id: input.id,
        name: input.name ?? input.id,
        url: input.url,
        priority: input.priority ?? DEFAULT_PRIORITY,
        managed_by: 'api' as const,
      };
      if (!(await store.insert(element, observation))) {
        throw new ArtError('SE_ALREADY_REGISTERED', `Элемент хранения ${input.id} уже зарегистрирован`);
      }
      logger.info({ element_id: input.id, url: input.url, actor }, 'se_registered');
      await audit.record({
        actor,
        action: 'se.registered',
        target: input.id,
        details: { url: input.url, priority: element.priority },
      });
      deps.onChanged();
      return storageElementView((await store.byId(input.id))!);
    },

    async update(
      id: string,
      patch: { name?: string; url?: string; priority?: number },
      actor: string,
    ): Promise<StorageElementView> {
      const row = await existing(id);
      const urlChanged = patch.url !== undefined && patch.url !== row.url;
      if (urlChanged || (patch.priority !== undefined && patch.priority !== row.priority)) {
        assertApiManaged(row, 'адрес и приоритет меняются');
      }
      const observation = urlChanged ? await verify(id, patch.url!) : undefined;
      const updated = await store.update(id, patch, observation);
      if (!updated) throw new ArtError('SE_NOT_REGISTERED', `Элемент хранения ${id} не зарегистрирован`);
      logger.info({ element_id: id, actor, ...patch }, 'se_updated');
      await audit.record({ actor, action: 'se.updated', target: id, details: patch });
      deps.onChanged();
      return storageElementView(updated);
    },

    async remove(id: string, actor: string): Promise<void> {
      assertApiManaged(await existing(id), 'удаляется');
      if (!(await store.remove(id)))
        throw new ArtError('SE_NOT_REGISTERED', `Элемент хранения ${id} не зарегистрирован`);
      logger.info({ element_id: id, actor }, 'se_deregistered');
      await audit.record({ actor, action: 'se.deregistered', target: id });
      deps.onChanged();
    },

    /**
     * Смена режима на самом SE (SPEC SE-7). Правило проверяется заранее по режиму, который SE сообщает
     * сейчас (наблюдение могло устареть), и ещё раз — самим SE, который и решает. Вызов SE идёт с токеном
     * администратора: право storage:manage проверяет SE, его журнал называет того, кто сменил режим.
     */
    async changeMode(
      id: string,
      to: SeMode,
      principal: Principal,
    ): Promise<StorageElementView & { from: SeMode }> {
      const row = await existing(id);
      const client = clients.for(row.id, row.url);
      const asActor = { authorization: `Bearer ${principal.token}` };
      const refuse = async (error: unknown, from: SeMode | null) => {
        await audit.record({
          actor: principal.subject,
          action: 'se.mode.change_refused',
          target: id,
          details: { from, to, code: error instanceof ArtError ? error.code : 'INTERNAL_ERROR' },
        });
        return error;
      };
      const { mode: from } = await client.json<{ mode: SeMode }>('GET', '/api/mode', {
        headers: asActor,
        idempotent: true,
      });
      try {
        assertApiTransition(from, to);
        await client.json('POST', '/api/mode', { headers: asActor, body: { mode: to } });
      } catch (error) {
        throw await refuse(error, from);
      }
      logger.warn({ element_id: id, from, to, actor: principal.subject }, 'se_mode_change_requested');
      await audit.record({
        actor: principal.subject,
        action: 'se.mode.changed',
        target: id,
        details: { from, to },
      });
      await deps.pollOne(id);
      deps.onChanged();
      return { ...storageElementView(await existing(id)), from };
    },

    /** Конфигурация как код (SPEC BY-7): storage_elements заносятся в реестр при старте без пробы — SE может стартовать позже. */
    async syncDeclared(declared: readonly DeclaredElement[]): Promise<void> {
      const { changed, released } = await store.syncDeclared(declared);
      if (changed.length > 0) logger.info({ storage_elements: changed }, 'se_declared_synced');
      if (released.length > 0) logger.warn({ storage_elements: released }, 'se_no_longer_declared');
      if (changed.length > 0 || released.length > 0) deps.onChanged();
    },
  };
}
export type SeRegistry = ReturnType<typeof createSeRegistry>;
