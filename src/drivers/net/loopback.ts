// The loopback device (drivers/net/loopback.c): what it sends, it receives. MTU 64 KiB, no
// queue, and no checksums: packets never leave memory, so the stack marks them verified.

import { NetDevice, NETDEV_TX_OK, type NetDeviceOps } from '../../net/core/netdevice.js';
import { skb_orphan, type SkBuff } from '../../net/core/skbuff.js';
import { netif_rx, register_netdevice } from '../../net/core/dev.js';
import { eth_header_ops, eth_type_trans } from '../../net/ethernet/eth.js';
import type { Net } from '../../net/core/net_namespace.js';
import { ARPHRD_LOOPBACK, ETH_HLEN, IFF_LOOPBACK } from '../../uapi/if.js';

/** LOOPBACK_MTU: 64 KiB, as Linux since 3.6. */
export const LOOPBACK_MTU = 64 * 1024;

/** loopback_xmit(). */
function loopback_xmit(skb: SkBuff, dev: NetDevice): number {
  const len = skb.len;
  // ip_summed passes through untouched (loopback_xmit): what the sender left partial stays
  // partial and is trusted on receipt; what it checksummed in full is verified as usual.
  // The departure time means nothing on receipt, and the sender gets its memory back now.
  skb.tstamp = 0;
  skb_orphan(skb);
  skb.protocol = eth_type_trans(skb, dev);
  dev.stats.tx_packets++;
  dev.stats.tx_bytes += len;
  dev.stats.rx_packets++;
  dev.stats.rx_bytes += len;
  netif_rx(skb);
  return NETDEV_TX_OK;
}

const loopback_ops: NetDeviceOps = { ndo_start_xmit: loopback_xmit };

/** loopback_net_init(): every namespace gets its `lo`. */
export function loopback_net_init(net: Net): NetDevice {
  const dev = new NetDevice('lo', net, loopback_ops);
  dev.type = ARPHRD_LOOPBACK;
  dev.mtu = LOOPBACK_MTU;
  dev.min_mtu = 0;
  dev.max_mtu = LOOPBACK_MTU;
  dev.hard_header_len = ETH_HLEN;
  dev.header_ops = eth_header_ops;
  dev.addr_len = 6;
  dev.dev_addr.fill(0);
  dev.broadcast.fill(0);
  dev.flags = IFF_LOOPBACK;
  dev.tx_queue_len = 0;
  dev.qdisc = null;
  register_netdevice(dev);
  return dev;
}
