// Таблица маршрутизации единой точки входа (SPEC §9). Для /api/files… метод решает, куда идти:
// GET/HEAD — query-module (чтение), POST/PUT/PATCH/DELETE — ingester (запись).
import type { ServiceName } from '@artstore/core';

export type Upstream = Exclude<ServiceName, 'gateway'>;

const READ_METHODS = new Set(['GET', 'HEAD']);

export function upstreamFor(method: string, path: string): Upstream | undefined {
  if (path === '/.well-known/jwks.json') return 'admin';
  if (!path.startsWith('/api/')) return undefined;
  const section = path.split('/')[2] ?? '';
  switch (section) {
    case 'auth':
    case 'users':
    case 'service-accounts':
    case 'storage-elements':
    case 'audit':
    case 'transactions':
      return 'admin';
    case 'files':
      return READ_METHODS.has(method) ? 'query' : 'ingester';
    case 'uploads':
      return 'ingester';
    case 'search':
    case 'links':
    case 'index':
      return 'query';
    default:
      return undefined;
  }
}
