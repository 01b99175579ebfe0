// An Ethernet device whose wire is a frame pipe to the outside world: each frame it sends is
// handed whole to the pipe (a Linux TAP device through a relay, or passt), each frame the pipe
// delivers is received as if from a wire. Like the tun driver seen from the other side
// (drivers/net/tun.c: tun_net_xmit puts a frame on the fd's queue, tun_get_user receives one).
// What comes from outside is not trusted: runts, oversized frames and frames that are not
// Ethernet are counted in the device's error counters and dropped.

import { NetDevice, NETDEV_TX_OK, type NetDeviceOps } from '../../net/core/netdevice.js';
import { kfree_skb, netdev_alloc_skb, skb_orphan, type SkBuff } from '../../net/core/skbuff.js';
import { dev_queue_xmit, netif_rx, register_netdevice } from '../../net/core/dev.js';
import { eth_hw_addr_random, eth_type_trans, ether_setup } from '../../net/ethernet/eth.js';
import type { Net } from '../../net/core/net_namespace.js';
import * as E from '../../uapi/errno.js';
import { ETH_HLEN, IFF_UP } from '../../uapi/if.js';

/** Where the frames go: one call per frame, the bytes valid only during the call. */
export interface FramePipe {
  xmit(frame: Uint8Array): void;
}

/** The driver's private state (netdev_priv). */
export interface TapbrPriv {
  pipe: FramePipe | null;
  /** An ifb device the received frames are redirected to (ingress shaping), or null. */
  ingress: NetDevice | null;
}

/** NET_IP_ALIGN: headroom so that the IP header of a received frame is 4-byte aligned. */
const NET_IP_ALIGN = 2;

function tapbr_priv(dev: NetDevice): TapbrPriv {
  return dev.priv as TapbrPriv;
}

/** tapbr_xmit(): the frame leaves for the pipe, whole (tun_net_xmit). */
function tapbr_xmit(skb: SkBuff, dev: NetDevice): number {
  const pipe = tapbr_priv(dev).pipe;
  const len = skb.len;
  if (!pipe || !dev.carrier) {
    dev.stats.tx_dropped++;
    kfree_skb(skb);
    return NETDEV_TX_OK;
  }
  skb_orphan(skb);
  pipe.xmit(skb.bytes());
  dev.stats.tx_packets++;
  dev.stats.tx_bytes += len;
  kfree_skb(skb);
  return NETDEV_TX_OK;
}

const tapbr_netdev_ops: NetDeviceOps = { ndo_start_xmit: tapbr_xmit };

/** Create the device in `net` (name may be a "%d" pattern), with a random local MAC. */
export function tapbr_newlink(net: Net, name: string, pipe: FramePipe): NetDevice | number {
  const dev = new NetDevice(name, net, tapbr_netdev_ops);
  ether_setup(dev);
  dev.max_mtu = 65535 - ETH_HLEN;
  dev.qdisc = null;
  eth_hw_addr_random(dev, net.kernel.prandom);
  dev.priv = { pipe, ingress: null } satisfies TapbrPriv;
  const err = register_netdevice(dev);
  return err ? err : dev;
}

/**
 * Redirect what the device receives through `ifb` (its qdisc, then back here), as
 * `tc filter add dev DEV ingress … action mirred egress redirect dev ifb0` does; null: direct.
 */
export function tapbr_set_ingress(dev: NetDevice, ifb: NetDevice | null): void {
  tapbr_priv(dev).ingress = ifb;
}

/** Detach the pipe: later frames are dropped both ways. */
export function tapbr_detach(dev: NetDevice): void {
  tapbr_priv(dev).pipe = null;
}

/**
 * tapbr_rx(): a frame from the pipe (tun_get_user). Returns 0, or -EINVAL for a frame that is
 * too short or too long (counted as a length error), -ENETDOWN when the device is down.
 */
export function tapbr_rx(dev: NetDevice, frame: Uint8Array): number {
  if (!(dev.flags & IFF_UP) || !tapbr_priv(dev).pipe) {
    dev.stats.rx_dropped++;
    return -E.ENETDOWN;
  }
  if (frame.length < ETH_HLEN || frame.length > ETH_HLEN + dev.mtu + 4) {
    dev.stats.rx_length_errors++;
    dev.stats.rx_errors++;
    return -E.EINVAL;
  }
  const skb = netdev_alloc_skb(NET_IP_ALIGN, frame.length);
  skb.head.set(frame, skb.put(frame.length));
  skb.dev = dev;
  const proto = eth_type_trans(skb, dev);
  if (proto < 0) {
    dev.stats.rx_frame_errors++;
    dev.stats.rx_errors++;
    kfree_skb(skb);
    return -E.EINVAL;
  }
  skb.protocol = proto;
  dev.stats.rx_packets++;
  dev.stats.rx_bytes += frame.length;
  if (skb.pkt_type === 2 || skb.pkt_type === 1) dev.stats.multicast++;
  const ifb = tapbr_priv(dev).ingress;
  if (ifb && ifb.flags & IFF_UP) {
    // act_mirred at ingress: the MAC header goes back on and the frame leaves through the ifb.
    skb.push(ETH_HLEN);
    skb.dev = ifb;
    dev_queue_xmit(skb);
    return 0;
  }
  netif_rx(skb);
  return 0;
}
