// struct net (include/net/net_namespace.h): one host's network namespace — its sysctls, the
// socket family table and per-protocol state. Each usernet host has one (init_net).

import type { Kernel } from '../../kernel/kernel.js';
import type { NetProtoFamily } from '../socket.js';
import { AF_MAX, SOMAXCONN } from '../../uapi/socket.js';

/** net.core.* (struct netns_core and the global net.core sysctls), Linux defaults. */
export class NetnsCore {
  sysctl_rmem_max = 212992;
  sysctl_wmem_max = 212992;
  sysctl_rmem_default = 212992;
  sysctl_wmem_default = 212992;
  sysctl_optmem_max = 131072;
  sysctl_somaxconn = SOMAXCONN;
}

export class Net {
  readonly core = new NetnsCore();
  /** net_families[]: filled by sock_register(). */
  readonly net_families: (NetProtoFamily | null)[] = new Array<NetProtoFamily | null>(AF_MAX).fill(null);
  /** Per-protocol state, keyed by the protocol module (struct netns_unix, netns_ipv4…). */
  readonly proto_state = new Map<string, unknown>();

  constructor(public readonly kernel: Kernel) {
    // net.core.* entries: read and written straight into NetnsCore.
    const entries: [string, keyof NetnsCore][] = [
      ['net.core.rmem_max', 'sysctl_rmem_max'],
      ['net.core.wmem_max', 'sysctl_wmem_max'],
      ['net.core.rmem_default', 'sysctl_rmem_default'],
      ['net.core.wmem_default', 'sysctl_wmem_default'],
      ['net.core.optmem_max', 'sysctl_optmem_max'],
      ['net.core.somaxconn', 'sysctl_somaxconn'],
    ];
    const c = this.core;
    for (const [name, field] of entries)
      kernel.sysctl.register(name, {
        get: () => c[field],
        set: (v) => (c[field] = v),
        min: 0,
        max: 0x7fffffff,
      });
  }
}
