// Neighbours (net/core/neighbour.c): the link-layer address behind a next hop. Devices without
// ARP (loopback, IFF_NOARP) need none: the frame goes out with the device's own header.
// ARP-resolved neighbours (states, resolution queue, timers) are implemented in
// net/ipv4/arp.ts, which installs itself here.

import type { NetDevice } from './netdevice.js';
import { kfree_skb, type SkBuff } from './skbuff.js';
import { dev_queue_xmit } from './dev.js';
import { ETH_P_IP, IFF_LOOPBACK, IFF_NOARP } from '../../uapi/if.js';
import * as E from '../../uapi/errno.js';

/** How a family resolves next hops on devices that need it (ARP for IPv4). */
export interface NeighResolver {
  /** Send `skb` (network header built) to `nexthop` on `dev`, resolving it first if needed. */
  output(dev: NetDevice, nexthop: number, skb: SkBuff): number;
}

let arp_resolver: NeighResolver | null = null;

/** Installed by the ARP module at load. */
export function neigh_set_arp_resolver(r: NeighResolver): void {
  arp_resolver = r;
}

/**
 * neigh_xmit(): send an IPv4 packet to `nexthop` on `dev`. Loopback and NOARP devices build the
 * header directly (neigh_direct_output); others go through ARP.
 */
export function neigh_xmit(dev: NetDevice, nexthop: number, skb: SkBuff): number {
  skb.dev = dev;
  skb.protocol = ETH_P_IP;
  if (dev.flags & (IFF_LOOPBACK | IFF_NOARP) || !dev.header_ops) {
    if (dev.header_ops) dev.header_ops.create(skb, dev, ETH_P_IP, null, null);
    return dev_queue_xmit(skb);
  }
  if (!arp_resolver) {
    kfree_skb(skb);
    return -E.EHOSTUNREACH;
  }
  return arp_resolver.output(dev, nexthop, skb);
}
