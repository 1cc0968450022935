// Запись документа обнаружения (SPEC AD-8): ключ с полным документом, затем уведомление с версией.
// Порядок важен: получивший уведомление клиент читает ключ и должен найти там эту версию или новее.
import type { Coordination } from '../ports/coordination.js';
import {
  DISCOVERY_CHANNEL,
  DISCOVERY_KEY,
  parseDiscoveryDocument,
  type DiscoveryDocument,
} from './document.js';

export async function publishDiscoveryDocument(
  coordination: Coordination,
  document: DiscoveryDocument,
): Promise<void> {
  await coordination.set(DISCOVERY_KEY, JSON.stringify(document));
  await coordination.publish(DISCOVERY_CHANNEL, JSON.stringify({ version: document.version }));
}

/** Версия документа в координации; 0 — ключа нет или в нём не документ. */
export async function publishedDiscoveryVersion(coordination: Coordination): Promise<number> {
  const text = await coordination.get(DISCOVERY_KEY);
  return (text === null ? undefined : parseDiscoveryDocument(text))?.version ?? 0;
}
