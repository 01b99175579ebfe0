// The Intermediate Functional Block device (drivers/net/ifb.c): what is redirected to it from
// another device's ingress (tc's `mirred egress redirect dev ifb0`) goes through its queue
// discipline and comes back to that device as received, so a qdisc such as netem can shape
// what a device receives. Here the redirect is set on the receiving driver (tapbr_set_ingress),
// the one place frames from outside enter.

import { NetDevice, NETDEV_TX_OK, type NetDeviceOps } from '../../net/core/netdevice.js';
import { kfree_skb, type SkBuff } from '../../net/core/skbuff.js';
import { netif_rx, register_netdevice } from '../../net/core/dev.js';
import { eth_hw_addr_random, eth_type_trans, ether_setup } from '../../net/ethernet/eth.js';
import type { Net } from '../../net/core/net_namespace.js';
import { ETH_HLEN, IFF_UP } from '../../uapi/if.js';

/** struct ifb_dev_private: the device each frame returns to. */
export interface IfbPriv {
  /** The device whose ingress is redirected here (skb->skb_iif on Linux). */
  from: NetDevice | null;
}

/**
 * ifb_xmit() and ifb_ri_tasklet(): the frame, now released by the qdisc, is received by the
 * device it was redirected from, as if it had just arrived there.
 */
function ifb_xmit(skb: SkBuff, dev: NetDevice): number {
  const from = (dev.priv as IfbPriv).from;
  const len = skb.len;
  if (!from || !(from.flags & IFF_UP)) {
    dev.stats.tx_dropped++;
    kfree_skb(skb);
    return NETDEV_TX_OK;
  }
  dev.stats.tx_packets++;
  dev.stats.tx_bytes += len;
  skb.dst = null;
  skb.protocol = eth_type_trans(skb, from);
  netif_rx(skb);
  return NETDEV_TX_OK;
}

const ifb_netdev_ops: NetDeviceOps = { ndo_start_xmit: ifb_xmit };

/** ifb_setup() + register: an ifb device in `net` returning frames to `from`. */
export function ifb_newlink(net: Net, name: string, from: NetDevice): NetDevice | number {
  const dev = new NetDevice(name, net, ifb_netdev_ops);
  ether_setup(dev);
  dev.max_mtu = 65535 - ETH_HLEN;
  dev.mtu = from.mtu;
  dev.qdisc = null;
  eth_hw_addr_random(dev, net.kernel.prandom);
  dev.priv = { from } satisfies IfbPriv;
  const err = register_netdevice(dev);
  return err ? err : dev;
}
