// Административные маршруты — только из разрешённых сетей (SPEC AD-11). Проверка до разбора тела и
// до проверки прав: из чужой сети маршрут недоступен никому.
import { isIP, BlockList } from 'node:net';
import { ArtError } from '@artstore/core';
import type { FastifyInstance } from 'fastify';

/** Список сетей из конфигурации: `10.0.0.0/8`, `192.168.1.5`, `::1`, `fd00::/8`. */
export function parseNetworks(networks: readonly string[]): BlockList {
  const list = new BlockList();
  for (const network of networks) {
    const [address, prefix] = network.split('/') as [string, string | undefined];
    const family = isIP(address);
    if (family === 0)
      throw new ArtError('CONFIG_INVALID', `auth.admin_networks: «${network}» — не адрес и не CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const bits = Number(prefix);
    if (!/^\d{1,3}$/.test(prefix) || bits > (family === 4 ? 32 : 128)) {
      throw new ArtError('CONFIG_INVALID', `auth.admin_networks: «${network}» — неверная длина префикса`);
    }
    list.addSubnet(address, bits, type);
  }
  return list;
}

export function registerAdminNetworkGuard(
  app: FastifyInstance,
  networks: readonly string[],
  prefixes: readonly string[],
): void {
  if (networks.length === 0) return;
  const allowed = parseNetworks(networks);
  app.addHook('onRequest', (request, _reply, done) => {
    const path = request.url.split('?')[0]!;
    if (
      !prefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`)) ||
      path === '/api/users/me' ||
      path.startsWith('/api/users/me/')
    ) {
      done();
      return;
    }
    const ip = request.ip;
    const family = isIP(ip);
    const inside = family !== 0 && allowed.check(ip, family === 4 ? 'ipv4' : 'ipv6');
    if (inside) done();
    else {
      request.log.warn({ ip, path }, 'admin_network_denied');
      done(new ArtError('ADMIN_NETWORK_DENIED', `Адрес ${ip} вне auth.admin_networks`));
    }
  });
}
