// IPv4 addresses on interfaces (net/ipv4/devinet.c) and the routes they imply
// (fib_add_ifaddr / fib_del_ifaddr in net/ipv4/fib_frontend.c): struct in_device on
// dev.ip_ptr with its address list, the inetaddr notifier chain, source address selection and
// address classification.

import type { Net } from '../core/net_namespace.js';
import type { NetDevice } from '../core/netdevice.js';
import { NETDEV_DOWN, NETDEV_REGISTER, NETDEV_UNREGISTER, NETDEV_UP, netdev_state } from '../core/dev.js';
import { register_netdevice_notifier } from '../core/dev.js';
import * as E from '../../uapi/errno.js';
import { IFF_LOOPBACK, IFF_UP } from '../../uapi/if.js';
import {
  FibTable,
  NLM_F_APPEND,
  NLM_F_CREATE,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_UNICAST,
  RTPROT_KERNEL,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
  fib_flush_dev,
  fib_net,
  fib_set_addr_ops,
  fib_table_insert,
  inet_make_mask,
  rt_cache_flush,
} from './fib.js';

/** ifa_flags. */
export const IFA_F_SECONDARY = 0x01;
export const IFA_F_PERMANENT = 0x80;
export const IFA_F_NOPREFIXROUTE = 0x200;

/** struct ipv4_devconf, the entries we use (Linux defaults). */
export class Ipv4Devconf {
  forwarding = 0;
  accept_source_route = 0;
  route_localnet = 0;
  accept_local = 0;
}

/** struct in_ifaddr. */
export class InIfaddr {
  ifa_flags = 0;
  constructor(
    readonly ifa_dev: InDevice,
    /** The address itself. */
    readonly ifa_local: number,
    /** The peer, equal to ifa_local on broadcast links. */
    readonly ifa_address: number,
    readonly ifa_prefixlen: number,
    readonly ifa_mask: number,
    /** 0 when none was given (modern iproute2 gives none unless asked). */
    readonly ifa_broadcast: number,
    readonly ifa_scope: number,
    readonly ifa_label: string,
  ) {}
}

/** struct in_device: IPv4 state of one interface (dev->ip_ptr). */
export class InDevice {
  /** Primary addresses first, then secondaries (in_dev->ifa_list). */
  readonly ifa_list: InIfaddr[] = [];
  readonly cnf = new Ipv4Devconf();
  constructor(readonly dev: NetDevice) {}
}

/** __in_dev_get_rcu(). */
export function in_dev_get(dev: NetDevice): InDevice | null {
  return (dev.ip_ptr as InDevice | null) ?? null;
}

/** inet_ifa_match(): is `addr` in the ifa's subnet. */
export function inet_ifa_match(addr: number, ifa: InIfaddr): boolean {
  return ((addr ^ ifa.ifa_address) & ifa.ifa_mask) === 0;
}

export type InetaddrNotifier = (event: number, ifa: InIfaddr) => void;

interface DevinetState {
  inetaddr_chain: InetaddrNotifier[];
  /** inet_addr_lst: local address → how many interfaces carry it (__ip_dev_find). */
  addr_count: Map<number, InIfaddr[]>;
}

function devinet_state(net: Net): DevinetState {
  let s = net.proto_state.get('devinet') as DevinetState | undefined;
  if (!s) {
    s = { inetaddr_chain: [], addr_count: new Map() };
    net.proto_state.set('devinet', s);
  }
  return s;
}

/** register_inetaddr_notifier(): told NETDEV_UP after an address is added, NETDEV_DOWN after one goes. */
export function register_inetaddr_notifier(net: Net, fn: InetaddrNotifier): void {
  devinet_state(net).inetaddr_chain.push(fn);
}

/** unregister_inetaddr_notifier(). */
export function unregister_inetaddr_notifier(net: Net, fn: InetaddrNotifier): void {
  const c = devinet_state(net).inetaddr_chain;
  const i = c.indexOf(fn);
  if (i >= 0) c.splice(i, 1);
}

function call_inetaddr_notifiers(net: Net, event: number, ifa: InIfaddr): void {
  for (const fn of devinet_state(net).inetaddr_chain.slice()) fn(event, ifa);
}

/** inetdev_init(). */
export function inetdev_init(dev: NetDevice): InDevice {
  let in_dev = in_dev_get(dev);
  if (in_dev) return in_dev;
  in_dev = new InDevice(dev);
  // New devices take the namespace's default (conf/default/forwarding follows ip_forward).
  in_dev.cnf.forwarding = dev.nd_net.ipv4?.devconf_dflt_forwarding ?? 0;
  dev.ip_ptr = in_dev;
  return in_dev;
}

/** Options of an address being added (what `ip addr add` passes as ifaddrmsg + attributes). */
export interface IfaddrConfig {
  local: number;
  prefixlen: number;
  /** Peer address for point-to-point links; defaults to local. */
  address?: number;
  broadcast?: number;
  scope?: number;
  label?: string;
  flags?: number;
}

/**
 * inet_insert_ifa(): add an address. One in the subnet of an existing primary becomes secondary
 * (no routes of its own beyond the local one); the same address twice on a device is EEXIST.
 */
export function inet_insert_ifa(dev: NetDevice, cfg: IfaddrConfig): number {
  const in_dev = in_dev_get(dev) ?? inetdev_init(dev);
  if (cfg.prefixlen < 0 || cfg.prefixlen > 32) return -E.EINVAL;
  const mask = inet_make_mask(cfg.prefixlen);
  const address = cfg.address ?? cfg.local;
  const label = cfg.label ?? dev.name;
  // ipv4: label must begin with the device name (inet_rtm_newaddr / inet_abc_len).
  if (label !== dev.name && !label.startsWith(dev.name + ':')) return -E.EINVAL;
  const ifa = new InIfaddr(
    in_dev,
    cfg.local >>> 0,
    address >>> 0,
    cfg.prefixlen,
    mask,
    (cfg.broadcast ?? 0) >>> 0,
    cfg.scope ?? 0,
    label,
  );
  ifa.ifa_flags = (cfg.flags ?? 0) & ~IFA_F_SECONDARY;
  ifa.ifa_flags |= IFA_F_PERMANENT;
  let last_primary = 0;
  for (let i = 0; i < in_dev.ifa_list.length; i++) {
    const ifa1 = in_dev.ifa_list[i];
    if (!(ifa1.ifa_flags & IFA_F_SECONDARY) && ifa.ifa_scope <= ifa1.ifa_scope) last_primary = i + 1;
    if (ifa1.ifa_mask === ifa.ifa_mask && inet_ifa_match(ifa1.ifa_address, ifa)) {
      if (ifa1.ifa_local === ifa.ifa_local) return -E.EEXIST;
      if (ifa1.ifa_scope !== ifa.ifa_scope) return -E.EINVAL;
      ifa.ifa_flags |= IFA_F_SECONDARY;
    }
  }
  if (ifa.ifa_flags & IFA_F_SECONDARY) in_dev.ifa_list.push(ifa);
  else in_dev.ifa_list.splice(last_primary, 0, ifa);
  const st = devinet_state(dev.nd_net);
  const same = st.addr_count.get(ifa.ifa_local);
  if (same) same.push(ifa);
  else st.addr_count.set(ifa.ifa_local, [ifa]);
  fib_add_ifaddr(ifa);
  call_inetaddr_notifiers(dev.nd_net, NETDEV_UP, ifa);
  return 0;
}

/** __inet_del_ifa(): remove an address; removing a primary takes its secondaries with it. */
export function inet_del_ifa(in_dev: InDevice, ifa: InIfaddr): void {
  const list = in_dev.ifa_list;
  const i = list.indexOf(ifa);
  if (i < 0) return;
  const gone: InIfaddr[] = [ifa];
  if (!(ifa.ifa_flags & IFA_F_SECONDARY)) {
    // promote_secondaries is 0 by default: the subnet's secondaries are deleted too.
    for (const s of list)
      if (
        s !== ifa &&
        s.ifa_flags & IFA_F_SECONDARY &&
        s.ifa_mask === ifa.ifa_mask &&
        inet_ifa_match(s.ifa_address, ifa)
      )
        gone.push(s);
  }
  const net = in_dev.dev.nd_net;
  const st = devinet_state(net);
  for (const g of gone) {
    list.splice(list.indexOf(g), 1);
    const same = st.addr_count.get(g.ifa_local);
    if (same) {
      same.splice(same.indexOf(g), 1);
      if (!same.length) st.addr_count.delete(g.ifa_local);
    }
  }
  for (const g of gone.slice().reverse()) {
    fib_del_ifaddr(g);
    call_inetaddr_notifiers(net, NETDEV_DOWN, g);
  }
}

/** inet_ifa_byprefix()-like: the address `local`/`prefixlen` on `dev`, for `ip addr del`. */
export function inet_ifa_find(dev: NetDevice, local: number, prefixlen: number): InIfaddr | null {
  const in_dev = in_dev_get(dev);
  if (!in_dev) return null;
  for (const ifa of in_dev.ifa_list)
    if (ifa.ifa_local === local >>> 0 && (prefixlen < 0 || ifa.ifa_prefixlen === prefixlen)) return ifa;
  return null;
}

/** fib_magic(): a route the kernel keeps for an address (proto kernel), in local or main. */
function fib_magic(net: Net, type: number, dst: number, plen: number, ifa: InIfaddr): void {
  fib_table_insert(
    net,
    {
      dst,
      plen,
      type,
      table: type === RTN_UNICAST ? RT_TABLE_MAIN : RT_TABLE_LOCAL,
      scope: type === RTN_LOCAL ? RT_SCOPE_HOST : RT_SCOPE_LINK,
      protocol: RTPROT_KERNEL,
      prefsrc: ifa.ifa_local,
      dev: ifa.ifa_dev.dev,
    },
    NLM_F_CREATE | NLM_F_APPEND,
  );
}

/**
 * fib_add_ifaddr(): the local route for the address (always), and once the device is up the
 * explicit broadcast, the prefix route (local on loopback, unicast elsewhere) and the subnet
 * broadcast for prefixes shorter than /31.
 */
export function fib_add_ifaddr(ifa: InIfaddr): void {
  const dev = ifa.ifa_dev.dev;
  const net = dev.nd_net;
  const mask = ifa.ifa_mask;
  const addr = ifa.ifa_local;
  const prefix = (ifa.ifa_address & mask) >>> 0;
  fib_magic(net, RTN_LOCAL, addr, 32, ifa);
  if (!(dev.flags & IFF_UP)) return;
  if (ifa.ifa_broadcast && ifa.ifa_broadcast !== 0xffffffff)
    fib_magic(net, RTN_BROADCAST, ifa.ifa_broadcast, 32, ifa);
  if (
    prefix >>> 24 !== 0 &&
    !(ifa.ifa_flags & IFA_F_SECONDARY) &&
    (prefix !== addr || ifa.ifa_prefixlen < 32)
  ) {
    if (!(ifa.ifa_flags & IFA_F_NOPREFIXROUTE))
      fib_magic(net, dev.flags & IFF_LOOPBACK ? RTN_LOCAL : RTN_UNICAST, prefix, ifa.ifa_prefixlen, ifa);
    if (ifa.ifa_prefixlen < 31) fib_magic(net, RTN_BROADCAST, (prefix | ~mask) >>> 0, 32, ifa);
  }
}

/**
 * fib_del_ifaddr(): the routes the address implied go, unless another address on the device
 * still implies them; routes preferring the address as source go with it (fib_sync_down_addr).
 */
export function fib_del_ifaddr(ifa: InIfaddr): void {
  const dev = ifa.ifa_dev.dev;
  const net = dev.nd_net;
  const f = fib_net(net);
  const stillLocal = devinet_state(net).addr_count.has(ifa.ifa_local);
  const kernelOf = (tb: FibTable): void => {
    tb.flush((fa) => fa.nh_dev === dev && fa.fib_protocol === RTPROT_KERNEL);
  };
  kernelOf(f.fib_local);
  kernelOf(f.fib_main);
  if (!stillLocal) {
    f.fib_local.flush((fa) => fa.fib_prefsrc === ifa.ifa_local);
    f.fib_main.flush((fa) => fa.fib_prefsrc === ifa.ifa_local);
  }
  for (const other of ifa.ifa_dev.ifa_list) fib_add_ifaddr(other);
  rt_cache_flush(net);
}

/** __ip_dev_find(): the device carrying local address `addr`, or null. */
export function ip_dev_find(net: Net, addr: number): NetDevice | null {
  const l = devinet_state(net).addr_count.get(addr >>> 0);
  if (l && l.length) return l[0].ifa_dev.dev;
  // Fall back to the local table, so that a loopback subnet (127.0.0.2 …) counts as local.
  const fa = fib_net(net).fib_local.lookup(addr >>> 0, 0, 0, 0, 0);
  return fa && fa.fa_type === RTN_LOCAL ? fa.nh_dev : null;
}

/** inet_lookup_ifaddr_rcu(): is `addr` assigned to some interface. */
export function inet_lookup_ifaddr(net: Net, addr: number): boolean {
  return devinet_state(net).addr_count.has(addr >>> 0);
}

/**
 * inet_select_addr(): a source address on `dev` for talking to `dst` within `scope` — a primary
 * address whose subnet holds dst, else the first primary of the scope; failing that, any
 * non-link-scope primary of the namespace (lo first, as dev_base lists it).
 */
export function inet_select_addr(dev: NetDevice | null, dst: number, scope: number): number {
  let addr = 0;
  const in_dev = dev ? in_dev_get(dev) : null;
  if (in_dev) {
    const localnet_scope = in_dev.cnf.route_localnet ? RT_SCOPE_LINK : RT_SCOPE_HOST;
    for (const ifa of in_dev.ifa_list) {
      if (ifa.ifa_flags & IFA_F_SECONDARY) continue;
      if (Math.min(ifa.ifa_scope, localnet_scope) > scope) continue;
      if (!dst || inet_ifa_match(dst, ifa)) {
        addr = ifa.ifa_local;
        break;
      }
      if (!addr) addr = ifa.ifa_local;
    }
    if (addr) return addr;
  }
  if (!dev) return 0;
  // in_dev_select_addr() over every device: link-scope addresses never leave their link.
  for (const d of netdev_state(dev.nd_net).dev_base) {
    const id = in_dev_get(d);
    if (!id) continue;
    for (const ifa of id.ifa_list) {
      if (ifa.ifa_flags & IFA_F_SECONDARY) continue;
      if (ifa.ifa_scope !== RT_SCOPE_LINK && ifa.ifa_scope <= scope) return ifa.ifa_local;
    }
  }
  return 0;
}

/**
 * inet_addr_type() / inet_dev_addr_type(): what `addr` is to this host — RTN_LOCAL, RTN_BROADCAST,
 * RTN_MULTICAST or RTN_UNICAST (anything else), from the local table.
 */
export function inet_addr_type(net: Net, addr: number, dev: NetDevice | null = null): number {
  addr >>>= 0;
  if (addr >>> 24 === 0 || addr === 0xffffffff) return RTN_BROADCAST;
  if (addr >>> 28 === 0xe) return RTN_MULTICAST;
  const fa = fib_net(net).fib_local.lookup(addr, 0, 0, 0, 0);
  if (fa && (!dev || dev === fa.nh_dev)) return fa.fa_type;
  return RTN_UNICAST;
}

/** The devinet half of the netdevice notifier (inetdev_event) and of fib_netdev_event. */
function inetdev_event(event: number, dev: NetDevice): void {
  switch (event) {
    case NETDEV_REGISTER:
      inetdev_init(dev);
      break;
    case NETDEV_UP: {
      const in_dev = in_dev_get(dev) ?? inetdev_init(dev);
      if (dev.flags & IFF_LOOPBACK && !inet_ifa_find(dev, 0x7f000001, 8))
        inet_insert_ifa(dev, { local: 0x7f000001, prefixlen: 8, scope: RT_SCOPE_HOST, label: dev.name });
      // fib_netdev_event(NETDEV_UP): the routes of every address come (back).
      for (const ifa of in_dev.ifa_list) fib_add_ifaddr(ifa);
      rt_cache_flush(dev.nd_net);
      break;
    }
    case NETDEV_DOWN:
      // fib_disable_ip(): every route through the device goes.
      fib_flush_dev(dev.nd_net, dev);
      break;
    case NETDEV_UNREGISTER: {
      const in_dev = in_dev_get(dev);
      if (in_dev) while (in_dev.ifa_list.length) inet_del_ifa(in_dev, in_dev.ifa_list[0]);
      fib_flush_dev(dev.nd_net, dev, true);
      dev.ip_ptr = null;
      break;
    }
    default:
      rt_cache_flush(dev.nd_net);
  }
}

/** devinet_init() for one namespace: in_devices for every device, present and future. */
export function devinet_init(net: Net): void {
  devinet_state(net);
  fib_set_addr_ops({ is_local: (n, a) => inet_lookup_ifaddr(n, a) });
  register_netdevice_notifier(net, inetdev_event);
  for (const dev of netdev_state(net).dev_base) {
    inetdev_event(NETDEV_REGISTER, dev);
    if (dev.flags & IFF_UP) inetdev_event(NETDEV_UP, dev);
  }
}
