// The world's /etc/hosts: the names every host of a world resolves (host.dns.lookup, and
// host.net.connect({ host: name })).

import { isIP } from 'node:net';
import type { Host } from './host.js';
import { netdev_state } from '../net/core/dev.js';
import { in_dev_get } from '../net/ipv4/devinet.js';
import { ipv4Format, ipv4IsLoopback } from '../wire/ipv4.js';
import { IFF_LOOPBACK } from '../uapi/if.js';

/** One resolved address, as node:dns reports it. */
export interface HostsEntry {
  address: string;
  family: 4 | 6;
}

/** The first IPv4 address of a host outside 127/8, in device order (eth0 before eth1). */
export function firstIpv4Address(host: Host): string | null {
  for (const dev of netdev_state(host.netns).dev_base) {
    if (dev.flags & IFF_LOOPBACK) continue;
    for (const ifa of in_dev_get(dev)?.ifa_list ?? []) {
      if (!ipv4IsLoopback(ifa.ifa_local)) return ipv4Format(ifa.ifa_local);
    }
  }
  return null;
}

/**
 * Names and their addresses, looked up in this order: entries added with set(), then
 * 'localhost' (127.0.0.1), then the name of a host of the world (its first IPv4 address outside
 * 127/8, read at lookup time, so addresses added later count). Names compare case-insensitively,
 * as glibc reads /etc/hosts.
 */
export class HostsTable {
  private readonly added = new Map<string, HostsEntry[]>();

  constructor(private readonly hosts: ReadonlyMap<string, Host>) {}

  /** Map `name` to one or more addresses (IPv4 or IPv6 literals), replacing what it had. */
  set(name: string, addresses: string | string[]): this {
    const list = (Array.isArray(addresses) ? addresses : [addresses]).map((address): HostsEntry => {
      const family = isIP(address);
      if (family === 0) throw new TypeError(`hostsTable: ${JSON.stringify(address)} is not an IP address`);
      return { address, family: family as 4 | 6 };
    });
    if (name === '' || /\s/.test(name)) throw new TypeError(`hostsTable: bad name ${JSON.stringify(name)}`);
    if (list.length === 0) throw new TypeError('hostsTable: no address');
    this.added.set(name.toLowerCase(), list);
    return this;
  }

  /** Remove an entry added with set(); true when there was one. */
  delete(name: string): boolean {
    return this.added.delete(name.toLowerCase());
  }

  /** Every address `name` resolves to, in order; empty when it resolves to none. */
  resolve(name: string): HostsEntry[] {
    const key = name.toLowerCase();
    const added = this.added.get(key);
    if (added) return added.map((e) => ({ ...e }));
    if (key === 'localhost') return [{ address: '127.0.0.1', family: 4 }];
    for (const [hostName, host] of this.hosts) {
      if (hostName.toLowerCase() !== key) continue;
      const address = firstIpv4Address(host);
      return address ? [{ address, family: 4 }] : [];
    }
    return [];
  }

  /** The table as an /etc/hosts file: localhost, the hosts with an address, then added entries. */
  toString(): string {
    const lines = ['127.0.0.1\tlocalhost'];
    for (const [name, host] of this.hosts) {
      const address = firstIpv4Address(host);
      if (address && !this.added.has(name.toLowerCase())) lines.push(`${address}\t${name}`);
    }
    for (const [name, list] of this.added) for (const e of list) lines.push(`${e.address}\t${name}`);
    return lines.join('\n') + '\n';
  }
}
