// The IPv4 forwarding information base (net/ipv4/fib_frontend.c, fib_trie.c, fib_semantics.c):
// the `local` and `main` tables, routes with their types, scopes, preferred sources, next hops
// and metrics, and the longest-prefix-match lookup.
//
// A table keeps one Map per prefix length, keyed by the prefix as a number, and the list of
// lengths in use, longest first: a lookup masks the address once per length in use and probes a
// Map, so nothing is allocated or stringified per packet.

import type { Net } from '../core/net_namespace.js';
import type { NetDevice } from '../core/netdevice.js';
import * as E from '../../uapi/errno.js';
import type { Rtable } from './route.js';

/** Route types (enum rtn_type, include/uapi/linux/rtnetlink.h). */
export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_ANYCAST = 4;
export const RTN_MULTICAST = 5;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;
export const RTN_THROW = 9;
export const RTN_NAT = 10;
export const RTN_XRESOLVE = 11;

/** Scopes (enum rt_scope_t). */
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_SITE = 200;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;

/** Route origins (RTPROT_*). */
export const RTPROT_UNSPEC = 0;
export const RTPROT_REDIRECT = 1;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;

/** Table ids (enum rt_class_t). */
export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_DEFAULT = 253;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

/** Next-hop flags. */
export const RTNH_F_DEAD = 1;
export const RTNH_F_ONLINK = 4;
export const RTNH_F_LINKDOWN = 16;

/** fib_lookup flags. */
export const FIB_LOOKUP_IGNORE_LINKSTATE = 2;

/** fib_props[type].error: what a lookup that lands on a route of this type answers. */
export const fib_props_error: readonly number[] = [
  0, // UNSPEC
  0, // UNICAST
  0, // LOCAL
  0, // BROADCAST
  0, // ANYCAST
  0, // MULTICAST
  -E.EINVAL, // BLACKHOLE
  -E.EHOSTUNREACH, // UNREACHABLE
  -E.EACCES, // PROHIBIT
  -E.EAGAIN, // THROW
  -E.EINVAL, // NAT
  -E.EINVAL, // XRESOLVE
];

/** fib_props[type].scope: the narrowest scope a route of this type may have. */
export const fib_props_scope: readonly number[] = [
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_SCOPE_UNIVERSE,
  RT_SCOPE_UNIVERSE,
  RT_SCOPE_UNIVERSE,
  RT_SCOPE_UNIVERSE,
  RT_SCOPE_HOST,
  RT_SCOPE_NOWHERE,
];

/** A PMTU learned for one destination behind a route (struct fib_nh_exception). */
export interface FibNhException {
  fnhe_daddr: number;
  fnhe_pmtu: number;
  /** Absolute expiry (ns). */
  fnhe_expires: number;
  /** The output route made for this destination, cached (fnhe_rth_output). */
  fnhe_rth_output: Rtable | null;
}

/** One route: struct fib_alias with its struct fib_info and single struct fib_nh. */
export class FibAlias {
  /** Cached routes made from this entry (nhc_rth_output / nhc_rth_input). */
  rth_output: Rtable | null = null;
  rth_input: Rtable | null = null;
  /** PMTU exceptions by destination (fib_nh_exception hash). */
  exceptions: Map<number, FibNhException> | null = null;
  constructor(
    readonly fa_dst: number,
    readonly fa_plen: number,
    readonly fa_tos: number,
    readonly fa_type: number,
    /** fib_info->fib_scope. */
    readonly fib_scope: number,
    readonly tb_id: number,
    readonly fib_protocol: number,
    /** fib_priority: the metric. */
    readonly fib_priority: number,
    /** fib_prefsrc: the preferred source address, 0 when none. */
    readonly fib_prefsrc: number,
    /** fib_nh_dev (null for unreachable/blackhole/prohibit routes). */
    readonly nh_dev: NetDevice | null,
    /** fib_nh_gw4, 0 when on-link. */
    readonly nh_gw: number,
    /** fib_nh_scope: the scope the gateway must be reachable in. */
    readonly nh_scope: number,
    readonly nh_flags: number,
    /** RTAX_MTU metric, 0 when unset. */
    readonly fib_mtu: number,
  ) {}
}

/** inet_make_mask(). */
export function inet_make_mask(plen: number): number {
  return plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
}

/** struct fib_table. */
export class FibTable {
  /** Routes per prefix length: prefix → aliases (sorted by tos desc, then priority asc). */
  private readonly slots: (Map<number, FibAlias[]> | null)[] = new Array<Map<number, FibAlias[]> | null>(
    33,
  ).fill(null);
  /** Prefix lengths in use, longest first. */
  private plens: number[] = [];
  constructor(readonly tb_id: number) {}

  private refresh_plens(): void {
    const p: number[] = [];
    for (let l = 32; l >= 0; l--) if (this.slots[l]?.size) p.push(l);
    this.plens = p;
  }

  /** The aliases at exactly dst/plen. */
  aliases(dst: number, plen: number): FibAlias[] | undefined {
    return this.slots[plen]?.get(dst);
  }

  /** fib_insert_alias(). */
  insert(fa: FibAlias): void {
    let m = this.slots[fa.fa_plen];
    if (!m) this.slots[fa.fa_plen] = m = new Map();
    let list = m.get(fa.fa_dst);
    if (!list) {
      m.set(fa.fa_dst, (list = []));
      this.refresh_plens();
    }
    let i = 0;
    while (
      i < list.length &&
      (list[i].fa_tos > fa.fa_tos ||
        (list[i].fa_tos === fa.fa_tos && list[i].fib_priority <= fa.fib_priority))
    )
      i++;
    list.splice(i, 0, fa);
  }

  /** fib_remove_alias(). */
  remove(fa: FibAlias): void {
    const m = this.slots[fa.fa_plen];
    const list = m?.get(fa.fa_dst);
    if (!m || !list) return;
    const i = list.indexOf(fa);
    if (i < 0) return;
    list.splice(i, 1);
    if (!list.length) {
      m.delete(fa.fa_dst);
      this.refresh_plens();
    }
  }

  /**
   * fib_table_lookup(): the longest prefix holding a usable route for `daddr`. At each length the
   * aliases are tried in order: wrong TOS, a scope narrower than asked, a dead next hop or one on
   * a device other than `oif` make the lookup go on, to that prefix's next alias and then to
   * shorter prefixes (backtracking, as the trie does). `_flags` (FIB_LOOKUP_*) changes nothing
   * here: with ignore_routes_with_linkdown=0 a link without carrier keeps its routes usable.
   */
  lookup(daddr: number, tos: number, oif: number, scope: number, _flags: number): FibAlias | null {
    const plens = this.plens;
    for (let k = 0; k < plens.length; k++) {
      const plen = plens[k];
      const key = plen === 0 ? 0 : (daddr & (0xffffffff << (32 - plen))) >>> 0;
      const list = this.slots[plen]!.get(key);
      if (!list) continue;
      for (let j = 0; j < list.length; j++) {
        const fa = list[j];
        if (fa.fa_tos && fa.fa_tos !== tos) continue;
        if (fa.fib_scope < scope) continue;
        if (fa.nh_flags & RTNH_F_DEAD) continue;
        const dev = fa.nh_dev;
        // A device going down takes its routes out of the table (fib_sync_down_dev), so the
        // lookup does not look at IFF_UP: a local address of a down device still answers.
        if (dev) {
          if (oif && dev.ifindex !== oif) continue;
        } else if (oif && fib_props_error[fa.fa_type] === 0) continue;
        return fa;
      }
    }
    return null;
  }

  /** Every route, in the order `ip route` lists them (address, then longer prefix first). */
  dump(): FibAlias[] {
    const out: FibAlias[] = [];
    for (let l = 0; l <= 32; l++) {
      const m = this.slots[l];
      if (m) for (const list of m.values()) out.push(...list);
    }
    out.sort((a, b) => a.fa_dst - b.fa_dst || b.fa_plen - a.fa_plen);
    return out;
  }

  /** fib_table_flush(): remove what `pred` selects; returns how many went. */
  flush(pred: (fa: FibAlias) => boolean): number {
    let n = 0;
    for (const fa of this.dump())
      if (pred(fa)) {
        this.remove(fa);
        n++;
      }
    return n;
  }
}

/** The FIB of a namespace: net->ipv4.fib_main and fib_local, and the generation of cached routes. */
export class NetnsFib {
  readonly fib_local = new FibTable(RT_TABLE_LOCAL);
  readonly fib_main = new FibTable(RT_TABLE_MAIN);
  /** rt_genid: bumped on every change, so cached routes made earlier are not used again. */
  rt_genid = 0;
}

declare module '../core/net_namespace.js' {
  interface Net {
    /** The namespace's FIB (net->ipv4.fib_*), made by fib_net_init(). */
    fib?: NetnsFib;
  }
}

export function fib_net(net: Net): NetnsFib {
  return net.fib ?? (net.fib = new NetnsFib());
}

/** fib_get_table(). */
export function fib_get_table(net: Net, id: number): FibTable | null {
  const f = fib_net(net);
  if (id === RT_TABLE_LOCAL) return f.fib_local;
  if (id === RT_TABLE_MAIN || id === RT_TABLE_UNSPEC) return f.fib_main;
  return null;
}

/** rt_cache_flush(): cached routes belong to the previous generation. */
export function rt_cache_flush(net: Net): void {
  fib_net(net).rt_genid++;
}

/**
 * fib_lookup(): the default rules — the local table, then main (rules 0 and 32766). Returns the
 * route, or a negative errno: -ENETUNREACH when nothing matches, the type's error for
 * unreachable, prohibit and blackhole routes.
 */
export function fib_lookup(
  net: Net,
  daddr: number,
  tos: number,
  oif: number,
  scope: number,
  flags: number,
): FibAlias | number {
  const f = net.fib ?? fib_net(net);
  let fa = f.fib_local.lookup(daddr, tos, oif, scope, flags);
  if (fa) {
    const err = fib_props_error[fa.fa_type];
    if (err !== -E.EAGAIN) return err || fa;
  }
  fa = f.fib_main.lookup(daddr, tos, oif, scope, flags);
  if (fa) {
    const err = fib_props_error[fa.fa_type];
    if (err !== -E.EAGAIN) return err || fa;
  }
  return -E.ENETUNREACH;
}

/** struct fib_config: what `ip route add/del` (or the kernel itself) asks for. */
export interface FibConfig {
  dst: number;
  plen: number;
  tos?: number;
  type?: number;
  /** RT_SCOPE_NOWHERE (or absent) means "let the kernel choose" on add, "any" on delete. */
  scope?: number;
  table?: number;
  protocol?: number;
  priority?: number;
  prefsrc?: number;
  dev?: NetDevice | null;
  gw?: number;
  onlink?: boolean;
  mtu?: number;
}

/** NLM_F_* behaviours of an add. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;

/** Hooks the address layer provides (devinet), so the FIB can check gateways and sources. */
export interface FibAddrOps {
  /** inet_addr_type_table()-like: is `addr` one of ours. */
  is_local(net: Net, addr: number): boolean;
}
let addr_ops: FibAddrOps | null = null;
export function fib_set_addr_ops(ops: FibAddrOps): void {
  addr_ops = ops;
}

/**
 * fib_create_info() + fib_table_insert(): validate the route and add it. The gateway must be
 * reachable on a link (fib_check_nh_v4_gw): through a connected route, unless `onlink`; a
 * gateway that is not unicast is EINVAL, one with no route ENETUNREACH.
 */
export function fib_table_insert(net: Net, cfg: FibConfig, nlflags: number): number {
  const tb = fib_get_table(net, cfg.table ?? RT_TABLE_MAIN);
  if (!tb) return -E.ESRCH;
  if (cfg.plen < 0 || cfg.plen > 32) return -E.EINVAL;
  const mask = inet_make_mask(cfg.plen);
  // fib_table_insert(): "Invalid prefix for given prefix length".
  if ((cfg.dst & ~mask) >>> 0) return -E.EINVAL;
  const type = cfg.type ?? RTN_UNICAST;
  if (type < RTN_UNICAST || type > RTN_XRESOLVE) return -E.EINVAL;
  let scope = cfg.scope ?? RT_SCOPE_NOWHERE;
  const gw = cfg.gw ?? 0;
  let dev = cfg.dev ?? null;
  const error_route = fib_props_error[type] !== 0;
  if (scope === RT_SCOPE_NOWHERE) {
    // rtm_to_fib_config / iproute2: the scope follows the type and whether there is a gateway.
    if (type === RTN_LOCAL) scope = RT_SCOPE_HOST;
    else if (type === RTN_BROADCAST || (type === RTN_UNICAST && !gw)) scope = RT_SCOPE_LINK;
    else scope = RT_SCOPE_UNIVERSE;
  }
  if (scope > fib_props_scope[type] && type !== RTN_UNICAST) return -E.EINVAL;
  let nh_scope = RT_SCOPE_NOWHERE;
  let nh_flags = 0;
  if (!error_route) {
    if (gw) {
      // fib_check_nh_v4_gw(): the gateway is on a link we have.
      if (scope >= RT_SCOPE_LINK) return -E.EINVAL;
      if (cfg.onlink) {
        if (!dev) return -E.ENODEV;
        nh_scope = RT_SCOPE_LINK;
        nh_flags |= RTNH_F_ONLINK;
      } else {
        const r = fib_lookup(net, gw, 0, dev ? dev.ifindex : 0, scope + 1, FIB_LOOKUP_IGNORE_LINKSTATE);
        if (typeof r === 'number') return r;
        if (r.fa_type !== RTN_UNICAST && r.fa_type !== RTN_LOCAL) return -E.EINVAL;
        if (!dev) dev = r.nh_dev;
        else if (r.nh_dev !== dev) return -E.EINVAL;
        nh_scope = r.fib_scope;
      }
    } else {
      if (!dev) return -E.ENODEV;
      nh_scope = RT_SCOPE_HOST;
    }
  } else dev = null;
  const prefsrc = cfg.prefsrc ?? 0;
  // fib_valid_prefsrc(): a preferred source must be one of ours.
  if (prefsrc && type !== RTN_LOCAL && addr_ops && !addr_ops.is_local(net, prefsrc)) return -E.EINVAL;
  const tos = cfg.tos ?? 0;
  const priority = cfg.priority ?? 0;
  const existing = tb.aliases(cfg.dst, cfg.plen);
  if (existing) {
    const same = existing.filter((fa) => fa.fa_tos === tos && fa.fib_priority === priority);
    if (same.length) {
      if (nlflags & NLM_F_EXCL) return -E.EEXIST;
      if (nlflags & NLM_F_REPLACE) for (const fa of same.slice(0, 1)) tb.remove(fa);
      else {
        // NLM_F_APPEND: an identical route is still EEXIST (fib_find_alias + fib_info match).
        for (const fa of same)
          if (fa.fa_type === type && fa.nh_dev === dev && fa.nh_gw === gw && fa.fib_prefsrc === prefsrc)
            return -E.EEXIST;
      }
    } else if (nlflags & NLM_F_REPLACE && !(nlflags & NLM_F_CREATE)) return -E.ENOENT;
  } else if (!(nlflags & NLM_F_CREATE)) return -E.ENOENT;
  const fa = new FibAlias(
    cfg.dst,
    cfg.plen,
    tos,
    type,
    scope,
    tb.tb_id,
    cfg.protocol ?? RTPROT_BOOT,
    priority,
    prefsrc,
    dev,
    gw,
    nh_scope,
    nh_flags,
    cfg.mtu ?? 0,
  );
  tb.insert(fa);
  rt_cache_flush(net);
  return 0;
}

/** fib_table_delete(): remove the first route matching every field the request gives. */
export function fib_table_delete(net: Net, cfg: FibConfig): number {
  const tb = fib_get_table(net, cfg.table ?? RT_TABLE_MAIN);
  if (!tb) return -E.ESRCH;
  const list = tb.aliases(cfg.dst, cfg.plen);
  if (!list) return -E.ESRCH;
  const tos = cfg.tos ?? 0;
  for (const fa of list) {
    if (fa.fa_tos !== tos) continue;
    if (cfg.type && fa.fa_type !== cfg.type) continue;
    if (cfg.scope !== undefined && cfg.scope !== RT_SCOPE_NOWHERE && fa.fib_scope !== cfg.scope) continue;
    if (cfg.prefsrc && fa.fib_prefsrc !== cfg.prefsrc) continue;
    if (cfg.protocol && fa.fib_protocol !== cfg.protocol) continue;
    if (cfg.priority !== undefined && cfg.priority && fa.fib_priority !== cfg.priority) continue;
    if (cfg.dev && fa.nh_dev !== cfg.dev) continue;
    if (cfg.gw && fa.nh_gw !== cfg.gw) continue;
    tb.remove(fa);
    rt_cache_flush(net);
    return 0;
  }
  return -E.ESRCH;
}

/**
 * fib_sync_down_dev() + fib_flush(): a device going down takes its routes with it, except the
 * host-scope ones (its local addresses stay reachable, as in Linux); unregistering (`force`)
 * takes every one.
 */
export function fib_flush_dev(net: Net, dev: NetDevice, force = false): void {
  const f = fib_net(net);
  const gone = (fa: FibAlias): boolean => fa.nh_dev === dev && (force || fa.fib_scope !== RT_SCOPE_HOST);
  f.fib_local.flush(gone);
  f.fib_main.flush(gone);
  rt_cache_flush(net);
}

/** RTF_* flags of /proc/net/route (fib_flag_trans). */
export const RTF_UP = 0x0001;
export const RTF_GATEWAY = 0x0002;
export const RTF_HOST = 0x0004;
export const RTF_REJECT = 0x0200;

function hex8_le(a: number): string {
  // The kernel prints the __be32 as a host integer: on little-endian x86 the bytes come out reversed.
  const v = (((a & 0xff) << 24) | ((a & 0xff00) << 8) | ((a >>> 8) & 0xff00) | (a >>> 24)) >>> 0;
  return v.toString(16).toUpperCase().padStart(8, '0');
}

/** fib_route_seq_show(): the text of /proc/net/route (the main table; lines padded to 127). */
export function fib_route_seq_show(net: Net): string {
  const pad = (s: string): string => s.padEnd(127, ' ') + '\n';
  let out = pad('Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT');
  for (const fa of fib_net(net).fib_main.dump()) {
    if (fa.fa_type === RTN_BROADCAST || fa.fa_type === RTN_MULTICAST) continue;
    const mask = inet_make_mask(fa.fa_plen);
    let flags = fa.fa_type === RTN_UNREACHABLE || fa.fa_type === RTN_PROHIBIT ? RTF_REJECT : 0;
    if (fa.nh_gw) flags |= RTF_GATEWAY;
    if (mask === 0xffffffff) flags |= RTF_HOST;
    flags |= RTF_UP;
    const line = [
      fa.nh_dev ? fa.nh_dev.name : '*',
      hex8_le(fa.fa_dst),
      hex8_le(fa.nh_gw),
      flags.toString(16).toUpperCase().padStart(4, '0'),
      '0',
      '0',
      String(fa.fib_priority),
      hex8_le(mask),
      '0',
      '0',
      '0',
    ].join('\t');
    out += pad(line);
  }
  return out;
}
