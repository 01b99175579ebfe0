// ICMP for IPv4 (net/ipv4/icmp.c; RFC 792, RFC 1122 §3.2.2, RFC 1812 §4.3): icmp_rcv validates
// and counts every message (Icmp: InMsgs, InErrors, InCsumErrors, IcmpMsg: InTypeN), answers
// echo requests, hands errors to the transport that sent the quoted datagram (its err_handler
// in inet_protos, raw sockets first) and echo replies to ping sockets; icmp_send builds the
// errors the stack reports (destination unreachable, time exceeded, parameter problem) with
// Linux's rules — never about an ICMP error, a non-first fragment or a broadcast — and its rate
// limits: the global token bucket (icmp_msgs_per_sec / icmp_msgs_burst) and the per-destination
// one (icmp_ratelimit for the types in icmp_ratemask), both on the world clock.

import type { Net } from '../core/net_namespace.js';
import type { NetDevice } from '../core/netdevice.js';
import {
  CHECKSUM_UNNECESSARY,
  kfree_skb,
  netdev_alloc_skb,
  PACKET_HOST,
  type SkBuff,
} from '../core/skbuff.js';
import { NET_RX_DROP, NET_RX_SUCCESS } from '../core/dev.js';
import { IFF_LOOPBACK } from '../../uapi/if.js';
import { NSEC_PER_MSEC, NSEC_PER_SEC } from '../../kernel/time.js';
import { csum_fold, csum_partial } from '../../wire/checksum.js';
import {
  ICMP_ADDRESS,
  ICMP_ADDRESSREPLY,
  ICMP_DEST_UNREACH,
  ICMP_ECHO,
  ICMP_ECHOREPLY,
  ICMP_EXC_FRAGTIME,
  ICMP_FRAG_NEEDED,
  ICMP_PARAMETERPROB,
  ICMP_REDIRECT,
  ICMP_SOURCE_QUENCH,
  ICMP_TIME_EXCEEDED,
  ICMP_TIMESTAMP,
  ICMP_TIMESTAMPREPLY,
  NR_ICMP_TYPES,
  NR_ICMP_UNREACH,
} from '../../wire/icmp.js';
import {
  ICMP_INC_STATS,
  ICMP_MIB_CSUMERRORS,
  ICMP_MIB_INERRORS,
  ICMP_MIB_INMSGS,
  ICMP_MIB_OUTMSGS,
  ICMP_MIB_RATELIMITGLOBAL,
  ICMP_MIB_RATELIMITHOST,
  ICMPMSGIN_INC_STATS,
  ICMPMSGOUT_INC_STATS,
} from './snmp.js';
import {
  RTCF_BROADCAST,
  RTCF_LOCAL,
  RTCF_MULTICAST,
  dst_mtu,
  ip_route_output,
  ipv4_update_pmtu,
  type Rtable,
} from './route.js';
import { RTN_BROADCAST, RT_SCOPE_LINK } from './fib.js';
import { inet_addr_type, inet_select_addr } from './devinet.js';
import { dev_get_by_index } from '../core/dev.js';
import { inet_add_protocol, inet_protos } from './protocol.js';
// ip_output imports icmp_send from here; the cycle is fine, both are used only at call time.
import { ip_build_header, ip_local_out } from './ip_output.js';

export const IPPROTO_ICMP = 1;
/** sizeof(struct icmphdr). */
const ICMPH_LEN = 8;
/** IPTOS_PREC_INTERNETCONTROL: the precedence of ICMP errors (RFC 1812 §4.3.2.5). */
const IPTOS_PREC_INTERNETCONTROL = 0xc0;
/** IPTOS_TOS_MASK (RT_TOS). */
const IPTOS_TOS_MASK = 0x1e;
/** INADDR_DUMMY (192.0.0.8, RFC 7600): the source when no address of ours fits. */
const INADDR_DUMMY = 0xc0000008;
/** XRLIM_BURST_FACTOR: the per-destination bucket holds six intervals' worth. */
const XRLIM_BURST_FACTOR = 6;

/**
 * icmp_pointers[].error: the types that are error messages (and so never answered with an
 * error). Types 1, 2, 6, 7, 9, 10 are unassigned and treated as errors, as Linux does.
 */
const icmp_is_error: readonly boolean[] = [
  false, // 0 echo reply
  true,
  true,
  true, // 3 destination unreachable
  true, // 4 source quench
  true, // 5 redirect
  true,
  true,
  false, // 8 echo
  true,
  true,
  true, // 11 time exceeded
  true, // 12 parameter problem
  false, // 13 timestamp
  false,
  false,
  false,
  false,
  false, // 18 address mask reply
];

/** icmp_err_convert[]: the errno of each ICMP_DEST_UNREACH code, and whether it is fatal (hard). */
export const icmp_err_convert: readonly { errno: number; fatal: boolean }[] = [
  { errno: 101, fatal: false }, // ICMP_NET_UNREACH: ENETUNREACH
  { errno: 113, fatal: false }, // ICMP_HOST_UNREACH: EHOSTUNREACH
  { errno: 92, fatal: true }, // ICMP_PROT_UNREACH: ENOPROTOOPT
  { errno: 111, fatal: true }, // ICMP_PORT_UNREACH: ECONNREFUSED
  { errno: 90, fatal: false }, // ICMP_FRAG_NEEDED: EMSGSIZE
  { errno: 95, fatal: false }, // ICMP_SR_FAILED: EOPNOTSUPP
  { errno: 101, fatal: true }, // ICMP_NET_UNKNOWN
  { errno: 112, fatal: true }, // ICMP_HOST_UNKNOWN: EHOSTDOWN
  { errno: 64, fatal: true }, // ICMP_HOST_ISOLATED: ENONET
  { errno: 101, fatal: true }, // ICMP_NET_ANO
  { errno: 113, fatal: true }, // ICMP_HOST_ANO
  { errno: 101, fatal: false }, // ICMP_NET_UNR_TOS
  { errno: 113, fatal: false }, // ICMP_HOST_UNR_TOS
  { errno: 113, fatal: true }, // ICMP_PKT_FILTERED
  { errno: 113, fatal: true }, // ICMP_PREC_VIOLATION
  { errno: 113, fatal: true }, // ICMP_PREC_CUTOFF
];

/** struct inet_peer, the part ICMP uses: the per-destination token bucket (ns). */
interface InetPeer {
  rate_tokens: number;
  rate_last: number;
}

/** The ICMP sysctls (struct netns_ipv4, icmp_sk_init defaults) and limiter state of a namespace. */
export class IcmpState {
  sysctl_icmp_echo_ignore_all = 0;
  sysctl_icmp_echo_ignore_broadcasts = 1;
  sysctl_icmp_ignore_bogus_error_responses = 1;
  /** icmp_ratelimit, ms (1 * HZ). */
  sysctl_icmp_ratelimit = 1000;
  /** icmp_ratemask: destination unreachable, source quench, time exceeded, parameter problem. */
  sysctl_icmp_ratemask = 0x1818;
  sysctl_icmp_errors_use_inbound_ifaddr = 0;
  sysctl_icmp_msgs_per_sec = 1000;
  sysctl_icmp_msgs_burst = 50;
  /** icmp_global: credit and the time (ns) it was last refilled; -∞ = long ago. */
  icmp_global_credit = 0;
  icmp_global_stamp = Number.NEGATIVE_INFINITY;
  /** inet_peers, by destination address. */
  readonly peers = new Map<number, InetPeer>();
  /** ping_rcv() of the ping socket module, for ICMP_ECHOREPLY. */
  ping_rcv: ((skb: SkBuff) => boolean) | null = null;
  /** ping_err(): an error about an echo request a ping socket sent (icmp_err). */
  ping_err: ((skb: SkBuff, info: number) => void) | null = null;
  /** raw_icmp_error(): raw sockets of the quoted protocol see every error first. */
  raw_icmp_error: ((skb: SkBuff, protocol: number, info: number) => void) | null = null;
}

declare module '../core/net_namespace.js' {
  interface Net {
    /** ICMP state, made by icmp_init() (or on first use). */
    icmp?: IcmpState;
  }
}

/** The namespace's ICMP state. */
export function icmp_state(net: Net): IcmpState {
  return net.icmp ?? (net.icmp = new IcmpState());
}

/** Ping sockets install their receive path for echo replies here (icmp_pointers[ICMP_ECHOREPLY]). */
export function set_ping_rcv(net: Net, fn: ((skb: SkBuff) => boolean) | null): void {
  icmp_state(net).ping_rcv = fn;
}

/** Ping sockets install ping_err here: errors quoting an echo request reach it through icmp_err. */
export function set_ping_err(net: Net, fn: ((skb: SkBuff, info: number) => void) | null): void {
  icmp_state(net).ping_err = fn;
}

/** Raw sockets install raw_icmp_error here (icmp_socket_deliver calls it before the transport). */
export function set_raw_icmp_error(
  net: Net,
  fn: ((skb: SkBuff, protocol: number, info: number) => void) | null,
): void {
  icmp_state(net).raw_icmp_error = fn;
}

/** icmp_out_count(): OutMsgs and IcmpMsg OutTypeN for a message being sent (raw ICMP sockets too). */
export function icmp_out_count(net: Net, type: number): void {
  ICMPMSGOUT_INC_STATS(net, type);
  ICMP_INC_STATS(net, ICMP_MIB_OUTMSGS);
}

function get32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Rate limiting

/** icmpv4_mask_allow(): types outside icmp_ratemask, and PMTU discovery, are never limited. */
function icmpv4_mask_allow(st: IcmpState, type: number, code: number): boolean {
  if (type > NR_ICMP_TYPES) return true;
  if (type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED) return true;
  return !((1 << type) & st.sysctl_icmp_ratemask);
}

/**
 * icmp_global_allow(): the namespace-wide token bucket — credit refilled at icmp_msgs_per_sec,
 * at most icmp_msgs_burst, refilled no more often than every 20 ms (HZ/50).
 */
function icmp_global_allow(net: Net, st: IcmpState): boolean {
  if (st.icmp_global_credit > 0) return true;
  const now = net.kernel.clock.now();
  const delta = Math.min(now - st.icmp_global_stamp, NSEC_PER_SEC);
  if (delta < NSEC_PER_SEC / 50) return false;
  const incr = Math.floor((st.sysctl_icmp_msgs_per_sec * delta) / NSEC_PER_SEC);
  if (!incr) return false;
  st.icmp_global_stamp = now;
  st.icmp_global_credit = Math.min(st.icmp_global_credit + incr, st.sysctl_icmp_msgs_burst);
  return true;
}

/** icmp_global_consume(): a message sent costs 0–2 credits (1 on average, random against bursts). */
function icmp_global_consume(net: Net, st: IcmpState): void {
  st.icmp_global_credit -= net.kernel.prandom.get_random_u32_below(3);
}

/** icmpv4_global_allow(): may a message of this type go now? Sets *apply_ratelimit. */
function icmpv4_global_allow(net: Net, st: IcmpState, type: number, code: number): 0 | 1 | 2 {
  // 0: refused; 1: allowed without limits; 2: allowed, subject to the per-destination limit.
  if (icmpv4_mask_allow(st, type, code)) return 1;
  if (icmp_global_allow(net, st)) return 2;
  ICMP_INC_STATS(net, ICMP_MIB_RATELIMITGLOBAL);
  return 0;
}

/** inet_peer_xrlim_allow(): one message per icmp_ratelimit per destination, bursts of six. */
function inet_peer_xrlim_allow(peer: InetPeer, now: number, timeout: number): boolean {
  let token = peer.rate_tokens;
  const delta = now - peer.rate_last;
  if (delta) {
    peer.rate_last = now;
    token += delta;
    if (token > XRLIM_BURST_FACTOR * timeout) token = XRLIM_BURST_FACTOR * timeout;
  }
  let rc = false;
  if (token >= timeout) {
    token -= timeout;
    rc = true;
  }
  peer.rate_tokens = token;
  return rc;
}

/** inet_getpeer_v4(): a new peer starts as if last limited a minute ago (a full bucket). */
function inet_getpeer(st: IcmpState, daddr: number, now: number): InetPeer {
  let p = st.peers.get(daddr);
  if (!p) {
    // inet_peer entries age out; keep the cache bounded the way the peer GC would.
    if (st.peers.size >= 65536) st.peers.clear();
    p = { rate_tokens: 0, rate_last: now - 60 * NSEC_PER_SEC };
    st.peers.set(daddr, p);
  }
  return p;
}

/** icmpv4_xrlim_allow(): the per-destination limit (never on loopback); counts OutRateLimitHost. */
function icmpv4_xrlim_allow(net: Net, st: IcmpState, rt: Rtable, daddr: number, apply: boolean): boolean {
  if (!apply) return true;
  let rc = true;
  if (!(rt.dev.flags & IFF_LOOPBACK)) {
    const now = net.kernel.clock.now();
    rc = inet_peer_xrlim_allow(
      inet_getpeer(st, daddr >>> 0, now),
      now,
      st.sysctl_icmp_ratelimit * NSEC_PER_MSEC,
    );
  }
  if (!rc) ICMP_INC_STATS(net, ICMP_MIB_RATELIMITHOST);
  else icmp_global_consume(net, st);
  return rc;
}

// ---------------------------------------------------------------------------------------------
// Sending

/**
 * icmp_push_reply(): an ICMP message of `type`/`code`/`rest` (the second word) followed by
 * `data_len` bytes of `src` from `src_off`, in an IPv4 datagram routed by `rt` from saddr to
 * daddr. The control socket does not fragment (IP_PMTUDISC_DONT: DF clear) and uses the
 * default TTL.
 */
function icmp_push_reply(
  net: Net,
  rt: Rtable,
  saddr: number,
  daddr: number,
  tos: number,
  type: number,
  code: number,
  rest: number,
  src: Uint8Array,
  src_off: number,
  data_len: number,
): void {
  const headroom = ((rt.dev.hard_header_len + rt.dev.needed_headroom) & ~15) + 16 + 60;
  const skb = netdev_alloc_skb(headroom, ICMPH_LEN + data_len);
  const off = skb.put(ICMPH_LEN + data_len);
  const h = skb.head;
  skb.transport_header = off;
  h[off] = type;
  h[off + 1] = code;
  h[off + 2] = 0;
  h[off + 3] = 0;
  h[off + 4] = rest >>> 24;
  h[off + 5] = rest >>> 16;
  h[off + 6] = rest >>> 8;
  h[off + 7] = rest;
  h.set(src.subarray(src_off, src_off + data_len), off + ICMPH_LEN);
  const c = csum_fold(csum_partial(h, off, ICMPH_LEN + data_len, 0));
  h[off + 2] = c >>> 8;
  h[off + 3] = c & 0xff;
  skb.dst = rt;
  skb.protocol = 0x0800;
  const ttl = net.ipv4?.sysctl_ip_default_ttl ?? 64;
  ip_build_header(net, skb, saddr, daddr, IPPROTO_ICMP, ttl, tos, false);
  icmp_out_count(net, type);
  // OutErrors counts only messages that could not be built (ip_append_data failing), which
  // cannot happen here; a drop further down is the device's or the neighbour's to count.
  ip_local_out(net, null, skb);
}

/**
 * icmp_send (__icmp_send in net/ipv4/icmp.c): send an ICMP error of `type`/`code` about the
 * received packet `skb_in`. `info` is the next-hop MTU for ICMP_FRAG_NEEDED, the pointer (the
 * offset of the bad byte from the IP header) for ICMP_PARAMETERPROB and the gateway for
 * ICMP_REDIRECT. Never throws; the caller still owns skb_in.
 *
 * Nothing is sent for a packet without a route, one that came to a link-layer broadcast or
 * multicast address or was routed as broadcast/multicast, a fragment other than the first, or
 * an ICMP error (RFC 1122 §3.2.2). The message quotes the datagram from its IP header, as much
 * as fits in 576 bytes (RFC 1812 §4.3.2.3), and comes from the address the packet was sent to
 * when that is ours, else from the route's preferred source.
 */
export function icmp_send(skb_in: SkBuff, type: number, code: number, info: number): void {
  const rt = skb_in.dst as Rtable | null;
  if (!rt) return;
  const net: Net | null = rt.dev ? rt.dev.nd_net : skb_in.dev ? skb_in.dev.nd_net : null;
  if (!net) return;
  const h = skb_in.head;
  const nh = skb_in.network_header;
  if (nh < 0 || nh + 20 > skb_in.tail) return;
  if (skb_in.pkt_type !== PACKET_HOST) return;
  if (rt.rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST)) return;
  // Only about fragment 0.
  if (((h[nh + 6] << 8) | h[nh + 7]) & 0x1fff) return;
  const is_error = type > NR_ICMP_TYPES || icmp_is_error[type];
  if (is_error && h[nh + 9] === IPPROTO_ICMP) {
    // Never an error about an error; an unknown type counts as an error.
    const itp = nh + ((h[nh] & 0x0f) << 2);
    if (itp >= skb_in.tail) return;
    const inner = h[itp];
    if (inner > NR_ICMP_TYPES || icmp_is_error[inner]) return;
  }
  const st = icmp_state(net);
  // The global limit, except for packets that came in on loopback.
  let apply_ratelimit = false;
  if (!(skb_in.dev && skb_in.dev.flags & IFF_LOOPBACK)) {
    const g = icmpv4_global_allow(net, st, type, code);
    if (!g) return;
    apply_ratelimit = g === 2;
  }
  const iph_saddr = get32(h, nh + 12);
  const iph_daddr = get32(h, nh + 16);
  let saddr = iph_daddr;
  if (!(rt.rt_flags & RTCF_LOCAL)) {
    let dev: NetDevice | null = null;
    if (rt.rt_is_input && st.sysctl_icmp_errors_use_inbound_ifaddr)
      dev = dev_get_by_index(net, skb_in.skb_iif || (skb_in.dev ? skb_in.dev.ifindex : 0));
    saddr = dev ? inet_select_addr(dev, iph_saddr, RT_SCOPE_LINK) : 0;
  }
  const iph_tos = h[nh + 1];
  const tos = is_error ? (iph_tos & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL : iph_tos;
  // icmp_route_lookup(): back to the sender.
  const fl = { daddr: iph_saddr, saddr, tos: tos & IPTOS_TOS_MASK, oif: 0 };
  let r = ip_route_output(net, fl);
  if (typeof r === 'number' && saddr) {
    // Our address as source may not route (it left with the interface): let routing pick one.
    fl.saddr = 0;
    r = ip_route_output(net, fl);
  }
  if (typeof r === 'number') return;
  const ort = r;
  if (!icmpv4_xrlim_allow(net, st, ort, fl.daddr, apply_ratelimit)) return;
  // RFC 1812 §4.3.2.3: as much of the datagram as fits in 576 bytes.
  let room = Math.min(dst_mtu(ort, net.kernel.clock.now()), 576);
  room -= 20 + ICMPH_LEN;
  if (room <= 20) return;
  let data_len = skb_in.tail - nh;
  if (data_len > room) data_len = room;
  const src = fl.saddr || INADDR_DUMMY;
  // The parameter problem pointer is the first byte of the second word (RFC 792); callers pass
  // the offset itself (Linux passes htonl(ptr << 24), the same bytes).
  const rest = type === ICMP_PARAMETERPROB && info >>> 0 <= 0xff ? (info << 24) >>> 0 : info >>> 0;
  icmp_push_reply(net, ort, src, fl.daddr, tos, type, code, rest, h, nh, data_len);
}

// ---------------------------------------------------------------------------------------------
// Receiving

/**
 * icmp_reply(): answer an echo (or timestamp) request to the sender, from the address it was
 * sent to (fib_compute_spec_dst), subject to the global limit for limited types.
 */
function icmp_reply(
  net: Net,
  skb: SkBuff,
  type: number,
  code: number,
  rest: number,
  data_off: number,
  data_len: number,
): void {
  const st = icmp_state(net);
  const h = skb.head;
  const nh = skb.network_header;
  const g = icmpv4_global_allow(net, st, type, code);
  if (!g) return;
  const rt = skb.dst as Rtable;
  const daddr = get32(h, nh + 12);
  let saddr = get32(h, nh + 16);
  // fib_compute_spec_dst(): RTCF_LOCAL is bit 31, so compare the flags unsigned.
  if ((rt.rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST | RTCF_LOCAL)) >>> 0 !== RTCF_LOCAL) saddr = 0;
  const tos = h[nh + 1];
  const fl = { daddr, saddr, tos: tos & IPTOS_TOS_MASK, oif: 0 };
  const r = ip_route_output(net, fl);
  if (typeof r === 'number') return;
  if (!icmpv4_xrlim_allow(net, st, r, fl.daddr, g === 2)) return;
  icmp_push_reply(net, r, fl.saddr || INADDR_DUMMY, fl.daddr, tos, type, code, rest, h, data_off, data_len);
}

/** icmp_echo(): an echo reply with the request's identifier, sequence and data (RFC 792). */
function icmp_echo(net: Net, skb: SkBuff, t: number): void {
  const st = icmp_state(net);
  if (st.sysctl_icmp_echo_ignore_all) return;
  const h = skb.head;
  icmp_reply(net, skb, ICMP_ECHOREPLY, h[t + 1], get32(h, t + 4), t + ICMPH_LEN, skb.tail - t - ICMPH_LEN);
}

/**
 * icmp_timestamp(): a timestamp reply (RFC 792) with receive and transmit times in ms since
 * midnight UT — the world clock's time of day. A request shorter than its originate field is
 * an InErrors.
 */
function icmp_timestamp(net: Net, skb: SkBuff, t: number): boolean {
  const h = skb.head;
  if (skb.tail - t - ICMPH_LEN < 4) {
    ICMP_INC_STATS(net, ICMP_MIB_INERRORS);
    return false;
  }
  const ms = Math.floor(net.kernel.clock.now() / NSEC_PER_MSEC) % 86400000;
  const times = new Uint8Array(12);
  times.set(h.subarray(t + ICMPH_LEN, t + ICMPH_LEN + 4), 0);
  for (const o of [4, 8]) {
    times[o] = ms >>> 24;
    times[o + 1] = ms >>> 16;
    times[o + 2] = ms >>> 8;
    times[o + 3] = ms;
  }
  const st = icmp_state(net);
  const g = icmpv4_global_allow(net, st, ICMP_TIMESTAMPREPLY, 0);
  if (!g) return true;
  const rt = skb.dst as Rtable;
  const nh = skb.network_header;
  const daddr = get32(h, nh + 12);
  let saddr = get32(h, nh + 16);
  // fib_compute_spec_dst(): RTCF_LOCAL is bit 31, so compare the flags unsigned.
  if ((rt.rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST | RTCF_LOCAL)) >>> 0 !== RTCF_LOCAL) saddr = 0;
  const fl = { daddr, saddr, tos: h[nh + 1] & IPTOS_TOS_MASK, oif: 0 };
  const r = ip_route_output(net, fl);
  if (typeof r === 'number') return true;
  if (!icmpv4_xrlim_allow(net, st, r, fl.daddr, g === 2)) return true;
  icmp_push_reply(
    net,
    r,
    fl.saddr || INADDR_DUMMY,
    fl.daddr,
    h[nh + 1],
    ICMP_TIMESTAMPREPLY,
    0,
    get32(h, t + 4),
    times,
    0,
    12,
  );
  return true;
}

/**
 * icmp_socket_deliver(): the quoted header and 8 bytes of its payload must be there (else
 * InErrors); raw sockets of the protocol see the error, then the protocol's err_handler.
 * skb.data is at the quoted IP header, skb.transport_header at the ICMP header.
 */
function icmp_socket_deliver(net: Net, skb: SkBuff, info: number): void {
  const h = skb.head;
  const q = skb.data;
  const ihl = (h[q] & 0x0f) << 2;
  if (skb.tail - q < ihl + 8) {
    ICMP_INC_STATS(net, ICMP_MIB_INERRORS);
    return;
  }
  const protocol = h[q + 9];
  const st = icmp_state(net);
  if (st.raw_icmp_error) st.raw_icmp_error(skb, protocol, info);
  const ipprot = inet_protos(net)[protocol];
  if (ipprot && ipprot.err_handler) ipprot.err_handler(skb, info);
}

/**
 * icmp_unreach(): destination unreachable, source quench, time exceeded and parameter problem.
 * A quoted header shorter than 20 bytes or with IHL < 5 is InErrors. Frag-needed carries the
 * next-hop MTU (unless ip_no_pmtu_disc), which lowers the path MTU of the route to the quoted
 * destination (ipv4_update_pmtu, which Linux reaches through the transports' handlers);
 * reassembly timeouts and unknown unreachable codes go no further; errors about datagrams we
 * sent to a broadcast address are bogus and ignored.
 */
function icmp_unreach(net: Net, skb: SkBuff, t: number): boolean {
  const h = skb.head;
  const q = skb.data;
  if (skb.tail - q < 20) {
    ICMP_INC_STATS(net, ICMP_MIB_INERRORS);
    return false;
  }
  if ((h[q] & 0x0f) < 5) {
    ICMP_INC_STATS(net, ICMP_MIB_INERRORS);
    return false;
  }
  const type = h[t];
  const code = h[t + 1];
  let info = 0;
  switch (type) {
    case ICMP_DEST_UNREACH:
      if ((code & 15) === ICMP_FRAG_NEEDED) {
        const no_pmtu = net.ipv4?.sysctl_ip_no_pmtu_disc ?? 0;
        if (no_pmtu === 2) return true;
        if (no_pmtu === 0 || no_pmtu === 3) info = (h[t + 6] << 8) | h[t + 7];
        if (info) ipv4_update_pmtu(net, get32(h, q + 16), info);
      }
      if (code > NR_ICMP_UNREACH) return true;
      break;
    case ICMP_PARAMETERPROB:
      info = h[t + 4];
      break;
    case ICMP_TIME_EXCEEDED:
      if (code === ICMP_EXC_FRAGTIME) return true;
      break;
  }
  const st = icmp_state(net);
  if (
    !st.sysctl_icmp_ignore_bogus_error_responses &&
    inet_addr_type(net, get32(h, q + 16), skb.dev) === RTN_BROADCAST
  )
    return true;
  icmp_socket_deliver(net, skb, info);
  return true;
}

/** icmp_redirect(): we do not act on redirects (no routing cache to change), but sockets hear them. */
function icmp_redirect(net: Net, skb: SkBuff, t: number): boolean {
  if (skb.tail - skb.data < 20) {
    ICMP_INC_STATS(net, ICMP_MIB_INERRORS);
    return false;
  }
  icmp_socket_deliver(net, skb, get32(skb.head, t + 4));
  return true;
}

/**
 * icmp_rcv(): the IPPROTO_ICMP handler; skb.data at the ICMP header. InMsgs for every message;
 * a bad checksum is InCsumErrors + InErrors (not checked for loopback traffic,
 * CHECKSUM_UNNECESSARY); shorter than a header or of an unknown type, InErrors; IcmpMsg
 * InTypeN for each type. To a broadcast or multicast address only echo, timestamp and address
 * mask messages are accepted, and echo and timestamp are ignored there by default
 * (icmp_echo_ignore_broadcasts, RFC 1122 §3.2.2.6).
 */
export function icmp_rcv(skb: SkBuff): number {
  const rt = skb.dst as Rtable | null;
  const dev = rt ? rt.dev : skb.dev;
  if (!dev) {
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  const net = dev.nd_net;
  ICMP_INC_STATS(net, ICMP_MIB_INMSGS);
  const h = skb.head;
  const t = skb.data;
  skb.transport_header = t;
  const len = skb.tail - t;
  if (skb.ip_summed !== CHECKSUM_UNNECESSARY && csum_fold(csum_partial(h, t, len, 0)) !== 0) {
    ICMP_INC_STATS(net, ICMP_MIB_CSUMERRORS);
    ICMP_INC_STATS(net, ICMP_MIB_INERRORS);
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  if (len < ICMPH_LEN) {
    ICMP_INC_STATS(net, ICMP_MIB_INERRORS);
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  skb.data = t + ICMPH_LEN;
  const type = h[t];
  ICMPMSGIN_INC_STATS(net, type);
  if (type > NR_ICMP_TYPES) {
    ICMP_INC_STATS(net, ICMP_MIB_INERRORS);
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  const st = icmp_state(net);
  if (rt && rt.rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST)) {
    if ((type === ICMP_ECHO || type === ICMP_TIMESTAMP) && st.sysctl_icmp_echo_ignore_broadcasts) {
      ICMP_INC_STATS(net, ICMP_MIB_INERRORS);
      kfree_skb(skb);
      return NET_RX_DROP;
    }
    if (
      type !== ICMP_ECHO &&
      type !== ICMP_TIMESTAMP &&
      type !== ICMP_ADDRESS &&
      type !== ICMP_ADDRESSREPLY
    ) {
      ICMP_INC_STATS(net, ICMP_MIB_INERRORS);
      kfree_skb(skb);
      return NET_RX_DROP;
    }
  }
  let ok = true;
  switch (type) {
    case ICMP_ECHOREPLY:
      // ping_rcv(): a reply nobody waits for is dropped, not an error.
      ok = st.ping_rcv ? st.ping_rcv(skb) : false;
      break;
    case ICMP_DEST_UNREACH:
    case ICMP_SOURCE_QUENCH:
    case ICMP_TIME_EXCEEDED:
    case ICMP_PARAMETERPROB:
      ok = icmp_unreach(net, skb, t);
      break;
    case ICMP_REDIRECT:
      ok = icmp_redirect(net, skb, t);
      break;
    case ICMP_ECHO:
      icmp_echo(net, skb, t);
      break;
    case ICMP_TIMESTAMP:
      ok = icmp_timestamp(net, skb, t);
      break;
    default:
      // icmp_discard(): the unassigned error types, timestamp and information replies, masks.
      break;
  }
  kfree_skb(skb);
  return ok ? NET_RX_SUCCESS : NET_RX_DROP;
}

/**
 * icmp_err(): an ICMP error quoting an ICMP message we sent. Errors about our echo requests go
 * to the ping sockets; for anything else only frag-needed matters (the PMTU was already
 * lowered by icmp_unreach).
 */
function icmp_err(skb: SkBuff, info: number): number {
  const h = skb.head;
  const q = skb.data;
  const inner = q + ((h[q] & 0x0f) << 2);
  const net = skb.dev ? skb.dev.nd_net : null;
  if (!net || inner >= skb.tail) return 0;
  if (h[inner] !== ICMP_ECHOREPLY) {
    const st = icmp_state(net);
    if (st.ping_err) st.ping_err(skb, info);
  }
  return 0;
}

function register_sysctls(net: Net, st: IcmpState): void {
  const t = net.kernel.sysctl;
  const entries: [string, keyof IcmpState, number, number][] = [
    ['net.ipv4.icmp_echo_ignore_all', 'sysctl_icmp_echo_ignore_all', 0, 1],
    ['net.ipv4.icmp_echo_ignore_broadcasts', 'sysctl_icmp_echo_ignore_broadcasts', 0, 1],
    ['net.ipv4.icmp_ignore_bogus_error_responses', 'sysctl_icmp_ignore_bogus_error_responses', 0, 1],
    ['net.ipv4.icmp_ratelimit', 'sysctl_icmp_ratelimit', 0, 0x7fffffff],
    ['net.ipv4.icmp_ratemask', 'sysctl_icmp_ratemask', 0, 0x7fffffff],
    ['net.ipv4.icmp_errors_use_inbound_ifaddr', 'sysctl_icmp_errors_use_inbound_ifaddr', 0, 1],
    ['net.ipv4.icmp_msgs_per_sec', 'sysctl_icmp_msgs_per_sec', 0, 0x7fffffff],
    ['net.ipv4.icmp_msgs_burst', 'sysctl_icmp_msgs_burst', 0, 0x7fffffff],
  ];
  for (const [name, field, min, max] of entries)
    t.register(name, {
      get: () => st[field] as number,
      set: (v) => ((st[field] as number) = v),
      min,
      max,
    });
}

/** icmp_init(): the IPPROTO_ICMP handler and the net.ipv4.icmp_* sysctls of a namespace. */
export function icmp_init(net: Net): IcmpState {
  const st = icmp_state(net);
  if (inet_protos(net)[IPPROTO_ICMP]) return st;
  inet_add_protocol(net, IPPROTO_ICMP, { handler: icmp_rcv, err_handler: icmp_err });
  register_sysctls(net, st);
  return st;
}
