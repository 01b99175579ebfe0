// Forwarding (net/ipv4/ip_forward.c): a router passes on a packet not addressed to it — TTL
// decremented with an incremental checksum update (RFC 1624), time exceeded at TTL 1, and
// "fragmentation needed" when DF forbids cutting a packet the next link cannot carry.

import { NET_RX_DROP, NET_RX_SUCCESS } from '../core/dev.js';
import { CHECKSUM_NONE, PACKET_HOST, SkBuff, kfree_skb, skb_unshare } from '../core/skbuff.js';
import {
  ICMP_DEST_UNREACH,
  ICMP_EXC_TTL,
  ICMP_FRAG_NEEDED,
  ICMP_SR_FAILED,
  ICMP_TIME_EXCEEDED,
} from '../../wire/icmp.js';
import { icmp_send } from './icmp.js';
import {
  IPSTATS_MIB_FRAGFAILS,
  IPSTATS_MIB_INHDRERRORS,
  IPSTATS_MIB_OUTFORWDATAGRAMS,
  IP_INC_STATS,
} from './snmp.js';
import { type Rtable, RT_SCOPE_UNIVERSE, ip_dst_mtu_maybe_forward, rt_nexthop } from './route.js';
import { ip_output, ip_send_check } from './ip_output.js';
import { inet_select_addr } from './devinet.js';
import { ip_rcv_opt } from './ip_input.js';

/** ip_decrease_ttl(): TTL - 1, checksum + 0x0100 with end-around carry (RFC 1624). */
export function ip_decrease_ttl(buf: Uint8Array, off: number): number {
  let check = (buf[off + 10] << 8) | buf[off + 11];
  check += 0x0100;
  check = (check + (check >= 0xffff ? 1 : 0)) & 0xffff;
  buf[off + 10] = check >>> 8;
  buf[off + 11] = check & 0xff;
  return --buf[off + 8];
}

/**
 * ip_forward_options(): a router records the address of the interface it sends by (RFC 791
 * record route; ip_rt_get_source) in the slot the receive side filled, for record route and
 * address timestamps, and the header checksum is computed again.
 */
function ip_forward_options(skb: SkBuff, rt: Rtable): void {
  const h = skb.head;
  const nh = skb.network_header;
  const daddr = ((h[nh + 16] << 24) | (h[nh + 17] << 16) | (h[nh + 18] << 8) | h[nh + 19]) >>> 0;
  const src = inet_select_addr(rt.dev, rt_nexthop(rt, daddr), RT_SCOPE_UNIVERSE);
  const put = (at: number): void => {
    h[at] = src >>> 24;
    h[at + 1] = (src >>> 16) & 0xff;
    h[at + 2] = (src >>> 8) & 0xff;
    h[at + 3] = src & 0xff;
  };
  const o = ip_rcv_opt;
  if (o.rrNeedaddr) put(nh + o.rr + h[nh + o.rr + 2] - 5);
  if (o.tsNeedaddr) put(nh + o.ts + h[nh + o.ts + 2] - 9);
  ip_send_check(h, nh);
}

/**
 * ip_forward(): checks in Linux's order, then ip_forward_finish → ip_output. TTL ≤ 1 counts
 * InHdrErrors and answers time exceeded; DF and too big counts FragFails and answers
 * fragmentation needed with the next hop's MTU.
 */
export function ip_forward(skb: SkBuff): number {
  const dev = skb.dev!;
  const net = dev.nd_net;
  const rt = skb.dst as Rtable;
  // Only packets addressed to our MAC are routed (not broadcasts caught on the way).
  if (skb.pkt_type !== PACKET_HOST || skb.sk) {
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  skb.ip_summed = CHECKSUM_NONE; // skb_forward_csum()
  const h = skb.head;
  const nh = skb.network_header;
  if (h[nh + 8] <= 1) {
    IP_INC_STATS(net, IPSTATS_MIB_INHDRERRORS);
    icmp_send(skb, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0);
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  if (ip_rcv_opt.optlen && ip_rcv_opt.isStrictroute && rt.rt_uses_gateway) {
    icmp_send(skb, ICMP_DEST_UNREACH, ICMP_SR_FAILED, 0);
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  const mtu = ip_dst_mtu_maybe_forward(net, rt, true);
  const len = skb.tail - nh;
  // ip_exceeds_mtu(): DF set and larger than the next link carries.
  if (len > mtu && h[nh + 6] & 0x40) {
    IP_INC_STATS(net, IPSTATS_MIB_FRAGFAILS);
    icmp_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu);
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  // skb_cow(): we are about to write the header.
  skb = skb_unshare(skb);
  ip_decrease_ttl(skb.head, skb.network_header);
  if (ip_rcv_opt.optlen) ip_forward_options(skb, rt);
  // ip_forward_finish()
  IP_INC_STATS(net, IPSTATS_MIB_OUTFORWDATAGRAMS);
  // The arrival time is no departure time for the egress qdisc (skb_clear_tstamp).
  skb.tstamp = 0;
  skb.data = skb.network_header;
  ip_output(net, null, skb);
  return NET_RX_SUCCESS;
}
