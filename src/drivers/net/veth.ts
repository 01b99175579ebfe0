// Virtual Ethernet pairs (drivers/net/veth.c): a frame sent on one end is received on the
// other. The ends may sit in different hosts; that is how usernet wires hosts together.

import { NetDevice, NETDEV_TX_OK, type NetDeviceOps } from '../../net/core/netdevice.js';
import { kfree_skb, skb_orphan, type SkBuff } from '../../net/core/skbuff.js';
import { netif_rx, register_netdevice } from '../../net/core/dev.js';
import { eth_hw_addr_random, eth_type_trans, ether_setup } from '../../net/ethernet/eth.js';
import type { Net } from '../../net/core/net_namespace.js';
import { ETH_HLEN, IFF_UP } from '../../uapi/if.js';

/** struct veth_priv. */
export interface VethPriv {
  peer: NetDevice | null;
}

function veth_peer(dev: NetDevice): NetDevice | null {
  return (dev.priv as VethPriv).peer;
}

/** veth_xmit(): hand the frame to the peer, which receives it as if from a wire. */
function veth_xmit(skb: SkBuff, dev: NetDevice): number {
  const rcv = veth_peer(dev);
  const len = skb.len;
  if (!rcv || !(rcv.flags & IFF_UP) || !dev.carrier || !rcv.carrier) {
    dev.stats.tx_dropped++;
    kfree_skb(skb);
    return NETDEV_TX_OK;
  }
  // The frame crosses into another device (and maybe another host): skb_orphan() gives the
  // sender its buffer space back, and the route stays behind.
  skb_orphan(skb);
  skb.dst = null;
  const proto = eth_type_trans(skb, rcv);
  if (proto < 0 || len - ETH_HLEN > rcv.mtu) {
    rcv.stats.rx_length_errors++;
    rcv.stats.rx_errors++;
    kfree_skb(skb);
    return NETDEV_TX_OK;
  }
  skb.protocol = proto;
  dev.stats.tx_packets++;
  dev.stats.tx_bytes += len;
  rcv.stats.rx_packets++;
  rcv.stats.rx_bytes += len;
  if (skb.pkt_type === 2 || skb.pkt_type === 1) rcv.stats.multicast++;
  netif_rx(skb);
  return NETDEV_TX_OK;
}

const veth_netdev_ops: NetDeviceOps = { ndo_start_xmit: veth_xmit };

/** veth_newlink(): create the pair `a` (in netA) and `b` (in netB). */
export function veth_newlink(
  netA: Net,
  nameA: string,
  netB: Net,
  nameB: string,
): [NetDevice, NetDevice] | number {
  const a = new NetDevice(nameA, netA, veth_netdev_ops);
  const b = new NetDevice(nameB, netB, veth_netdev_ops);
  for (const [d, net] of [
    [a, netA],
    [b, netB],
  ] as const) {
    ether_setup(d);
    d.max_mtu = 65535;
    d.tx_queue_len = 1000;
    d.qdisc = null;
    eth_hw_addr_random(d, net.kernel.prandom);
  }
  a.priv = { peer: b } satisfies VethPriv;
  b.priv = { peer: a } satisfies VethPriv;
  let err = register_netdevice(a);
  if (err) return err;
  err = register_netdevice(b);
  if (err) return err;
  return [a, b];
}
