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
    const s = kernel.sysctl;
    const c = this.core;
    const int = { min: 0, max: 0x7fffffff };
    s.register('net.core.rmem_max', {
      get: () => c.sysctl_rmem_max,
      set: (v) => (c.sysctl_rmem_max = v),
      ...int,
    });
    s.register('net.core.wmem_max', {
      get: () => c.sysctl_wmem_max,
      set: (v) => (c.sysctl_wmem_max = v),
      ...int,
    });
    s.register('net.core.rmem_default', {
      get: () => c.sysctl_rmem_default,
      set: (v) => (c.sysctl_rmem_default = v),
      ...int,
    });
    s.register('net.core.wmem_default', {
      get: () => c.sysctl_wmem_default,
      set: (v) => (c.sysctl_wmem_default = v),
      ...int,
    });
    s.register('net.core.optmem_max', {
      get: () => c.sysctl_optmem_max,
      set: (v) => (c.sysctl_optmem_max = v),
      ...int,
    });
    s.register('net.core.somaxconn', {
      get: () => c.sysctl_somaxconn,
      set: (v) => (c.sysctl_somaxconn = v),
      ...int,
    });
  }
}
