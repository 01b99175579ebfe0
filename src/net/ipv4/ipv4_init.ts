// Booting IPv4 in a namespace (inet_init, ip_init, devinet_init, ip_fib_init in
// net/ipv4/af_inet.c and friends): struct netns_ipv4 with its sysctls at Linux's defaults, the
// FIB, addresses on devices, and ip_rcv as the ETH_P_IP packet handler.

import type { Net } from '../core/net_namespace.js';
import { dev_add_pack, netdev_state } from '../core/dev.js';
import * as E from '../../uapi/errno.js';
import { ETH_P_IP } from '../../uapi/if.js';
import { devinet_init, in_dev_get } from './devinet.js';
import { fib_net } from './fib.js';
import { ip_rcv } from './ip_input.js';
import { ipfrag_init } from './ip_fragment.js';
import { net_mib, snmp_set_conf_source } from './snmp.js';
import { inet_protos } from './protocol.js';

/** struct netns_ipv4: the namespace's IPv4 settings (the net.ipv4.* sysctls). */
export class NetnsIpv4 {
  /** net.ipv4.conf.all.forwarding (what net.ipv4.ip_forward reads and writes). */
  devconf_all_forwarding = 0;
  /** net.ipv4.conf.default.forwarding: what a new device starts with. */
  devconf_dflt_forwarding = 0;
  sysctl_ip_default_ttl = 64;
  sysctl_ip_no_pmtu_disc = 0;
  sysctl_ip_fwd_use_pmtu = 0;
  sysctl_ip_nonlocal_bind = 0;
  /** net.ipv4.ip_unprivileged_port_start. */
  sysctl_ip_prot_sock = 1024;
  /** net.ipv4.ip_local_port_range, "32768 60999". */
  ip_local_ports: [number, number] = [32768, 60999];
  /** net.ipv4.ping_group_range, "1 0": no group may open ping sockets. */
  ping_group_range: [number, number] = [1, 0];
  /** net.ipv4.ipfrag_high_thresh / low_thresh (bytes), ipfrag_time (s). */
  ipfrag_high_thresh = 4 * 1024 * 1024;
  ipfrag_low_thresh = 3 * 1024 * 1024;
  ipfrag_time = 30;
  /** net.ipv4.route.mtu_expires (s) and min_pmtu. */
  ip_rt_mtu_expires = 600;
  ip_rt_min_pmtu = 512 + 20 + 20;
  /** ip_id_key: the secret of the IP ID hash (ip_select_ident). */
  ip_id_key = 0;
}

declare module '../core/net_namespace.js' {
  interface Net {
    /** net->ipv4, set by ipv4_init(). */
    ipv4?: NetnsIpv4;
  }
}

/** IPV4_DEVCONF_ALL(net, FORWARDING). */
export function ip_forward_enabled(net: Net): boolean {
  return (net.ipv4?.devconf_all_forwarding ?? 0) !== 0;
}

/** inet_forward_change(): ip_forward writes all, default and every device's forwarding. */
function inet_forward_change(net: Net, on: number): void {
  const ipv4 = net.ipv4!;
  ipv4.devconf_all_forwarding = on;
  ipv4.devconf_dflt_forwarding = on;
  for (const dev of netdev_state(net).dev_base) {
    const in_dev = in_dev_get(dev);
    if (in_dev) in_dev.cnf.forwarding = on;
  }
}

/** inet_get_local_port_range(). */
export function inet_get_local_port_range(net: Net): [number, number] {
  const r = net.ipv4?.ip_local_ports ?? [32768, 60999];
  return [r[0], r[1]];
}

/** ipv4_local_port_range(): write net.ipv4.ip_local_port_range ("low high"), validated as Linux. */
export function set_local_port_range(net: Net, low: number, high: number): number {
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < 1 || high > 65535 || low > high)
    return -E.EINVAL;
  // ipv4_local_port_range(): a range may not straddle ip_unprivileged_port_start.
  const prot_sock = net.ipv4!.sysctl_ip_prot_sock;
  if (low < prot_sock && high >= prot_sock) return -E.EINVAL;
  net.ipv4!.ip_local_ports = [low, high];
  return 0;
}

/** The ping_group_range sysctl read. */
export function inet_get_ping_group_range(net: Net): [number, number] {
  const r = net.ipv4?.ping_group_range ?? [1, 0];
  return [r[0], r[1]];
}

/**
 * ipv4_ping_group_range(): write "low high" (gids 0..2^31-1). A reversed range is stored as
 * "1 0", which admits nobody.
 */
export function set_ping_group_range(net: Net, low: number, high: number): number {
  const GID_T_MAX = 0x7fffffff;
  if (
    !Number.isInteger(low) ||
    !Number.isInteger(high) ||
    low < 0 ||
    high < 0 ||
    low > GID_T_MAX ||
    high > GID_T_MAX
  )
    return -E.EINVAL;
  net.ipv4!.ping_group_range = high < low ? [1, 0] : [low, high];
  return 0;
}

function register_sysctls(net: Net, ipv4: NetnsIpv4): void {
  const t = net.kernel.sysctl;
  t.register('net.ipv4.ip_forward', {
    get: () => ipv4.devconf_all_forwarding,
    set: (v) => inet_forward_change(net, v),
    min: 0,
    max: 1,
  });
  t.register('net.ipv4.conf.all.forwarding', {
    get: () => ipv4.devconf_all_forwarding,
    set: (v) => inet_forward_change(net, v),
    min: 0,
    max: 1,
  });
  t.register('net.ipv4.conf.default.forwarding', {
    get: () => ipv4.devconf_dflt_forwarding,
    set: (v) => (ipv4.devconf_dflt_forwarding = v),
    min: 0,
    max: 1,
  });
  const plain: [string, keyof NetnsIpv4, number, number][] = [
    ['net.ipv4.ip_default_ttl', 'sysctl_ip_default_ttl', 1, 255],
    ['net.ipv4.ip_no_pmtu_disc', 'sysctl_ip_no_pmtu_disc', 0, 3],
    ['net.ipv4.ip_forward_use_pmtu', 'sysctl_ip_fwd_use_pmtu', 0, 1],
    ['net.ipv4.ip_nonlocal_bind', 'sysctl_ip_nonlocal_bind', 0, 1],
    ['net.ipv4.ip_unprivileged_port_start', 'sysctl_ip_prot_sock', 0, 65535],
    ['net.ipv4.ipfrag_time', 'ipfrag_time', 0, 0x7fffffff],
    ['net.ipv4.route.mtu_expires', 'ip_rt_mtu_expires', 0, 0x7fffffff],
    ['net.ipv4.route.min_pmtu', 'ip_rt_min_pmtu', 68, 65535],
  ];
  for (const [name, field, min, max] of plain)
    t.register(name, {
      get: () => ipv4[field] as number,
      set: (v) => ((ipv4[field] as number) = v),
      min,
      max,
    });
  // The thresholds bound each other (ipv4_frags_ns_ctl_table: extra1/extra2 point at the
  // other value), so the limits are read at write time.
  t.register('net.ipv4.ipfrag_high_thresh', {
    get: () => ipv4.ipfrag_high_thresh,
    set: (v) => (ipv4.ipfrag_high_thresh = v),
    get min() {
      return ipv4.ipfrag_low_thresh;
    },
    max: 0x7fffffff,
  });
  t.register('net.ipv4.ipfrag_low_thresh', {
    get: () => ipv4.ipfrag_low_thresh,
    set: (v) => (ipv4.ipfrag_low_thresh = v),
    min: 0,
    get max() {
      return ipv4.ipfrag_high_thresh;
    },
  });
}

/**
 * ipv4_init(): everything IPv4 needs in a namespace before the first device registers. Called
 * from the Host at boot, after inet_init(); the transports (ARP, ICMP, UDP…) register on top.
 */
export function ipv4_init(net: Net): NetnsIpv4 {
  if (net.ipv4) return net.ipv4;
  const ipv4 = new NetnsIpv4();
  ipv4.ip_id_key = net.kernel.prandom.get_random_u32();
  net.ipv4 = ipv4;
  net_mib(net);
  fib_net(net);
  inet_protos(net);
  register_sysctls(net, ipv4);
  snmp_set_conf_source((n) => ({
    forwarding: ip_forward_enabled(n),
    default_ttl: n.ipv4?.sysctl_ip_default_ttl ?? 64,
  }));
  ipfrag_init(net);
  devinet_init(net);
  dev_add_pack(net, { type: ETH_P_IP, dev: null, func: ip_rcv });
  return ipv4;
}
