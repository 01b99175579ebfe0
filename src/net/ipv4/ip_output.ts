// Sending IPv4 datagrams (net/ipv4/ip_output.c): building the header, choosing the IP ID,
// ip_local_out → ip_output → fragmentation when the datagram exceeds the path MTU →
// ip_finish_output2 → the neighbour layer. Broadcasts are also looped back to this host
// (ip_mc_output).

import type { Net } from '../core/net_namespace.js';
import type { NetDevice } from '../core/netdevice.js';
import type { Sock } from '../core/sock.js';
import {
  CHECKSUM_UNNECESSARY,
  PACKET_LOOPBACK,
  SkBuff,
  kfree_skb,
  netdev_alloc_skb,
  skb_clone,
} from '../core/skbuff.js';
import { neigh_xmit } from '../core/neighbour.js';
import { netif_rx } from '../core/dev.js';
import { NET_XMIT_CN } from '../core/netdevice.js';
import * as E from '../../uapi/errno.js';
import { ETH_P_IP } from '../../uapi/if.js';
import { ip_fast_csum } from '../../wire/checksum.js';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED } from '../../wire/icmp.js';
import { icmp_send } from './icmp.js';
import {
  IPSTATS_MIB_FRAGFAILS,
  IPSTATS_MIB_OUTBCASTOCTETS,
  IPSTATS_MIB_OUTBCASTPKTS,
  IPSTATS_MIB_OUTOCTETS,
  IPSTATS_MIB_OUTNOROUTES,
  IPSTATS_MIB_OUTPKTS,
  IPSTATS_MIB_OUTREQUESTS,
  IP_INC_STATS,
  IP_UPD_PO_STATS,
} from './snmp.js';
import { type Flowi4, type Rtable, RTCF_BROADCAST, dst_mtu, ip_route_output, rt_nexthop } from './route.js';
import { ip_do_fragment } from './ip_fragment.js';

export const IPV4_HLEN = 20;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFSET = 0x1fff;

/** LL_RESERVED_SPACE(): headroom for the device's link-layer header, 16-byte aligned. */
export function LL_RESERVED_SPACE(dev: NetDevice): number {
  return ((dev.hard_header_len + dev.needed_headroom) & ~15) + 16;
}
/** MAX_HEADER-ish headroom a transport reserves before it knows the device (LL_MAX_HEADER + IP). */
export const MAX_IP_HEADROOM = 128;

/** ip_send_check(): compute the header checksum of the header at `off`. */
export function ip_send_check(buf: Uint8Array, off: number): void {
  const ihl = (buf[off] & 0x0f) * 4;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  const c = ip_fast_csum(buf, off, ihl >>> 2);
  buf[off + 10] = c >>> 8;
  buf[off + 11] = c & 0xff;
}

/** The per-socket IP ID state ip_select_ident uses for connected sockets (inet_sk(sk)->inet_id). */
interface InetIdSock {
  inet_daddr?: number;
  inet_id?: number;
}

const IP_IDENTS_SZ = 2048;
interface IdentState {
  idents: Uint32Array;
  tstamps: Float64Array;
}
const ident_states = new WeakMap<Net, IdentState>();

/** A keyed 32-bit mix of (daddr, saddr, protocol): the siphash_3u32 bucket choice of __ip_select_ident. */
function ip_id_hash(key: number, daddr: number, saddr: number, protocol: number): number {
  let h = (key ^ Math.imul(daddr, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h ^= Math.imul(saddr, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f);
  h ^= protocol;
  h = Math.imul(h ^ (h >>> 16), 0x165667b1);
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * ip_idents_reserve(): IDs come from one of 2048 counters chosen by the hash; a counter idle for
 * a while jumps by a random amount below the idle time in jiffies, so an observer cannot count
 * another host's traffic from the IDs it sees.
 */
function ip_idents_reserve(net: Net, hash: number, segs: number): number {
  let st = ident_states.get(net);
  if (!st)
    ident_states.set(
      net,
      (st = { idents: new Uint32Array(IP_IDENTS_SZ), tstamps: new Float64Array(IP_IDENTS_SZ) }),
    );
  const b = hash & (IP_IDENTS_SZ - 1);
  const now = Math.floor(net.kernel.clock.now() / 4_000_000); // jiffies at HZ=250
  const old = st.tstamps[b];
  let delta = 0;
  if (old !== now) {
    st.tstamps[b] = now;
    if (now > old) delta = net.kernel.prandom.get_random_u32_below(now - old);
  }
  const v = (st.idents[b] + delta + segs) >>> 0;
  st.idents[b] = v;
  return (v - segs) >>> 0;
}

/**
 * ip_select_ident_segs(): a connected socket numbers its datagrams itself; otherwise DF packets
 * get ID 0 (RFC 6864 §4.1: the ID of an atomic datagram is meaningless) and the others an ID
 * from the per-destination hashed counters.
 */
export function ip_select_ident(net: Net, skb: SkBuff, sk: Sock | null, segs = 1): void {
  const h = skb.head;
  const off = skb.network_header;
  const isk = sk as (Sock & InetIdSock) | null;
  let id: number;
  if (isk && isk.inet_daddr && isk.inet_id !== undefined) {
    id = isk.inet_id & 0xffff;
    isk.inet_id = (isk.inet_id + segs) & 0xffff;
  } else if (h[off + 6] & 0x40) {
    id = 0;
  } else {
    const daddr = ((h[off + 16] << 24) | (h[off + 17] << 16) | (h[off + 18] << 8) | h[off + 19]) >>> 0;
    const saddr = ((h[off + 12] << 24) | (h[off + 13] << 16) | (h[off + 14] << 8) | h[off + 15]) >>> 0;
    const key = net.ipv4?.ip_id_key ?? 0;
    id = ip_idents_reserve(net, ip_id_hash(key, daddr, saddr, h[off + 9]), segs) & 0xffff;
  }
  h[off + 4] = id >>> 8;
  h[off + 5] = id & 0xff;
}

/**
 * Push an IPv4 header in front of the data (as ip_build_and_send_pkt / __ip_queue_xmit do):
 * version 4, IHL from the options, TOS, total length, ID (ip_select_ident), DF, TTL, protocol,
 * addresses and the checksum. `opt` holds option bytes already padded to a multiple of 4.
 * The skb needs IPV4_HLEN + opt.length bytes of headroom. Leaves skb.data at the IP header.
 */
export function ip_build_header(
  net: Net,
  skb: SkBuff,
  saddr: number,
  daddr: number,
  protocol: number,
  ttl: number,
  tos: number,
  df: boolean,
  opt: Uint8Array | null = null,
  sk: Sock | null = null,
): void {
  const optlen = opt ? opt.length : 0;
  const hlen = IPV4_HLEN + optlen;
  if (skb.transport_header < 0) skb.transport_header = skb.data;
  const off = skb.push(hlen);
  skb.network_header = off;
  const h = skb.head;
  const tot_len = skb.len;
  h[off] = 0x40 | (hlen >>> 2);
  h[off + 1] = tos & 0xff;
  h[off + 2] = tot_len >>> 8;
  h[off + 3] = tot_len & 0xff;
  h[off + 6] = df ? 0x40 : 0;
  h[off + 7] = 0;
  h[off + 8] = ttl & 0xff;
  h[off + 9] = protocol & 0xff;
  h[off + 12] = saddr >>> 24;
  h[off + 13] = (saddr >>> 16) & 0xff;
  h[off + 14] = (saddr >>> 8) & 0xff;
  h[off + 15] = saddr & 0xff;
  h[off + 16] = daddr >>> 24;
  h[off + 17] = (daddr >>> 16) & 0xff;
  h[off + 18] = (daddr >>> 8) & 0xff;
  h[off + 19] = daddr & 0xff;
  if (opt) h.set(opt, off + IPV4_HLEN);
  ip_select_ident(net, skb, sk);
  ip_send_check(h, off);
}

/** net_xmit_eval(): congestion notification is not an error to the sender. */
function net_xmit_eval(rc: number): number {
  return rc === NET_XMIT_CN ? 0 : rc;
}

/**
 * ip_local_out() (__ip_local_out + dst_output): send a datagram whose header is built and whose
 * route is skb.dst. Sets the total length, recomputes the checksum, counts OutRequests.
 * Returns 0, a negative errno, or NET_XMIT_DROP when a queue dropped it.
 */
export function ip_local_out(net: Net, sk: Sock | null, skb: SkBuff): number {
  const h = skb.head;
  const off = skb.network_header >= 0 ? skb.network_header : skb.data;
  skb.network_header = off;
  const len = skb.tail - off;
  h[off + 2] = len >>> 8;
  h[off + 3] = len & 0xff;
  ip_send_check(h, off);
  skb.protocol = ETH_P_IP;
  IP_INC_STATS(net, IPSTATS_MIB_OUTREQUESTS);
  return ip_output(net, sk, skb);
}

/** ip_output(): the output half every routed packet takes, local or forwarded. */
export function ip_output(net: Net, sk: Sock | null, skb: SkBuff): number {
  const rt = skb.dst as Rtable | null;
  if (!rt) {
    IP_INC_STATS(net, IPSTATS_MIB_OUTNOROUTES);
    kfree_skb(skb);
    return -E.EHOSTUNREACH;
  }
  skb.dev = rt.dev;
  skb.protocol = ETH_P_IP;
  if (rt.rt_flags & RTCF_BROADCAST) return ip_mc_output(net, sk, skb, rt);
  return ip_finish_output(net, sk, skb, rt);
}

/**
 * ip_mc_output() for broadcasts: a copy goes back up our own stack (dev_loopback_xmit), the
 * packet itself out of the device.
 */
function ip_mc_output(net: Net, sk: Sock | null, skb: SkBuff, rt: Rtable): number {
  IP_UPD_PO_STATS(net, IPSTATS_MIB_OUTBCASTPKTS, IPSTATS_MIB_OUTBCASTOCTETS, skb.tail - skb.network_header);
  const lo = rt.dev.flags & 0x8; // IFF_LOOPBACK: the device itself brings it back
  if (!lo) {
    const n = skb_clone(skb);
    dev_loopback_xmit(n, rt.dev);
  }
  return ip_finish_output(net, sk, skb, rt);
}

/** dev_loopback_xmit(): hand a copy of an outgoing packet to our own receive path. */
function dev_loopback_xmit(skb: SkBuff, dev: NetDevice): void {
  skb.data = skb.network_header;
  skb.mac_header = skb.network_header;
  skb.pkt_type = PACKET_LOOPBACK;
  skb.ip_summed = CHECKSUM_UNNECESSARY;
  skb.protocol = ETH_P_IP;
  skb.dev = dev;
  netif_rx(skb);
}

/** ip_finish_output(): fragment what the route's MTU cannot carry. */
function ip_finish_output(net: Net, sk: Sock | null, skb: SkBuff, rt: Rtable): number {
  const mtu = dst_mtu(rt, net.kernel.clock.now());
  if (skb.tail - skb.network_header > mtu) return ip_fragment(net, sk, skb, mtu);
  return ip_finish_output2(net, sk, skb);
}

/**
 * ip_fragment(): DF set means the packet may not be cut — FragFails and ICMP "fragmentation
 * needed" with the MTU to its source (which may be us) — else ip_do_fragment.
 */
function ip_fragment(net: Net, sk: Sock | null, skb: SkBuff, mtu: number): number {
  const h = skb.head;
  const off = skb.network_header;
  if (!(h[off + 6] & 0x40)) return ip_do_fragment(net, sk, skb, mtu, ip_finish_output2);
  IP_INC_STATS(net, IPSTATS_MIB_FRAGFAILS);
  icmp_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu);
  kfree_skb(skb);
  return -E.EMSGSIZE;
}

/**
 * ip_finish_output2(): make room for the link-layer header if needed and hand the packet to the
 * neighbour of the next hop (neigh_xmit: ARP, or a direct header on loopback/NOARP devices).
 */
export function ip_finish_output2(net: Net, sk: Sock | null, skb: SkBuff): number {
  const rt = skb.dst as Rtable;
  const dev = rt.dev;
  skb.data = skb.network_header;
  const len = skb.tail - skb.data;
  if (skb.headroom() < dev.hard_header_len + dev.needed_headroom) {
    // skb_expand_head(): a copy with room in front for the link-layer header.
    const n = netdev_alloc_skb(LL_RESERVED_SPACE(dev), len);
    n.head.set(skb.head.subarray(skb.data, skb.tail), n.data);
    n.put(len);
    n.network_header = n.data;
    if (skb.transport_header >= 0) n.transport_header = n.data + (skb.transport_header - skb.data);
    n.dst = skb.dst;
    n.dev = skb.dev;
    n.protocol = skb.protocol;
    n.priority = skb.priority;
    n.mark = skb.mark;
    n.ip_summed = skb.ip_summed;
    n.sk = skb.sk;
    n.destructor = skb.destructor;
    n.truesize = skb.truesize;
    skb.destructor = null;
    kfree_skb(skb);
    skb = n;
  }
  IP_UPD_PO_STATS(net, IPSTATS_MIB_OUTPKTS, IPSTATS_MIB_OUTOCTETS, len);
  const h = skb.head;
  const o = skb.network_header;
  const daddr = ((h[o + 16] << 24) | (h[o + 17] << 16) | (h[o + 18] << 8) | h[o + 19]) >>> 0;
  const rc = neigh_xmit(dev, rt_nexthop(rt, daddr), skb);
  if (rc < 0) return rc;
  // A queue's verdict goes back up as it is (net_xmit_eval: congestion is not an error): the
  // datagram paths make -ENOBUFS of it (ip_send_skb), TCP backs off (tcp_transmit_skb).
  return net_xmit_eval(rc);
}

/** What ip_queue_xmit needs from the transport to send one segment. */
export interface IpQueueXmitParams extends Flowi4 {
  protocol: number;
  ttl: number;
  df: boolean;
  opt?: Uint8Array | null;
}

/**
 * ip_queue_xmit() (__ip_queue_xmit), shaped for TCP: route the flow (or reuse skb.dst), build
 * the header in front of the transport header at skb.data, and send. -EHOSTUNREACH-class
 * errors count OutNoRoutes, as the kernel does when the route lookup fails.
 */
export function ip_queue_xmit(net: Net, sk: Sock | null, skb: SkBuff, p: IpQueueXmitParams): number {
  let rt = skb.dst as Rtable | null;
  if (!rt) {
    const r = ip_route_output(net, p);
    if (typeof r === 'number') {
      IP_INC_STATS(net, IPSTATS_MIB_OUTNOROUTES);
      kfree_skb(skb);
      return r;
    }
    rt = r;
    skb.dst = rt;
  }
  ip_build_header(net, skb, p.saddr, p.daddr, p.protocol, p.ttl, p.tos, p.df, p.opt ?? null, sk);
  return ip_local_out(net, sk, skb);
}
