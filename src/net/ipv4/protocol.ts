// The IPv4 transport table (net/ipv4/protocol.c): inet_protos[] maps an IP protocol number to
// its receive handler and its ICMP error handler; raw sockets see packets first through the
// raw_local_deliver hook (net/ipv4/raw.c), installed by the raw socket module.

import type { Net } from '../core/net_namespace.js';
import type { SkBuff } from '../core/skbuff.js';
import * as E from '../../uapi/errno.js';

export const MAX_INET_PROTOS = 256;

/** struct net_protocol. */
export interface NetProtocol {
  /**
   * Take a packet whose data starts at the transport header (skb.transport_header set); the
   * handler owns it. 0 when consumed; a negative value -p resubmits it as protocol p
   * (ip_protocol_deliver_rcu), as encapsulations do.
   */
  handler(skb: SkBuff): number;
  /**
   * An ICMP error about a packet this protocol sent: `skb` holds the ICMP message with its data
   * at the quoted IP header; `info` is what icmp_unreach passes (the next-hop MTU for
   * frag-needed). Returns 0 or a negative errno.
   */
  err_handler?(skb: SkBuff, info: number): number;
}

/** raw_local_deliver(): give every raw socket of `protocol` a copy; true if any took one. */
export type RawDeliverFn = (skb: SkBuff, protocol: number) => boolean;

interface ProtoState {
  inet_protos: (NetProtocol | null)[];
  raw_deliver: RawDeliverFn | null;
}

declare module '../core/net_namespace.js' {
  interface Net {
    /** inet_protos[] and the raw delivery hook of this namespace. */
    inet_proto_state?: ProtoState;
  }
}

/** The namespace's inet_protos[] (made on first use). */
export function inet_protos(net: Net): (NetProtocol | null)[] {
  return (net.inet_proto_state ??= {
    inet_protos: new Array<NetProtocol | null>(MAX_INET_PROTOS).fill(null),
    raw_deliver: null,
  }).inet_protos;
}

/** inet_add_protocol(): -EBUSY (the kernel's cmpxchg failure) if the slot is taken. */
export function inet_add_protocol(net: Net, protocol: number, prot: NetProtocol): number {
  if (protocol < 0 || protocol >= MAX_INET_PROTOS) return -E.EINVAL;
  const t = inet_protos(net);
  if (t[protocol]) return -E.EBUSY;
  t[protocol] = prot;
  return 0;
}

/** inet_del_protocol(). */
export function inet_del_protocol(net: Net, protocol: number, prot: NetProtocol): number {
  const t = inet_protos(net);
  if (protocol < 0 || protocol >= MAX_INET_PROTOS || t[protocol] !== prot) return -E.EINVAL;
  t[protocol] = null;
  return 0;
}

/** Install the raw sockets' delivery hook (null removes it). */
export function set_raw_deliver(net: Net, fn: RawDeliverFn | null): void {
  inet_protos(net);
  net.inet_proto_state!.raw_deliver = fn;
}

/** The raw hook, or null. */
export function raw_deliver_hook(net: Net): RawDeliverFn | null {
  return net.inet_proto_state?.raw_deliver ?? null;
}
