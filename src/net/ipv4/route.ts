// IPv4 routing decisions (net/ipv4/route.c): ip_route_output_key for locally generated packets
// and ip_route_input for received ones, producing the struct rtable a packet carries as
// skb.dst, with the path MTU (learned per destination as next-hop exceptions).
//
// Routes made from a FIB entry are cached on it (nhc_rth_output / nhc_rth_input) and stamped
// with the FIB generation, so the common case allocates nothing.

import type { Net } from '../core/net_namespace.js';
import type { NetDevice } from '../core/netdevice.js';
import type { SkBuff } from '../core/skbuff.js';
import { dev_get_by_index, netdev_state } from '../core/dev.js';
import * as E from '../../uapi/errno.js';
import { ETH_P_IP, IFF_LOOPBACK, IFF_UP } from '../../uapi/if.js';
import {
  FibAlias,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_UNICAST,
  RTN_UNREACHABLE,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  fib_lookup,
  fib_net,
} from './fib.js';
import { in_dev_get, inet_lookup_ifaddr, inet_select_addr, ip_dev_find } from './devinet.js';

/** rt_flags (RTCF_*). */
export const RTCF_DOREDIRECT = 0x01000000;
export const RTCF_DIRECTSRC = 0x04000000;
export const RTCF_BROADCAST = 0x10000000;
export const RTCF_MULTICAST = 0x20000000;
export const RTCF_LOCAL = 0x80000000;

/** What dst_input() does with a received packet routed here (the kernel's dst.input pointer). */
export const DST_INPUT_LOCAL = 0; // ip_local_deliver
export const DST_INPUT_FORWARD = 1; // ip_forward
export const DST_INPUT_ERROR = 2; // ip_error

/** IP_MAX_MTU. */
export const IP_MAX_MTU = 0xffff;

/** struct rtable (with the struct dst_entry fields we use). */
export class Rtable {
  /** Absolute time (ns) the learned PMTU lapses (dst.expires); 0 = none. */
  expires = 0;
  /** RTAX_MTU metric of the route, 0 = none. */
  mtu_metric = 0;
  rt_mtu_locked = false;
  rt_iif = 0;
  rt_is_input = false;
  /** dst.input. */
  input = DST_INPUT_LOCAL;
  /** dst.error, the positive errno ip_error reports. */
  error = 0;
  /** The FIB generation the route was made in (rt_genid). */
  rt_genid = 0;
  constructor(
    /** dst.dev: where packets on this route leave. */
    public dev: NetDevice,
    public rt_type: number,
    public rt_flags: number,
    /** The gateway, 0 when the destination is on-link. */
    public rt_gw4: number,
    /** The preferred source address of the route. */
    public rt_src: number,
    /** A learned path MTU, 0 when none. */
    public rt_pmtu: number,
  ) {}

  /** rt_uses_gateway. */
  get rt_uses_gateway(): boolean {
    return this.rt_gw4 !== 0;
  }
}

/** rt_nexthop(): where a packet to `daddr` on `rt` goes next on the link. */
export function rt_nexthop(rt: Rtable, daddr: number): number {
  return rt.rt_gw4 || daddr;
}

/** ipv4_mtu() / dst_mtu(): the learned PMTU while valid, else the route metric, else the device's. */
export function dst_mtu(rt: Rtable, now: number): number {
  let mtu = rt.rt_pmtu;
  if (!mtu || now >= rt.expires) mtu = rt.mtu_metric;
  if (!mtu) {
    mtu = rt.dev.mtu;
    if (rt.rt_mtu_locked && rt.rt_uses_gateway && mtu > 576) mtu = 576;
  }
  return Math.min(mtu, IP_MAX_MTU);
}

/** ip_dst_mtu_maybe_forward(): forwarding ignores learned PMTUs unless ip_forward_use_pmtu. */
export function ip_dst_mtu_maybe_forward(net: Net, rt: Rtable, forwarding: boolean): number {
  if ((net.ipv4?.sysctl_ip_fwd_use_pmtu ?? 0) || rt.rt_mtu_locked || !forwarding) {
    const now = net.kernel.clock.now();
    if (rt.rt_pmtu && now < rt.expires) return Math.min(rt.rt_pmtu, IP_MAX_MTU);
  }
  let mtu = rt.mtu_metric;
  if (!mtu) mtu = rt.dev.mtu;
  return Math.min(mtu, IP_MAX_MTU);
}

/** /proc/net/stat/rt_cache figures for the slow paths (RT_CACHE_STAT_INC). */
export class RtCacheStat {
  in_slow_tot = 0;
  in_slow_mc = 0;
  in_no_route = 0;
  in_brd = 0;
  in_martian_dst = 0;
  in_martian_src = 0;
  out_slow_tot = 0;
}

interface RouteState {
  stat: RtCacheStat;
  loopback_dev: NetDevice | null;
  /** Cached input routes that depend on nothing but the namespace. */
  rt_local_in: Rtable | null;
  rt_brd_in: Rtable | null;
  rt_err_in: Map<number, Rtable>;
}

declare module '../core/net_namespace.js' {
  interface Net {
    ipv4_rt?: RouteState;
  }
}

function route_state(net: Net): RouteState {
  return (net.ipv4_rt ??= {
    stat: new RtCacheStat(),
    loopback_dev: null,
    rt_local_in: null,
    rt_brd_in: null,
    rt_err_in: new Map(),
  });
}

/** The routing slow-path statistics of a namespace. */
export function rt_cache_stat(net: Net): RtCacheStat {
  return route_state(net).stat;
}

/** net->loopback_dev. */
export function loopback_dev(net: Net): NetDevice | null {
  const st = route_state(net);
  if (st.loopback_dev && st.loopback_dev.ifindex) return st.loopback_dev;
  for (const d of netdev_state(net).dev_base)
    if (d.flags & IFF_LOOPBACK) {
      st.loopback_dev = d;
      return d;
    }
  return null;
}

function ipv4_is_zeronet(a: number): boolean {
  return a >>> 24 === 0;
}
function ipv4_is_loopback(a: number): boolean {
  return a >>> 24 === 127;
}
function ipv4_is_multicast(a: number): boolean {
  return a >>> 28 === 0xe;
}
function ipv4_is_lbcast(a: number): boolean {
  return a >>> 0 === 0xffffffff;
}

/** struct flowi4, the fields routing reads; saddr (and oif for local routes) are filled in. */
export interface Flowi4 {
  daddr: number;
  saddr: number;
  tos: number;
  oif: number;
  /** flowi4_scope; RT_SCOPE_UNIVERSE by default. */
  scope?: number;
  /** FLOWI_FLAG_ANYSRC: the source need not be ours (IP_TRANSPARENT, raw with hdrincl). */
  anysrc?: boolean;
}

/** fib_result_prefsrc(): the route's preferred source, or one picked on its device. */
function fib_result_prefsrc(fa: FibAlias): number {
  if (fa.fib_prefsrc) return fa.fib_prefsrc;
  return inet_select_addr(fa.nh_dev, fa.nh_gw, fa.fib_scope);
}

/** The source a route prefers (rt_src): a local route's own address, else fib_result_prefsrc. */
function route_prefsrc(fa: FibAlias, daddr: number): number {
  return fa.fa_type === RTN_LOCAL ? fa.fib_prefsrc || daddr : fib_result_prefsrc(fa);
}

function rt_dst_alloc(
  net: Net,
  dev: NetDevice,
  type: number,
  flags: number,
  fa: FibAlias | null,
  src: number,
): Rtable {
  const rt = new Rtable(dev, type, flags >>> 0, fa ? fa.nh_gw : 0, src, 0);
  if (fa) rt.mtu_metric = fa.fib_mtu;
  rt.rt_genid = fib_net(net).rt_genid;
  return rt;
}

/**
 * __mkroute_output(): the route for `fa` (null when there is no FIB entry: a broadcast or an
 * on-link guess) out of `dev_out`, cached on the entry when it can be shared.
 */
function mkroute_output(
  net: Net,
  fa: FibAlias | null,
  type: number,
  daddr: number,
  dev_out: NetDevice,
  src: number,
): Rtable | number {
  if (ipv4_is_lbcast(daddr)) type = RTN_BROADCAST;
  else if (ipv4_is_multicast(daddr)) type = RTN_MULTICAST;
  else if (ipv4_is_zeronet(daddr)) return -E.EINVAL;
  let flags = 0;
  if (dev_out.flags & IFF_LOOPBACK) flags |= RTCF_LOCAL;
  if (type === RTN_BROADCAST) {
    flags |= RTCF_BROADCAST | RTCF_LOCAL;
    fa = null;
  } else if (type === RTN_MULTICAST) {
    flags |= RTCF_MULTICAST | RTCF_LOCAL;
    fa = null;
  }
  const genid = fib_net(net).rt_genid;
  if (fa) {
    // A learned PMTU for this very destination (find_exception()).
    const ex = fa.exceptions?.get(daddr >>> 0);
    if (ex) {
      if (net.kernel.clock.now() >= ex.fnhe_expires) fa.exceptions!.delete(daddr >>> 0);
      else {
        let rt = ex.fnhe_rth_output;
        if (!rt || rt.rt_genid !== genid || rt.dev !== dev_out) {
          rt = rt_dst_alloc(net, dev_out, type, flags, fa, route_prefsrc(fa, daddr));
          ex.fnhe_rth_output = rt;
        }
        rt.rt_pmtu = ex.fnhe_pmtu;
        rt.expires = ex.fnhe_expires;
        return rt;
      }
    }
    const c = fa.rth_output;
    if (c && c.rt_genid === genid && c.dev === dev_out && c.rt_type === type) return c;
    const rt = rt_dst_alloc(net, dev_out, type, flags, fa, route_prefsrc(fa, daddr));
    fa.rth_output = rt;
    return rt;
  }
  return rt_dst_alloc(net, dev_out, type, flags, null, src);
}

/**
 * ip_route_output_key() (__ip_route_output_key_hash_rcu): the route for a locally generated
 * packet. fl.saddr is filled in with the source address to use when it was 0. Errors: EINVAL
 * for a source that is not ours (or not unicast), ENODEV for an unknown oif, ENETUNREACH when
 * no route matches (or oif is down), EHOSTUNREACH/EACCES/EINVAL for unreachable, prohibit and
 * blackhole routes.
 */
export function ip_route_output(net: Net, fl: Flowi4): Rtable | number {
  route_state(net).stat.out_slow_tot++;
  const scope = fl.scope ?? RT_SCOPE_UNIVERSE;
  let dev_out: NetDevice | null = null;
  let daddr = fl.daddr >>> 0;
  let saddr = fl.saddr >>> 0;
  if (saddr) {
    if (ipv4_is_multicast(saddr) || ipv4_is_lbcast(saddr) || ipv4_is_zeronet(saddr)) return -E.EINVAL;
    // A broadcast or multicast without an interface leaves by the device of its source.
    if (!fl.oif && (ipv4_is_multicast(daddr) || ipv4_is_lbcast(daddr))) {
      dev_out = ip_dev_find(net, saddr);
      if (!dev_out) return -E.EINVAL;
      fl.oif = dev_out.ifindex;
      return mkroute_output(net, null, RTN_UNICAST, daddr, dev_out, saddr);
    }
    if (!fl.anysrc && !ip_dev_find(net, saddr)) return -E.EINVAL;
  }
  if (fl.oif) {
    dev_out = dev_get_by_index(net, fl.oif);
    if (!dev_out) return -E.ENODEV;
    // RFC 4291 §2.5.3 analogue: no route leaves through a device without IPv4 or that is down.
    if (!(dev_out.flags & IFF_UP) || !in_dev_get(dev_out)) return -E.ENETUNREACH;
    if (ipv4_is_lbcast(daddr) || ipv4_is_multicast(daddr)) {
      if (!saddr) saddr = fl.saddr = inet_select_addr(dev_out, 0, RT_SCOPE_LINK);
      return mkroute_output(net, null, RTN_UNICAST, daddr, dev_out, saddr);
    }
    if (!saddr) {
      if (ipv4_is_multicast(daddr)) saddr = inet_select_addr(dev_out, 0, scope);
      else if (!daddr) saddr = inet_select_addr(dev_out, 0, RT_SCOPE_HOST);
    }
  }
  if (!daddr) {
    // Sending to 0.0.0.0 means sending to ourselves.
    daddr = fl.daddr = saddr;
    if (!daddr) daddr = fl.daddr = saddr = 0x7f000001;
    dev_out = loopback_dev(net);
    if (!dev_out) return -E.ENETUNREACH;
    fl.oif = dev_out.ifindex;
    fl.saddr = saddr;
    return mkroute_output(net, null, RTN_LOCAL, daddr, dev_out, saddr);
  }
  const res = fib_lookup(net, daddr, fl.tos & 0x1c, fl.oif, scope, 0);
  if (typeof res === 'number') {
    if (res === -E.ENETUNREACH && fl.oif && dev_out) {
      // "Apparently, routing tables are wrong. Assume that the destination is on link."
      if (!saddr) saddr = inet_select_addr(dev_out, 0, RT_SCOPE_LINK);
      fl.saddr = saddr;
      return mkroute_output(net, null, RTN_UNICAST, daddr, dev_out, saddr);
    }
    return res;
  }
  if (res.fa_type === RTN_LOCAL) {
    if (!saddr) saddr = res.fib_prefsrc || daddr;
    // Local traffic goes by loopback, whatever device carries the address.
    dev_out = loopback_dev(net);
    if (!dev_out) return -E.ENETUNREACH;
    fl.oif = dev_out.ifindex;
    fl.saddr = saddr;
    return mkroute_output(net, res, RTN_LOCAL, daddr, dev_out, saddr);
  }
  dev_out = res.nh_dev!;
  if (!saddr) saddr = fib_result_prefsrc(res);
  fl.saddr = saddr;
  return mkroute_output(net, res, res.fa_type, daddr, dev_out, saddr);
}

function local_input_route(net: Net, type: number, flags: number): Rtable {
  const st = route_state(net);
  const genid = fib_net(net).rt_genid;
  const cached = type === RTN_BROADCAST ? st.rt_brd_in : st.rt_local_in;
  if (cached && cached.rt_genid === genid) return cached;
  const dev = loopback_dev(net)!;
  const rt = rt_dst_alloc(net, dev, type, flags | RTCF_LOCAL, null, 0);
  rt.rt_is_input = true;
  rt.input = DST_INPUT_LOCAL;
  if (type === RTN_BROADCAST) st.rt_brd_in = rt;
  else st.rt_local_in = rt;
  return rt;
}

function error_input_route(net: Net, err: number): Rtable {
  const st = route_state(net);
  const genid = fib_net(net).rt_genid;
  const cached = st.rt_err_in.get(err);
  if (cached && cached.rt_genid === genid) return cached;
  const rt = rt_dst_alloc(net, loopback_dev(net)!, RTN_UNREACHABLE, RTCF_LOCAL, null, 0);
  rt.rt_is_input = true;
  rt.input = DST_INPUT_ERROR;
  rt.error = err;
  st.rt_err_in.set(err, rt);
  return rt;
}

/**
 * fib_validate_source() with rp_filter off (the kernel default): a packet may not claim to come
 * from one of our own addresses, unless accept_local.
 */
function fib_validate_source(net: Net, saddr: number, dev: NetDevice): number {
  const in_dev = in_dev_get(dev);
  if (in_dev?.cnf.accept_local) return 0;
  if (inet_lookup_ifaddr(net, saddr)) return -E.EINVAL;
  return 0;
}

/**
 * ip_route_input_noref() (ip_route_input_slow): classify a received packet and set skb.dst —
 * local delivery, forwarding, broadcast, or an error route (no route, not forwarding). Martian
 * sources and destinations are counted and refused with -EINVAL.
 */
export function ip_route_input(
  skb: SkBuff,
  daddr: number,
  saddr: number,
  tos: number,
  dev: NetDevice,
): number {
  const net = dev.nd_net;
  const st = route_state(net);
  const in_dev = in_dev_get(dev);
  daddr >>>= 0;
  saddr >>>= 0;
  if (!in_dev) return -E.EINVAL;
  st.stat.in_slow_tot++;
  // Martian source: multicast, limited broadcast.
  if (ipv4_is_multicast(saddr) || ipv4_is_lbcast(saddr)) {
    st.stat.in_martian_src++;
    return -E.EINVAL;
  }
  if (ipv4_is_lbcast(daddr) || (saddr === 0 && daddr === 0)) return brd_input(net, skb, saddr, dev);
  if (ipv4_is_zeronet(saddr)) {
    st.stat.in_martian_src++;
    return -E.EINVAL;
  }
  if (ipv4_is_zeronet(daddr)) {
    st.stat.in_martian_dst++;
    return -E.EINVAL;
  }
  // 127/8 on the wire: martian unless route_localnet (loopback traffic never gets here: it keeps its dst).
  if (!in_dev.cnf.route_localnet) {
    if (ipv4_is_loopback(daddr)) {
      st.stat.in_martian_dst++;
      return -E.EINVAL;
    }
    if (ipv4_is_loopback(saddr)) {
      st.stat.in_martian_src++;
      return -E.EINVAL;
    }
  }
  if (ipv4_is_multicast(daddr)) {
    // No multicast routing or group membership: not for us.
    st.stat.in_slow_mc++;
    return -E.EINVAL;
  }
  const res = fib_lookup(net, daddr, tos & 0x1c, 0, RT_SCOPE_UNIVERSE, 0);
  if (typeof res === 'number') {
    let err = res;
    if (!in_dev.cnf.forwarding) err = -E.EHOSTUNREACH;
    st.stat.in_no_route++;
    skb.dst = error_input_route(net, -err);
    return 0;
  }
  if (res.fa_type === RTN_BROADCAST) return brd_input(net, skb, saddr, dev);
  if (res.fa_type === RTN_LOCAL) {
    if (fib_validate_source(net, saddr, dev)) {
      st.stat.in_martian_src++;
      return -E.EINVAL;
    }
    skb.dst = local_input_route(net, RTN_LOCAL, 0);
    return 0;
  }
  if (!in_dev.cnf.forwarding) {
    st.stat.in_no_route++;
    skb.dst = error_input_route(net, E.EHOSTUNREACH);
    return 0;
  }
  if (res.fa_type !== RTN_UNICAST) {
    st.stat.in_martian_dst++;
    return -E.EINVAL;
  }
  if (fib_validate_source(net, saddr, dev)) {
    st.stat.in_martian_src++;
    return -E.EINVAL;
  }
  // __mkroute_input(): a forwarding route, cached on the FIB entry.
  const out = res.nh_dev!;
  const genid = fib_net(net).rt_genid;
  let rt = res.rth_input;
  if (!rt || rt.rt_genid !== genid) {
    rt = rt_dst_alloc(net, out, RTN_UNICAST, 0, res, 0);
    rt.rt_is_input = true;
    rt.input = DST_INPUT_FORWARD;
    res.rth_input = rt;
  }
  // A learned PMTU towards this destination applies to forwarded packets too (when used).
  const ex = res.exceptions?.get(daddr);
  if (ex && net.kernel.clock.now() < ex.fnhe_expires) {
    const r2 = rt_dst_alloc(net, out, RTN_UNICAST, 0, res, 0);
    r2.rt_is_input = true;
    r2.input = DST_INPUT_FORWARD;
    r2.rt_pmtu = ex.fnhe_pmtu;
    r2.expires = ex.fnhe_expires;
    rt = r2;
  }
  rt.rt_iif = dev.ifindex;
  skb.dst = rt;
  return 0;
}

function brd_input(net: Net, skb: SkBuff, saddr: number, dev: NetDevice): number {
  const st = route_state(net);
  if (skb.protocol !== ETH_P_IP) return -E.EINVAL;
  if (!ipv4_is_zeronet(saddr) && fib_validate_source(net, saddr, dev)) {
    st.stat.in_martian_src++;
    return -E.EINVAL;
  }
  st.stat.in_brd++;
  skb.dst = local_input_route(net, RTN_BROADCAST, RTCF_BROADCAST);
  return 0;
}

/**
 * ipv4_update_pmtu() / __ip_rt_update_pmtu(): an ICMP "fragmentation needed" said the path to
 * `daddr` carries at most `mtu` bytes. Record it as an exception of the route towards daddr,
 * for net.ipv4.route.mtu_expires; never below net.ipv4.route.min_pmtu, never upwards.
 */
export function ipv4_update_pmtu(net: Net, daddr: number, mtu: number, oif = 0): void {
  daddr >>>= 0;
  const res = fib_lookup(net, daddr, 0, oif, RT_SCOPE_UNIVERSE, 0);
  if (typeof res === 'number' || res.fa_type !== RTN_UNICAST || !res.nh_dev) return;
  const ipv4 = net.ipv4;
  const min_pmtu = ipv4?.ip_rt_min_pmtu ?? 552;
  const now = net.kernel.clock.now();
  const old = res.exceptions?.get(daddr);
  const old_mtu = old && now < old.fnhe_expires ? old.fnhe_pmtu : res.fib_mtu || res.nh_dev.mtu;
  if (old_mtu < mtu) return;
  if (mtu < min_pmtu) mtu = Math.min(old_mtu, min_pmtu);
  const expires = now + (ipv4?.ip_rt_mtu_expires ?? 600) * 1e9;
  if (old && old.fnhe_pmtu === mtu && now < old.fnhe_expires) {
    old.fnhe_expires = expires;
    return;
  }
  (res.exceptions ??= new Map()).set(daddr, {
    fnhe_daddr: daddr,
    fnhe_pmtu: mtu,
    fnhe_expires: expires,
    fnhe_rth_output: null,
  });
}

/** The route scopes, re-exported for callers choosing a flow scope. */
export { RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE };
