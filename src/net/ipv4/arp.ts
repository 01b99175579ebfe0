// ARP (net/ipv4/arp.c, RFC 826): resolving IPv4 next hops to Ethernet addresses on top of the
// generic neighbour table (net/core/neighbour.ts). arp_rcv validates and answers requests for
// our addresses (arp_ignore / arp_announce / arp_accept / arp_notify as Linux), learns the
// requester, takes replies for entries being resolved; arp_solicit sends the probes the NUD
// state machine asks for; when resolution fails, every queued packet is reported to its sender
// as ICMP host unreachable (neigh_invalidate → arp_error_report → ipv4_link_failure).

import type { Net } from '../core/net_namespace.js';
import type { NetDevice } from '../core/netdevice.js';
import {
  kfree_skb,
  netdev_alloc_skb,
  PACKET_HOST,
  PACKET_LOOPBACK,
  PACKET_OTHERHOST,
  SkBuffHead,
  type SkBuff,
} from '../core/skbuff.js';
import {
  dev_add_pack,
  dev_queue_xmit,
  NET_RX_DROP,
  NET_RX_SUCCESS,
  NETDEV_CHANGE,
  NETDEV_CHANGEADDR,
  NETDEV_DOWN,
  NETDEV_REGISTER,
  NETDEV_UNREGISTER,
  NETDEV_UP,
  netdev_state,
  register_netdevice_notifier,
  type PacketType,
} from '../core/dev.js';
import {
  NeighTable,
  Neighbour,
  NEIGH_UPDATE_F_ADMIN,
  NEIGH_UPDATE_F_OVERRIDE,
  NUD_FAILED,
  NUD_INCOMPLETE,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_REACHABLE,
  NUD_STALE,
  NUD_VALID,
  __neigh_lookup,
  neigh_create,
  neigh_event_ns,
  neigh_flush_dev,
  neigh_lookup,
  neigh_output,
  neigh_remove,
  neigh_set_arp_resolver,
  neigh_update,
  nud_state_name,
  type NeighParms,
  type NeighVar,
} from '../core/neighbour.js';
import { ETH_P_ARP, ETH_P_IP, IFF_LOOPBACK, IFF_NOARP, IFF_POINTOPOINT } from '../../uapi/if.js';
import * as E from '../../uapi/errno.js';
import { ARPHRD_ETHER, ARPHRD_IEEE802, ARPOP_REPLY, ARPOP_REQUEST } from '../../wire/arp.js';
import { ICMP_DEST_UNREACH, ICMP_HOST_UNREACH } from '../../wire/icmp.js';
import { format_mac } from '../ethernet/eth.js';
import { NSEC_PER_MSEC, NSEC_PER_SEC, Timer } from '../../kernel/time.js';
import {
  in_dev_get,
  inet_addr_type,
  inet_ifa_match,
  inet_select_addr,
  register_inetaddr_notifier,
} from './devinet.js';
import type { InDevice, InIfaddr } from './devinet.js';
import { RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, RTN_UNICAST, RT_SCOPE_HOST, RT_SCOPE_LINK } from './fib.js';
import { ip_route_input, type Rtable } from './route.js';
import { icmp_send } from './icmp.js';

/** The ARP-related entries of struct ipv4_devconf, Linux defaults. */
export interface ArpDevconfValues {
  arp_filter: number;
  arp_announce: number;
  arp_ignore: number;
  arp_accept: number;
  arp_notify: number;
  drop_gratuitous_arp: number;
  arp_evict_nocarrier: number;
  proxy_arp: number;
}

type ArpConfKey = keyof ArpDevconfValues;

function arp_devconf_defaults(): ArpDevconfValues {
  return {
    arp_filter: 0,
    arp_announce: 0,
    arp_ignore: 0,
    arp_accept: 0,
    arp_notify: 0,
    drop_gratuitous_arp: 0,
    arp_evict_nocarrier: 1,
    proxy_arp: 0,
  };
}

/**
 * Why arp_rcv/arp_process dropped a packet. Linux keeps no SNMP counter for ARP (there is no
 * ARP MIB; the drops are only visible as skb drop reasons), so usernet counts them here, under
 * the kernel's drop-reason names, for `ip -s`-style inspection and tests.
 */
export class ArpDropStats {
  /** SKB_DROP_REASON_PKT_TOO_SMALL: shorter than arp_hdr_len(dev). */
  pkt_too_small = 0;
  /** ar_hln/ar_pln not the device's address length and 4. */
  bad_addr_len = 0;
  /** Hardware type not Ethernet/IEEE 802, or protocol not IPv4. */
  bad_hw_proto = 0;
  /** An operation other than request and reply. */
  bad_op = 0;
  /** A target address that is multicast or loopback. */
  bad_target = 0;
  /** sip == tip while drop_gratuitous_arp is set. */
  gratuitous = 0;
  /** The device has no IPv4 configuration. */
  no_in_dev = 0;
  /** Requests not answered: target not ours, martian sender (our own address, …), arp_ignore. */
  not_answered = 0;
  /** Replies and requests that taught us nothing (no entry, unsolicited, arp_accept=0). */
  ignored = 0;
}

/** The ARP state of a namespace: the table, the configuration and the counters. */
export class ArpState {
  readonly tbl: NeighTable;
  readonly drops = new ArpDropStats();
  /** Replies sent (ours and proxied), requests and probes sent, proxied replies. */
  replies_sent = 0;
  requests_sent = 0;
  proxy_replies = 0;
  /** tbl->proxy_queue and proxy_timer: proxied broadcast requests waiting for their delay. */
  readonly proxy_queue = new SkBuffHead();
  readonly proxy_timer: Timer;
  readonly conf_all: Partial<ArpDevconfValues> = {};
  readonly conf_default: ArpDevconfValues = arp_devconf_defaults();
  readonly conf_dev = new Map<NetDevice, Partial<ArpDevconfValues>>();
  constructor(readonly net: Net) {
    this.tbl = new NeighTable(net, 'arp_cache', arp_ops);
    this.proxy_timer = new Timer(() => neigh_proxy_process(this));
  }
}

declare module '../core/net_namespace.js' {
  interface Net {
    /** The ARP state, made by arp_init(). */
    arp?: ArpState;
  }
}

/** The namespace's ARP state (made on first use). */
export function arp_state(net: Net): ArpState {
  return net.arp ?? (net.arp = new ArpState(net));
}

/** The namespace's ARP neighbour table (arp_tbl). */
export function arp_tbl(net: Net): NeighTable {
  return arp_state(net).tbl;
}

function conf_dev_value(st: ArpState, dev: NetDevice, k: ArpConfKey): number {
  const own = st.conf_dev.get(dev)?.[k];
  return own !== undefined ? own : st.conf_default[k];
}

/** IN_DEV_CONF_GET with the "all" combination Linux uses for each entry. */
function arp_conf(net: Net, dev: NetDevice, k: ArpConfKey): number {
  const st = arp_state(net);
  const d = conf_dev_value(st, dev, k);
  const a = st.conf_all[k] ?? arp_devconf_defaults()[k];
  switch (k) {
    case 'arp_filter':
    case 'drop_gratuitous_arp':
    case 'proxy_arp':
      return a || d ? 1 : 0; // IN_DEV_ORCONF
    case 'arp_evict_nocarrier':
      return a && d ? 1 : 0; // IN_DEV_ANDCONF
    default:
      return Math.max(a, d); // IN_DEV_MAXCONF
  }
}

function ipv4_is_multicast(a: number): boolean {
  return a >>> 28 === 0xe;
}
function ipv4_is_loopback(a: number): boolean {
  return a >>> 24 === 127;
}

function get32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** arp_hdr_len(): the fixed header plus two (hardware, IPv4) address pairs. */
function arp_hdr_len(dev: NetDevice): number {
  return 8 + 2 * (dev.addr_len + 4);
}

// ---------------------------------------------------------------------------------------------
// Building and sending

/**
 * arp_create() + arp_xmit(): an ARP packet of type `type` from (src_ip, src_hw) about dest_ip,
 * in a frame to dest_hw (broadcast when null); the target hardware field is target_hw or zeros.
 */
export function arp_send(
  type: number,
  dest_ip: number,
  dev: NetDevice,
  src_ip: number,
  dest_hw: Uint8Array | null,
  src_hw: Uint8Array | null,
  target_hw: Uint8Array | null,
): void {
  if (dev.flags & IFF_NOARP || !dev.header_ops) return;
  const alen = dev.addr_len;
  const skb = netdev_alloc_skb(dev.hard_header_len + 2, arp_hdr_len(dev));
  const off = skb.put(arp_hdr_len(dev));
  skb.network_header = off;
  skb.dev = dev;
  skb.protocol = ETH_P_ARP;
  const h = skb.head;
  h[off] = ARPHRD_ETHER >> 8;
  h[off + 1] = ARPHRD_ETHER & 0xff;
  h[off + 2] = ETH_P_IP >> 8;
  h[off + 3] = ETH_P_IP & 0xff;
  h[off + 4] = alen;
  h[off + 5] = 4;
  h[off + 6] = type >> 8;
  h[off + 7] = type & 0xff;
  let p = off + 8;
  h.set((src_hw ?? dev.dev_addr).subarray(0, alen), p);
  p += alen;
  put32(h, p, src_ip);
  p += 4;
  if (target_hw) h.set(target_hw.subarray(0, alen), p);
  else h.fill(0, p, p + alen);
  p += alen;
  put32(h, p, dest_ip);
  if (dev.header_ops.create(skb, dev, ETH_P_ARP, dest_hw ?? dev.broadcast, src_hw ?? dev.dev_addr) < 0) {
    kfree_skb(skb);
    return;
  }
  const st = arp_state(dev.nd_net);
  if (type === ARPOP_REPLY) st.replies_sent++;
  else st.requests_sent++;
  dev_queue_xmit(skb);
}

/**
 * Send a gratuitous ARP (an announcement: a request from `addr` for `addr`, RFC 5227 §3) — what
 * inetdev_send_gratuitous_arp() does on link up with arp_notify, and `arping -U`.
 */
export function arp_send_gratuitous(dev: NetDevice, addr: number): void {
  arp_send(ARPOP_REQUEST, addr, dev, addr, null, dev.dev_addr, null);
}

/** inetdev_send_gratuitous_arp(): announce every address of the device. */
export function inetdev_send_gratuitous_arp(dev: NetDevice): void {
  const in_dev = in_dev_get(dev);
  if (!in_dev) return;
  for (const ifa of in_dev.ifa_list) arp_send_gratuitous(dev, ifa.ifa_local);
}

/** inet_addr_onlink(): is `a` (and `b`, when non-zero) in the subnet of a primary of in_dev. */
function inet_addr_onlink(in_dev: InDevice, a: number, b: number): boolean {
  for (const ifa of in_dev.ifa_list) {
    if (inet_ifa_match(a, ifa) && (!b || inet_ifa_match(b, ifa))) return true;
  }
  return false;
}

/**
 * arp_solicit(): probe for the neighbour. The source address follows arp_announce (0: the
 * source of the packet that waits, if it is ours); unicast to the known address while
 * reconfirming (probes below ucast_probes in NUD_PROBE), broadcast otherwise.
 */
function arp_solicit(n: Neighbour, skb: SkBuff | null): void {
  const dev = n.dev;
  const net = dev.nd_net;
  const target = n.primary_key;
  const in_dev = in_dev_get(dev);
  if (!in_dev) return;
  let saddr = 0;
  const announce = arp_conf(net, dev, 'arp_announce');
  if (skb && announce !== 2 && skb.network_header >= 0) {
    const s = get32(skb.head, skb.network_header + 12);
    if (inet_addr_type(net, s) === RTN_LOCAL && (announce === 0 || inet_addr_onlink(in_dev, target, s)))
      saddr = s;
  }
  if (!saddr) saddr = inet_select_addr(dev, target, RT_SCOPE_LINK);
  let probes = n.probes - n.parms.get('ucast_probes');
  let dst_hw: Uint8Array | null = null;
  if (probes < 0) {
    dst_hw = n.ha;
  } else {
    probes -= n.parms.get('app_probes');
    // Probes for a user-space resolver (app_solicit) are netlink messages we do not have.
    if (probes < 0) return;
  }
  arp_send(ARPOP_REQUEST, target, dev, saddr, dst_hw, dev.dev_addr, null);
}

/**
 * arp_error_report() → dst_link_failure() → ipv4_link_failure(): tell the sender of a packet
 * that could not be resolved (ICMP host unreachable; a local sender sees it come back over
 * loopback — EHOSTUNREACH in its error queue with IP_RECVERR), then expire the learned PMTU of
 * the route and free the packet.
 */
function arp_error_report(_n: Neighbour, skb: SkBuff): void {
  const nh = skb.network_header;
  if (nh >= 0 && skb.tail - nh >= 20 && skb.head[nh] >> 4 === 4 && (skb.head[nh] & 0x0f) >= 5) {
    skb.data = nh;
    icmp_send(skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
  }
  const rt = skb.dst as Rtable | null;
  if (rt && rt.rt_pmtu) rt.expires = 0;
  kfree_skb(skb);
}

/**
 * arp_constructor(): the address type, the device's parms, and no resolution at all for
 * multicast (mapped address), loopback/NOARP (the device's own address), broadcast and
 * point-to-point (the broadcast address).
 */
function arp_constructor(n: Neighbour): number {
  const dev = n.dev;
  if (dev.flags & (IFF_LOOPBACK | IFF_POINTOPOINT)) n.primary_key = 0;
  const addr = n.primary_key;
  if (!in_dev_get(dev)) return -E.EINVAL;
  n.type = inet_addr_type(dev.nd_net, addr, null);
  if (n.type === RTN_UNICAST && addr && in_dev_get(dev)) {
    // inet_addr_type_dev_table(): a subnet broadcast of this device is RTN_BROADCAST.
    for (const ifa of in_dev_get(dev)!.ifa_list)
      if (ifa.ifa_prefixlen < 31 && addr === ((ifa.ifa_address & ifa.ifa_mask) | ~ifa.ifa_mask) >>> 0)
        n.type = RTN_BROADCAST;
  }
  n.parms = n.tbl.parms_of(dev);
  if (!dev.header_ops) {
    n.nud_state = NUD_NOARP;
  } else if (n.type === RTN_MULTICAST) {
    n.nud_state = NUD_NOARP;
    // arp_mc_map() / ip_eth_mc_map(): 01:00:5e and the low 23 bits (RFC 1112 §6.4).
    n.ha[0] = 0x01;
    n.ha[1] = 0x00;
    n.ha[2] = 0x5e;
    n.ha[3] = (addr >>> 16) & 0x7f;
    n.ha[4] = (addr >>> 8) & 0xff;
    n.ha[5] = addr & 0xff;
  } else if (dev.flags & (IFF_NOARP | IFF_LOOPBACK)) {
    n.nud_state = NUD_NOARP;
    n.ha.set(dev.dev_addr.subarray(0, n.ha.length));
  } else if (n.type === RTN_BROADCAST || dev.flags & IFF_POINTOPOINT) {
    n.nud_state = NUD_NOARP;
    n.ha.set(dev.broadcast.subarray(0, n.ha.length));
  }
  return 0;
}

const arp_ops = {
  construct: arp_constructor,
  solicit: arp_solicit,
  error_report: arp_error_report,
};

// ---------------------------------------------------------------------------------------------
// Receiving

/** inet_confirm_addr() / confirm_addr_indev(): is `local` ours within `scope` (and `dst` on-link). */
function confirm_addr_indev(in_dev: InDevice, dst: number, local: number, scope: number): boolean {
  let found_local = false;
  let same = !dst;
  for (const ifa of in_dev.ifa_list) {
    if (ifa.ifa_scope > scope) continue;
    if (!local || ifa.ifa_local === local) found_local = true;
    if (dst && inet_ifa_match(dst, ifa)) same = true;
  }
  return found_local && same;
}

function inet_confirm_addr(
  net: Net,
  in_dev: InDevice | null,
  dst: number,
  local: number,
  scope: number,
): boolean {
  if (in_dev) return confirm_addr_indev(in_dev, dst, local, scope);
  for (const d of netdev_state(net).dev_base) {
    const id = in_dev_get(d);
    if (id && confirm_addr_indev(id, dst, local, scope)) return true;
  }
  return false;
}

/** arp_ignore(): 1 when a request for `tip` from `sip` must not be answered. */
function arp_ignore(in_dev: InDevice, sip: number, tip: number): boolean {
  const net = in_dev.dev.nd_net;
  let scope: number;
  let dev_for: InDevice | null = in_dev;
  switch (arp_conf(net, in_dev.dev, 'arp_ignore')) {
    case 0:
      return false;
    case 1: // tip must be configured on the incoming interface
      sip = 0;
      scope = RT_SCOPE_HOST;
      break;
    case 2: // … and sip in one of its subnets
      scope = RT_SCOPE_HOST;
      break;
    case 3: // no replies for scope host addresses
      sip = 0;
      scope = RT_SCOPE_LINK;
      dev_for = null;
      break;
    case 4:
    case 5:
    case 6:
    case 7:
      return false;
    case 8:
      return true;
    default:
      return false;
  }
  return !inet_confirm_addr(net, dev_for, sip, tip, scope);
}

/** arp_filter(): with arp_filter set, answer only if the route back to sip leaves by `dev`. */
function arp_filter(net: Net, sip: number, dev: NetDevice): boolean {
  // Without policy routing every route to sip leaves by the device of its subnet: answer only
  // when sip is on a subnet of the incoming device, or no other device claims it.
  const in_dev = in_dev_get(dev);
  if (in_dev && inet_addr_onlink(in_dev, sip, 0)) return false;
  for (const d of netdev_state(net).dev_base) {
    if (d === dev) continue;
    const id = in_dev_get(d);
    if (id && inet_addr_onlink(id, sip, 0)) return true;
  }
  return false;
}

/** arp_fwd_proxy(): proxy_arp is on for the incoming device and the route leaves by another. */
function arp_fwd_proxy(net: Net, dev: NetDevice, rt: Rtable): boolean {
  if (rt.dev === dev) return false;
  return arp_conf(net, dev, 'proxy_arp') !== 0;
}

/** NEIGH_CB(skb) for requests waiting in the proxy queue. */
interface ArpCb {
  sched_next: number;
  locally_enqueued: boolean;
}

/**
 * pneigh_enqueue(): hold a proxied broadcast request for a random time below proxy_delay;
 * at most proxy_qlen wait.
 */
function pneigh_enqueue(st: ArpState, p: NeighParms, skb: SkBuff): void {
  const net = st.net;
  const now = net.kernel.clock.now();
  const delay = p.get('proxy_delay');
  const sched_next =
    now +
    net.kernel.prandom.get_random_u32_below(Math.max(1, Math.floor(delay / NSEC_PER_MSEC))) * NSEC_PER_MSEC;
  if (st.proxy_queue.qlen > p.get('proxy_qlen')) {
    kfree_skb(skb);
    return;
  }
  skb.cb = { sched_next, locally_enqueued: true } satisfies ArpCb;
  st.proxy_queue.tail(skb);
  const clock = net.kernel.clock;
  if (!clock.timer_pending(st.proxy_timer) || st.proxy_timer.expires > sched_next)
    clock.mod_timer(st.proxy_timer, sched_next);
}

/** neigh_proxy_process(): answer the requests whose time has come (parp_redo → arp_process). */
function neigh_proxy_process(st: ArpState): void {
  const now = st.net.kernel.clock.now();
  let sched_next = Number.POSITIVE_INFINITY;
  for (let skb = st.proxy_queue.peek(); skb;) {
    const next: SkBuff | null = skb.next;
    const cb = skb.cb as ArpCb;
    if (cb.sched_next <= now) {
      st.proxy_queue.unlink(skb);
      const dev = skb.dev;
      if (dev && dev.flags & 1) arp_process(skb, dev);
      else kfree_skb(skb);
    } else if (cb.sched_next < sched_next) sched_next = cb.sched_next;
    skb = next;
  }
  if (sched_next !== Number.POSITIVE_INFINITY) st.net.kernel.clock.mod_timer(st.proxy_timer, sched_next);
}

/** arp_accept(): whether unsolicited ARP may create an entry. */
function arp_accept(in_dev: InDevice, sip: number): boolean {
  const net = in_dev.dev.nd_net;
  switch (arp_conf(net, in_dev.dev, 'arp_accept')) {
    case 0:
      return false;
    case 1:
      return true;
    case 2:
      return inet_confirm_addr(net, in_dev, sip, 0, RT_SCOPE_LINK);
    default:
      return false;
  }
}

/** arp_is_garp(): a gratuitous ARP (sip == tip; a reply also needs tha == sha) from a unicast address. */
function arp_is_garp(
  net: Net,
  op: number,
  sip: number,
  tip: number,
  h: Uint8Array,
  sha: number,
  tha: number,
  alen: number,
): boolean {
  let is_garp = sip === tip;
  if (is_garp && op === ARPOP_REPLY) {
    for (let i = 0; i < alen; i++)
      if (h[tha + i] !== h[sha + i]) {
        is_garp = false;
        break;
      }
  }
  if (is_garp && inet_addr_type(net, sip) !== RTN_UNICAST) is_garp = false;
  return is_garp;
}

const sha_scratch = new Uint8Array(32);

/** arp_process(): act on a valid ARP packet (arp_rcv has checked lengths). */
function arp_process(skb: SkBuff, dev: NetDevice): number {
  const net = dev.nd_net;
  const st = arp_state(net);
  const in_dev = in_dev_get(dev);
  if (!in_dev) {
    st.drops.no_in_dev++;
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  const h = skb.head;
  const a = skb.network_header;
  const hrd = (h[a] << 8) | h[a + 1];
  const pro = (h[a + 2] << 8) | h[a + 3];
  if ((hrd !== ARPHRD_ETHER && hrd !== ARPHRD_IEEE802) || pro !== ETH_P_IP) {
    st.drops.bad_hw_proto++;
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  const op = (h[a + 6] << 8) | h[a + 7];
  if (op !== ARPOP_REPLY && op !== ARPOP_REQUEST) {
    st.drops.bad_op++;
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  const alen = dev.addr_len;
  const sha = a + 8;
  const sip = get32(h, sha + alen);
  const tha = sha + alen + 4;
  const tip = get32(h, tha + alen);
  // Requests for 127.x.x.x (without route_localnet) and for multicast addresses are bogus.
  if (ipv4_is_multicast(tip) || (!in_dev.cnf.route_localnet && ipv4_is_loopback(tip))) {
    st.drops.bad_target++;
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  if (sip === tip && arp_conf(net, dev, 'drop_gratuitous_arp')) {
    st.drops.gratuitous++;
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  const shaBytes = sha_scratch.subarray(0, alen);
  shaBytes.set(h.subarray(sha, sha + alen));
  // Duplicate address detection probe (RFC 2131 §4.4.1, RFC 5227): sender 0.0.0.0.
  if (sip === 0) {
    if (op === ARPOP_REQUEST && inet_addr_type(net, tip, dev) === RTN_LOCAL && !arp_ignore(in_dev, sip, tip))
      arp_send(ARPOP_REPLY, sip, dev, tip, shaBytes, dev.dev_addr, shaBytes);
    else st.drops.not_answered++;
    kfree_skb(skb);
    return NET_RX_SUCCESS;
  }
  if (op === ARPOP_REQUEST) {
    // ip_route_input_noref(skb, tip, sip): is tip ours, and is sip a sane sender (not one of
    // our own addresses, not martian — those are counted in rt_cache in_martian_src)?
    skb.dst = null;
    if (ip_route_input(skb, tip, sip, 0, dev) === 0) {
      const rt = skb.dst as Rtable | null;
      skb.dst = null;
      if (rt && rt.rt_type === RTN_LOCAL) {
        let dont_send = arp_ignore(in_dev, sip, tip);
        if (!dont_send && arp_conf(net, dev, 'arp_filter')) dont_send = arp_filter(net, sip, dev);
        if (!dont_send) {
          const n = neigh_event_ns(st.tbl, shaBytes, sip, dev);
          if (n) arp_send(ARPOP_REPLY, sip, dev, tip, shaBytes, dev.dev_addr, shaBytes);
        } else st.drops.not_answered++;
        kfree_skb(skb);
        return NET_RX_SUCCESS;
      }
      if (rt && in_dev.cnf.forwarding && rt.rt_type === RTN_UNICAST && arp_fwd_proxy(net, dev, rt)) {
        // Proxy ARP (RFC 1027): we route to tip through another device, so answer for it.
        // Broadcast requests wait a random part of proxy_delay (pneigh_enqueue), so a host
        // that owns the address answers first.
        const n = neigh_event_ns(st.tbl, shaBytes, sip, dev);
        if (n) {
          if (
            (skb.cb as ArpCb | null)?.locally_enqueued ||
            skb.pkt_type === PACKET_HOST ||
            !n.parms.get('proxy_delay')
          ) {
            arp_send(ARPOP_REPLY, sip, dev, tip, shaBytes, dev.dev_addr, shaBytes);
            st.proxy_replies++;
          } else {
            pneigh_enqueue(st, n.parms, skb);
            return NET_RX_SUCCESS;
          }
        }
        kfree_skb(skb);
        return NET_RX_SUCCESS;
      }
    }
    skb.dst = null;
  }
  // Update our tables: replies for entries we have (resolution in progress or reconfirmation),
  // requests from neighbours we already know (their address may have changed).
  let n = neigh_lookup(st.tbl, sip, dev);
  let is_garp = false;
  const accept = arp_accept(in_dev, sip);
  if (n || accept) is_garp = arp_is_garp(net, op, sip, tip, h, sha, tha, alen);
  if (accept && !n && (is_garp || (op === ARPOP_REPLY && inet_addr_type(net, sip, dev) === RTN_UNICAST)))
    n = __neigh_lookup(st.tbl, sip, dev, true);
  if (n) {
    const now = st.tbl.now();
    // Back-to-back replies (several proxies): the first one wins for locktime.
    const override = now > n.updated + n.parms.get('locktime') || is_garp;
    // Broadcast replies and requests do not prove reachability.
    const state = op !== ARPOP_REPLY || skb.pkt_type !== PACKET_HOST ? NUD_STALE : NUD_REACHABLE;
    neigh_update(n, shaBytes, state, override ? NEIGH_UPDATE_F_OVERRIDE : 0);
  } else {
    if (op === ARPOP_REQUEST) st.drops.not_answered++;
    else st.drops.ignored++;
  }
  kfree_skb(skb);
  return NET_RX_SUCCESS;
}

/**
 * arp_rcv(): the ETH_P_ARP handler. Frames for other hosts and our own looped frames are
 * consumed silently; a packet too short for the device's addresses or with the wrong address
 * lengths is dropped; the rest goes to arp_process.
 */
export function arp_rcv(skb: SkBuff, dev: NetDevice, _pt: PacketType, _orig: NetDevice): number {
  void _pt;
  void _orig;
  if (dev.flags & IFF_NOARP || skb.pkt_type === PACKET_OTHERHOST || skb.pkt_type === PACKET_LOOPBACK) {
    kfree_skb(skb);
    return NET_RX_SUCCESS;
  }
  const st = arp_state(dev.nd_net);
  skb.network_header = skb.data;
  if (skb.len < arp_hdr_len(dev)) {
    st.drops.pkt_too_small++;
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  const h = skb.head;
  const a = skb.data;
  if (h[a + 4] !== dev.addr_len || h[a + 5] !== 4) {
    st.drops.bad_addr_len++;
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  return arp_process(skb, dev);
}

// ---------------------------------------------------------------------------------------------
// Output: the resolver neigh_xmit calls

/**
 * ip_finish_output2's neighbour step for ARP devices: find or make the entry of the next hop
 * (__ipv4_neigh_lookup_noref / __neigh_create) and let it send (neigh_output).
 */
function arp_output(dev: NetDevice, nexthop: number, skb: SkBuff): number {
  const tbl = arp_tbl(dev.nd_net);
  // __ipv4_neigh_lookup_noref(): one entry (0.0.0.0) serves a point-to-point link.
  if (dev.flags & (IFF_LOOPBACK | IFF_POINTOPOINT)) nexthop = 0;
  const n = neigh_lookup(tbl, nexthop, dev) ?? neigh_create(tbl, nexthop, dev);
  if (!n) {
    // "No header cache and no neighbour!" (a full table or a device without IPv4).
    kfree_skb(skb);
    return -E.EINVAL;
  }
  return neigh_output(n, skb);
}

// ---------------------------------------------------------------------------------------------
// Administration: ip neigh add/del, views

/** `ip neigh add|replace ADDR lladdr MAC dev DEV nud STATE` (neigh_add). State defaults to PERMANENT. */
export function arp_neigh_add(
  dev: NetDevice,
  addr: number,
  lladdr: Uint8Array | null,
  state = NUD_PERMANENT,
): number {
  const tbl = arp_tbl(dev.nd_net);
  if (!in_dev_get(dev)) return -E.EINVAL;
  if (lladdr && lladdr.length < dev.addr_len) return -E.EINVAL;
  const n = neigh_lookup(tbl, addr, dev) ?? neigh_create(tbl, addr, dev, (state & NUD_PERMANENT) !== 0);
  if (!n) return -E.ENOBUFS;
  if (state & NUD_NOARP && lladdr) {
    // NOARP entries keep the address they are given.
    n.ha.set(lladdr.subarray(0, n.ha.length));
  }
  return neigh_update(n, lladdr, state, NEIGH_UPDATE_F_OVERRIDE | NEIGH_UPDATE_F_ADMIN);
}

/** `ip neigh del ADDR dev DEV` (neigh_delete): ENOENT when there is no such entry. */
export function arp_neigh_del(dev: NetDevice, addr: number): number {
  const tbl = arp_tbl(dev.nd_net);
  const n = neigh_lookup(tbl, addr, dev);
  if (!n) return -E.ENOENT;
  neigh_update(n, null, NUD_FAILED, NEIGH_UPDATE_F_OVERRIDE | NEIGH_UPDATE_F_ADMIN);
  neigh_remove(n);
  return 0;
}

/** `ip neigh flush dev DEV` (all devices when null): non-permanent entries go. */
export function arp_neigh_flush(net: Net, dev: NetDevice | null): void {
  neigh_flush_dev(arp_tbl(net), dev, true);
}

/** Look an entry up (tests and tools): state and address. */
export function arp_neigh_get(dev: NetDevice, addr: number): Neighbour | null {
  return neigh_lookup(arp_tbl(dev.nd_net), addr, dev);
}

function fmt_ip(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** arp_state_to_flags(): ATF_COM (0x2) for a usable address, ATF_PERM (0x4) too when permanent. */
function arp_state_to_flags(n: Neighbour): number {
  if (n.nud_state & NUD_PERMANENT) return 0x2 | 0x4;
  if (n.nud_state & NUD_VALID) return 0x2;
  return 0;
}

/** arp_seq_show(): the text of /proc/net/arp (NOARP entries are not listed). */
export function arp_seq_show(net: Net): string {
  let s = 'IP address       HW type     Flags       HW address            Mask     Device\n';
  for (const n of arp_tbl(net)) {
    if (n.nud_state === NUD_NOARP) continue;
    const ip = fmt_ip(n.primary_key).padEnd(16);
    const hatype = ('0x' + n.dev.type.toString(16)).padEnd(12);
    const flags = ('0x' + arp_state_to_flags(n).toString(16)).padEnd(12);
    const hw = format_mac(n.ha).padEnd(17);
    s += `${ip} ${hatype}${flags}${hw}     ${'*'.padEnd(8)} ${n.dev.name}\n`;
  }
  return s;
}

/**
 * `ip neigh show` (iproute2 print_neigh): "ADDR dev DEV lladdr MAC STATE " — no lladdr while
 * INCOMPLETE or FAILED; NOARP and NONE entries are not listed by default.
 */
export function arp_neigh_show(net: Net, opts: { dev?: NetDevice | null; all?: boolean } = {}): string {
  let s = '';
  for (const n of arp_tbl(net)) {
    if (opts.dev && n.dev !== opts.dev) continue;
    if (!opts.all && (n.nud_state === NUD_NOARP || n.nud_state === 0)) continue;
    s += `${fmt_ip(n.primary_key)} dev ${n.dev.name} `;
    if (n.nud_state & NUD_VALID) s += `lladdr ${format_mac(n.ha)} `;
    s += `${nud_state_name(n.nud_state)} \n`;
  }
  return s;
}

/** /proc/net/stat/arp_cache: the table's statistics in hexadecimal, as neigh_stat_seq_show() prints them. */
export function arp_cache_stat_show(net: Net): string {
  const tbl = arp_tbl(net);
  const x = tbl.stats;
  const hex = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');
  const head =
    'entries  allocs   destroys hash_grows lookups  hits     res_failed rcv_probes_mcast rcv_probes_ucast periodic_gc_runs forced_gc_runs unresolved_discards table_fulls\n';
  const vals = [
    tbl.entries,
    x.allocs,
    x.destroys,
    x.hash_grows,
    x.lookups,
    x.hits,
    x.res_failed,
    x.rcv_probes_mcast,
    x.rcv_probes_ucast,
    x.periodic_gc_runs,
    x.forced_gc_runs,
    x.unres_discards,
    x.table_fulls,
  ];
  // neigh_stat_seq_show()'s spacing, one line per CPU (we have one).
  const gaps = [
    ' ',
    ' ',
    ' ',
    '   ',
    ' ',
    ' ',
    '   ',
    '         ',
    '         ',
    '         ',
    '       ',
    '            ',
  ];
  let line = hex(vals[0]);
  for (let k = 1; k < vals.length; k++) line += gaps[k - 1] + hex(vals[k]);
  return head + line + '\n';
}

// ---------------------------------------------------------------------------------------------
// Events and sysctls

/**
 * arp_netdev_event() with the ARP half of inetdev_event(): flush a device's entries when it
 * goes down or changes address (neigh_ifdown / neigh_changeaddr), when its carrier goes with
 * arp_evict_nocarrier (neigh_carrier_down keeps permanent ones); announce the device's addresses
 * on link up and address change when arp_notify is set.
 */
function arp_netdev_event(event: number, dev: NetDevice): void {
  const net = dev.nd_net;
  const st = arp_state(net);
  switch (event) {
    case NETDEV_REGISTER:
      if (!(dev.flags & IFF_LOOPBACK)) register_dev_sysctls(net, dev);
      break;
    case NETDEV_UP:
      if (in_dev_get(dev) && arp_conf(net, dev, 'arp_notify')) inetdev_send_gratuitous_arp(dev);
      break;
    case NETDEV_CHANGEADDR:
      neigh_flush_dev(st.tbl, dev, false);
      if (in_dev_get(dev) && arp_conf(net, dev, 'arp_notify')) inetdev_send_gratuitous_arp(dev);
      break;
    case NETDEV_DOWN:
      neigh_flush_dev(st.tbl, dev, false);
      // pneigh_ifdown(): proxied requests that came in on the device are forgotten.
      for (let skb = st.proxy_queue.peek(); skb;) {
        const next: SkBuff | null = skb.next;
        if (skb.dev === dev) {
          st.proxy_queue.unlink(skb);
          kfree_skb(skb);
        }
        skb = next;
      }
      break;
    case NETDEV_CHANGE:
      if (!dev.carrier && arp_conf(net, dev, 'arp_evict_nocarrier')) neigh_flush_dev(st.tbl, dev, true);
      break;
    case NETDEV_UNREGISTER:
      neigh_flush_dev(st.tbl, dev, false);
      st.tbl.dev_parms.delete(dev);
      st.conf_dev.delete(dev);
      break;
  }
}

/** fib_inetaddr_event(NETDEV_DOWN): the last address of a device gone — its entries go too (arp_ifdown). */
function arp_inetaddr_event(event: number, ifa: InIfaddr): void {
  const dev = ifa.ifa_dev.dev;
  if (event === NETDEV_DOWN && !ifa.ifa_dev.ifa_list.length) neigh_flush_dev(arp_tbl(dev.nd_net), dev, false);
}

/** The net.ipv4.neigh.* entries: name, parms variable, and the unit the file shows. */
const NEIGH_SYSCTLS: readonly (readonly [string, NeighVar, number])[] = [
  ['mcast_solicit', 'mcast_probes', 1],
  ['ucast_solicit', 'ucast_probes', 1],
  ['app_solicit', 'app_probes', 1],
  ['mcast_resolicit', 'mcast_reprobes', 1],
  // USER_HZ (100) ticks.
  ['retrans_time', 'retrans_time', NSEC_PER_SEC / 100],
  ['retrans_time_ms', 'retrans_time', NSEC_PER_MSEC],
  ['base_reachable_time', 'base_reachable_time', NSEC_PER_SEC],
  ['base_reachable_time_ms', 'base_reachable_time', NSEC_PER_MSEC],
  ['delay_first_probe_time', 'delay_probe_time', NSEC_PER_SEC],
  ['interval_probe_time_ms', 'interval_probe_time_ms', NSEC_PER_MSEC],
  ['gc_stale_time', 'gc_staletime', NSEC_PER_SEC],
  ['unres_qlen_bytes', 'queue_len_bytes', 1],
  ['proxy_qlen', 'proxy_qlen', 1],
  ['anycast_delay', 'anycast_delay', NSEC_PER_SEC / 100],
  ['proxy_delay', 'proxy_delay', NSEC_PER_SEC / 100],
  ['locktime', 'locktime', NSEC_PER_SEC / 100],
];

/** SKB_TRUESIZE(ETH_FRAME_LEN) on x86_64 (1514 + 256 + 320): what unres_qlen (packets) converts through. */
const UNRES_QLEN_UNIT = 2090;

function register_parms_sysctls(net: Net, prefix: string, p: NeighParms): void {
  const t = net.kernel.sysctl;
  for (const [name, v, unit] of NEIGH_SYSCTLS)
    t.register(`${prefix}.${name}`, {
      get: () => Math.floor(p.get(v) / unit),
      set: (x) => p.set(v, x * unit),
      min: 0,
      max: 0x7fffffff,
    });
  // unres_qlen: packets, stored as bytes (neigh_proc_dointvec_unres_qlen).
  t.register(`${prefix}.unres_qlen`, {
    get: () => Math.floor(p.get('queue_len_bytes') / UNRES_QLEN_UNIT),
    set: (x) => p.set('queue_len_bytes', x * UNRES_QLEN_UNIT),
    min: 0,
    max: Math.floor(0x7fffffff / UNRES_QLEN_UNIT),
  });
}

const ARP_CONF_KEYS: readonly ArpConfKey[] = [
  'arp_filter',
  'arp_announce',
  'arp_ignore',
  'arp_accept',
  'arp_notify',
  'drop_gratuitous_arp',
  'arp_evict_nocarrier',
  'proxy_arp',
];
const ARP_CONF_MAX: Record<ArpConfKey, number> = {
  arp_filter: 1,
  arp_announce: 2,
  arp_ignore: 8,
  arp_accept: 2,
  arp_notify: 1,
  drop_gratuitous_arp: 1,
  arp_evict_nocarrier: 1,
  proxy_arp: 1,
};

function register_dev_sysctls(net: Net, dev: NetDevice): void {
  const st = arp_state(net);
  const t = net.kernel.sysctl;
  register_parms_sysctls(net, `net.ipv4.neigh.${dev.name}`, st.tbl.parms_of(dev));
  let own = st.conf_dev.get(dev);
  if (!own) st.conf_dev.set(dev, (own = {}));
  const o = own;
  for (const k of ARP_CONF_KEYS)
    t.register(`net.ipv4.conf.${dev.name}.${k}`, {
      get: () => o[k] ?? st.conf_default[k],
      set: (v) => (o[k] = v),
      min: 0,
      max: ARP_CONF_MAX[k],
    });
}

function register_sysctls(net: Net, st: ArpState): void {
  const t = net.kernel.sysctl;
  const tbl = st.tbl;
  register_parms_sysctls(net, 'net.ipv4.neigh.default', tbl.parms);
  const thr: [string, 'gc_thresh1' | 'gc_thresh2' | 'gc_thresh3'][] = [
    ['gc_thresh1', 'gc_thresh1'],
    ['gc_thresh2', 'gc_thresh2'],
    ['gc_thresh3', 'gc_thresh3'],
  ];
  for (const [name, f] of thr)
    t.register(`net.ipv4.neigh.default.${name}`, {
      get: () => tbl[f],
      set: (v) => (tbl[f] = v),
      min: 0,
      max: 0x7fffffff,
    });
  t.register('net.ipv4.neigh.default.gc_interval', {
    get: () => Math.floor(tbl.gc_interval / NSEC_PER_SEC),
    set: (v) => (tbl.gc_interval = v * NSEC_PER_SEC),
    min: 0,
    max: 0x7fffffff,
  });
  for (const k of ARP_CONF_KEYS) {
    t.register(`net.ipv4.conf.all.${k}`, {
      get: () => st.conf_all[k] ?? arp_devconf_defaults()[k],
      set: (v) => (st.conf_all[k] = v),
      min: 0,
      max: ARP_CONF_MAX[k],
    });
    t.register(`net.ipv4.conf.default.${k}`, {
      get: () => st.conf_default[k],
      set: (v) => (st.conf_default[k] = v),
      min: 0,
      max: ARP_CONF_MAX[k],
    });
  }
}

const arp_packet_type: PacketType = { type: ETH_P_ARP, dev: null, func: arp_rcv };

/**
 * arp_init(): the table, the ETH_P_ARP handler, the notifiers and sysctls of a namespace, and
 * ARP as neigh_xmit's resolver. Call after ipv4_init().
 */
export function arp_init(net: Net): ArpState {
  if (net.arp) return net.arp;
  const st = arp_state(net);
  dev_add_pack(net, arp_packet_type);
  register_netdevice_notifier(net, arp_netdev_event);
  register_inetaddr_notifier(net, arp_inetaddr_event);
  register_sysctls(net, st);
  for (const dev of netdev_state(net).dev_base)
    if (!(dev.flags & IFF_LOOPBACK)) register_dev_sysctls(net, dev);
  neigh_set_arp_resolver({ output: arp_output });
  return st;
}

export { NUD_FAILED, NUD_INCOMPLETE, NUD_PERMANENT, NUD_REACHABLE, NUD_STALE };
