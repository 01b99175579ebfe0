// Receiving IPv4 datagrams (net/ipv4/ip_input.c): ip_rcv validates the header exactly as
// ip_rcv_core does and counts what it drops; ip_rcv_finish routes the packet (unless it came
// with a route, as loopback traffic does) and checks options; ip_local_deliver reassembles
// fragments and hands the datagram to raw sockets and to its transport.

import type { NetDevice } from '../core/netdevice.js';
import type { PacketType } from '../core/dev.js';
import { NET_RX_DROP, NET_RX_SUCCESS } from '../core/dev.js';
import { PACKET_OTHERHOST, SkBuff, kfree_skb, skb_unshare } from '../core/skbuff.js';
import type { Net } from '../core/net_namespace.js';
import { ip_fast_csum } from '../../wire/checksum.js';
import { ipOptionsCompile, ipOptionsInit, type IpOptions, type IpOptionsContext } from '../../wire/ipv4.js';
import {
  ICMP_DEST_UNREACH,
  ICMP_HOST_UNREACH,
  ICMP_NET_UNREACH,
  ICMP_PARAMETERPROB,
  ICMP_PKT_FILTERED,
  ICMP_PROT_UNREACH,
} from '../../wire/icmp.js';
import * as E from '../../uapi/errno.js';
import { icmp_send } from './icmp.js';
import { in_dev_get, inet_addr_type, inet_select_addr } from './devinet.js';
import {
  IPSTATS_MIB_CSUMERRORS,
  IPSTATS_MIB_INADDRERRORS,
  IPSTATS_MIB_INBCASTOCTETS,
  IPSTATS_MIB_INBCASTPKTS,
  IPSTATS_MIB_INDELIVERS,
  IPSTATS_MIB_INHDRERRORS,
  IPSTATS_MIB_INNOROUTES,
  IPSTATS_MIB_INOCTETS,
  IPSTATS_MIB_INPKTS,
  IPSTATS_MIB_INTRUNCATEDPKTS,
  IPSTATS_MIB_INUNKNOWNPROTOS,
  IPSTATS_MIB_NOECTPKTS,
  IP_INC_STATS,
  IP_UPD_PO_STATS,
  net_mib,
} from './snmp.js';
import { DST_INPUT_ERROR, DST_INPUT_FORWARD, RTCF_LOCAL, type Rtable, ip_route_input } from './route.js';
import { RTN_BROADCAST, RTN_UNICAST } from './fib.js';
import { IP_DEFRAG_LOCAL_DELIVER, ip_defrag } from './ip_fragment.js';
import { inet_protos, raw_deliver_hook } from './protocol.js';
import { ip_forward } from './ip_forward.js';

/**
 * The parsed options of the packet being processed (IPCB(skb)->opt). Processing is synchronous
 * from ip_rcv to the transport handler, so one scratch structure serves every packet.
 */
export const ip_rcv_opt: IpOptions = ipOptionsInit();

/**
 * ip_rcv() (ip_rcv_core + ip_rcv_finish): the ETH_P_IP handler. Drops frames for other hosts,
 * counts InReceives/InOctets, validates version, IHL, checksum and lengths (InHdrErrors,
 * InCsumErrors, InTruncatedPkts), trims link-layer padding, then routes and delivers.
 */
export function ip_rcv(skb: SkBuff, dev: NetDevice, _pt: PacketType, _orig: NetDevice): number {
  void _pt;
  void _orig;
  const net = dev.nd_net;
  // A frame addressed to another host's MAC (promiscuous capture): not ours to process.
  if (skb.pkt_type === PACKET_OTHERHOST) {
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  const mib = (net.mib ?? net_mib(net)).ip_statistics;
  const skblen = skb.len;
  mib[IPSTATS_MIB_INPKTS]++;
  mib[IPSTATS_MIB_INOCTETS] += skblen;
  const h = skb.head;
  const nh = skb.data;
  skb.network_header = nh;
  if (skblen < 20) return inhdr_error(skb, mib);
  const vihl = h[nh];
  const ihl = vihl & 0x0f;
  if (ihl < 5 || vihl >> 4 !== 4) return inhdr_error(skb, mib);
  mib[IPSTATS_MIB_NOECTPKTS + (h[nh + 1] & 3)]++;
  const hlen = ihl << 2;
  if (skblen < hlen) return inhdr_error(skb, mib);
  // The header checksum is always checked, loopback included (ip_fast_csum in ip_rcv_core).
  if (ip_fast_csum(h, nh, ihl) !== 0) {
    mib[IPSTATS_MIB_CSUMERRORS]++;
    return inhdr_error(skb, mib);
  }
  const len = (h[nh + 2] << 8) | h[nh + 3];
  if (skblen < len) {
    mib[IPSTATS_MIB_INTRUNCATEDPKTS]++;
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  if (len < hlen) return inhdr_error(skb, mib);
  // pskb_trim_rcsum(): Ethernet pads short frames; the datagram ends at its total length.
  skb.trim(len);
  skb.transport_header = nh + hlen;
  return ip_rcv_finish(skb, dev);
}

function inhdr_error(skb: SkBuff, mib: Float64Array): number {
  mib[IPSTATS_MIB_INHDRERRORS]++;
  kfree_skb(skb);
  return NET_RX_DROP;
}

function get32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/**
 * ip_rcv_finish() (ip_rcv_finish_core + dst_input): route the packet unless it already has a
 * route, compile its options, count broadcasts, and pass it on: local delivery, forwarding, or
 * ip_error.
 */
function ip_rcv_finish(skb: SkBuff, dev: NetDevice): number {
  const net = dev.nd_net;
  const h = skb.head;
  const nh = skb.network_header;
  if (!skb.dst) {
    const err = ip_route_input(skb, get32(h, nh + 16), get32(h, nh + 12), h[nh + 1], dev);
    if (err) {
      kfree_skb(skb);
      return NET_RX_DROP;
    }
  }
  const ihl = h[nh] & 0x0f;
  if (ihl > 5) {
    const s2 = ip_rcv_options(skb, dev);
    if (!s2) return NET_RX_DROP;
    skb = s2;
  } else ip_rcv_opt.optlen = 0;
  const rt = skb.dst as Rtable;
  if (rt.rt_type === RTN_BROADCAST)
    IP_UPD_PO_STATS(net, IPSTATS_MIB_INBCASTPKTS, IPSTATS_MIB_INBCASTOCTETS, skb.len);
  return dst_input(skb, rt);
}

/** dst_input(): what the route says to do with the packet. */
export function dst_input(skb: SkBuff, rt: Rtable): number {
  switch (rt.input) {
    case DST_INPUT_FORWARD:
      return ip_forward(skb);
    case DST_INPUT_ERROR:
      return ip_error(skb, rt);
    default:
      return ip_local_deliver(skb);
  }
}

/** The host context ip_options_compile needs for a received packet, reused for every packet. */
let opt_net: Net | null = null;
const opt_stamp = { specDst: 0, time: 0 };
const opt_ctx: IpOptionsContext = {
  stamp: opt_stamp,
  isRemoteUnicast: (a: number) => opt_net !== null && inet_addr_type(opt_net, a) === RTN_UNICAST,
};

/** inet_current_timestamp(): milliseconds since midnight UT (RFC 791 timestamp), from the world clock. */
export function inet_current_timestamp(net: Net): number {
  return Math.floor(net.kernel.clock.now() / 1e6) % 86_400_000;
}

/**
 * ip_rcv_options(): make the header private (skb_cow), compile the options and fill in what a
 * receiver fills in — our address in record route and address timestamps (spec_dst: the
 * destination when local, else our address towards the sender), the time in timestamps. Bad
 * options: InHdrErrors and a parameter problem to the sender. A source-routed packet for us is
 * dropped unless accept_source_route. Returns the (maybe copied) skb, or null when dropped.
 */
function ip_rcv_options(skb: SkBuff, dev: NetDevice): SkBuff | null {
  if (skb.cloned) skb = skb_unshare(skb);
  const net = dev.nd_net;
  const h = skb.head;
  const nh = skb.network_header;
  const optlen = ((h[nh] & 0x0f) << 2) - 20;
  const rt = skb.dst as Rtable;
  opt_net = net;
  opt_stamp.specDst =
    rt.rt_flags & RTCF_LOCAL ? get32(h, nh + 16) : inet_select_addr(dev, get32(h, nh + 12), 0);
  opt_stamp.time = inet_current_timestamp(net);
  const pp = ipOptionsCompile(h, nh + 20, optlen, ip_rcv_opt, 'packet', opt_ctx);
  opt_net = null;
  if (pp) {
    icmp_send(skb, ICMP_PARAMETERPROB, 0, pp);
    IP_INC_STATS(net, IPSTATS_MIB_INHDRERRORS);
    kfree_skb(skb);
    return null;
  }
  if (ip_rcv_opt.srr) {
    const in_dev = in_dev_get(dev);
    // ip_options_rcv_srr() applies to packets for us; with source routing off, drop them.
    if (in_dev && !in_dev.cnf.accept_source_route && rt.rt_flags & RTCF_LOCAL) {
      kfree_skb(skb);
      return null;
    }
  }
  return skb;
}

/**
 * ip_error(): a packet we have no route for. Not forwarding: InAddrErrors (not our address) or
 * InNoRoutes. Forwarding: ICMP destination unreachable to the sender.
 */
function ip_error(skb: SkBuff, rt: Rtable): number {
  const dev = skb.dev!;
  const net = dev.nd_net;
  const in_dev = in_dev_get(dev);
  if (in_dev) {
    if (!in_dev.cnf.forwarding) {
      if (rt.error === E.EHOSTUNREACH) IP_INC_STATS(net, IPSTATS_MIB_INADDRERRORS);
      else if (rt.error === E.ENETUNREACH) IP_INC_STATS(net, IPSTATS_MIB_INNOROUTES);
    } else {
      let code = -1;
      if (rt.error === E.EHOSTUNREACH) code = ICMP_HOST_UNREACH;
      else if (rt.error === E.ENETUNREACH) {
        code = ICMP_NET_UNREACH;
        IP_INC_STATS(net, IPSTATS_MIB_INNOROUTES);
      } else if (rt.error === E.EACCES) code = ICMP_PKT_FILTERED;
      if (code >= 0) icmp_send(skb, ICMP_DEST_UNREACH, code, 0);
    }
  }
  kfree_skb(skb);
  return NET_RX_DROP;
}

/**
 * ip_local_deliver(): reassemble first (a fragment waits in its queue), then deliver the whole
 * datagram.
 */
export function ip_local_deliver(skb: SkBuff): number {
  const h = skb.head;
  const nh = skb.network_header;
  // ip_is_fragment(): MF set or a non-zero offset.
  if (((h[nh + 6] << 8) | h[nh + 7]) & 0x3fff) {
    const net = skb.dev!.nd_net;
    skb.data = nh;
    const whole = ip_defrag(net, skb, IP_DEFRAG_LOCAL_DELIVER);
    if (!whole) return NET_RX_SUCCESS;
    skb = whole;
  }
  return ip_local_deliver_finish(skb);
}

/**
 * ip_local_deliver_finish() / ip_protocol_deliver_rcu(): raw sockets get their copies, then the
 * transport's handler the packet (data at the transport header). No handler and no raw socket:
 * InUnknownProtos and ICMP protocol unreachable.
 */
function ip_local_deliver_finish(skb: SkBuff): number {
  const net = skb.dev!.nd_net;
  const h = skb.head;
  const nh = skb.network_header;
  skb.data = nh + ((h[nh] & 0x0f) << 2);
  skb.transport_header = skb.data;
  let protocol = h[nh + 9];
  const raw = raw_deliver_hook(net);
  for (let loops = 0; loops < 8; loops++) {
    const delivered_raw = raw ? raw(skb, protocol) : false;
    const ipprot = inet_protos(net)[protocol];
    if (ipprot) {
      const ret = ipprot.handler(skb);
      if (ret < 0) {
        // A negative return resubmits the packet as protocol -ret.
        protocol = -ret;
        continue;
      }
      IP_INC_STATS(net, IPSTATS_MIB_INDELIVERS);
      return NET_RX_SUCCESS;
    }
    if (!delivered_raw) {
      IP_INC_STATS(net, IPSTATS_MIB_INUNKNOWNPROTOS);
      icmp_send(skb, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0);
      kfree_skb(skb);
      return NET_RX_DROP;
    }
    IP_INC_STATS(net, IPSTATS_MIB_INDELIVERS);
    kfree_skb(skb);
    return NET_RX_SUCCESS;
  }
  kfree_skb(skb);
  return NET_RX_DROP;
}
