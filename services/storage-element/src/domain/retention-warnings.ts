// Предупреждения о сроке хранения (SPEC SE-9, BY-4): проверка считает активные файлы, чей
// retention_until наступит в пределах каждого упреждения (storage.retention_warnings.lead_times), и уже
// истёкшие — это список на рассмотрение (disposition), сами они не удаляются. Событие журнала — сводка,
// и только когда число изменилось: неизменная картина не повторяется каждую проверку.
import { parseDuration, type Logger } from '@artstore/core';
import type { FileCache } from '../store/file-cache.js';

export interface RetentionCounts {
  /** Упреждение (как в конфигурации, `30d`) → сколько файлов истекает в его пределах. */
  expiring: Map<string, number>;
  /** Срок уже истёк, файл активен. */
  expired: number;
}

/** Граница «истекает в пределах within» от момента at; null — within не длительность. */
export function expiryHorizon(within: string, at: Date): string | null {
  const ms = parseDuration(within);
  return ms === null || ms <= 0 ? null : new Date(at.getTime() + ms).toISOString();
}

export function createRetentionWarnings(deps: {
  elementId: string;
  cache: Pick<FileCache, 'countRetention'>;
  leadTimes: readonly string[];
  logger: Logger;
  now?: () => Date;
}) {
  const now = deps.now ?? (() => new Date());
  let last: RetentionCounts = { expiring: new Map(), expired: 0 };

  function report(event: string, files: number, previous: number, extra: Record<string, unknown>): void {
    if (files === previous) return;
    const fields = { element_id: deps.elementId, files, previous, ...extra };
    if (files > previous) deps.logger.warn(fields, event);
    else deps.logger.info(fields, event);
  }

  return {
    async check(): Promise<RetentionCounts> {
      const at = now();
      const asOf = at.toISOString();
      const expiring = new Map<string, number>();
      for (const within of deps.leadTimes) {
        const until = expiryHorizon(within, at);
        if (until === null)
          throw new Error(`storage.retention_warnings.lead_times: «${within}» — не длительность`);
        const files = await deps.cache.countRetention(asOf, until);
        expiring.set(within, files);
        report('retention_expiring', files, last.expiring.get(within) ?? 0, { within, until });
      }
      const expired = await deps.cache.countRetention(null, asOf);
      report('retention_expired', expired, last.expired, { as_of: asOf });
      last = { expiring, expired };
      return last;
    },
  };
}
export type RetentionWarnings = ReturnType<typeof createRetentionWarnings>;
