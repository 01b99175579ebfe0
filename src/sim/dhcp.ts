// A host's DHCP client call: the kernel's ipconfig (net/ipv4/ipconfig.ts) run on one device,
// its result as a promise with dotted addresses.

import type { Host } from './host.js';
import { dev_get_by_name } from '../net/core/dev.js';
import { ic_dhcp, type IcConfig } from '../net/ipv4/ipconfig.js';
import { SyscallError } from './errors.js';
import * as E from '../uapi/errno.js';

export interface DhcpOptions {
  /** Retransmissions before giving up with ETIMEDOUT (ipconfig.c's CONF_SEND_RETRIES, 6). */
  retries?: number;
}

/** What the server gave, as applied to the device. */
export interface DhcpLease {
  /** '192.0.2.2/24' */
  address: string;
  router: string | null;
  server: string;
  nameservers: string[];
  domain: string;
  mtu: number;
  lease: number;
}

const ntoa = (a: number): string => `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;

function lease(c: IcConfig): DhcpLease {
  return {
    address: `${ntoa(c.addr)}/${c.prefixlen}`,
    router: c.router ? ntoa(c.router) : null,
    server: ntoa(c.server),
    nameservers: c.nameservers.map(ntoa),
    domain: c.domain,
    mtu: c.mtu,
    lease: c.lease,
  };
}

/** Configure `devName` of `host` by DHCP; rejects with a SyscallError (ETIMEDOUT, ENODEV, ENETDOWN). */
export function dhcpConfigure(host: Host, devName: string, opts: DhcpOptions = {}): Promise<DhcpLease> {
  const dev = dev_get_by_name(host.netns, devName);
  if (!dev) return Promise.reject(new SyscallError(E.ENODEV, 'dhcp'));
  return new Promise((resolve, reject) => {
    const r = ic_dhcp(
      dev,
      (err, conf) => (err ? reject(new SyscallError(-err, 'dhcp')) : resolve(lease(conf!))),
      opts.retries,
    );
    if (typeof r === 'number') reject(new SyscallError(-r, 'dhcp'));
  });
}
