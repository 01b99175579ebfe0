// struct net_device (include/linux/netdevice.h): a network interface — its identity, flags,
// link-layer addresses, operations, transmit queue discipline and the counters `ip -s link` shows.

import type { SkBuff } from './skbuff.js';
import type { Net } from './net_namespace.js';
import { ETH_ALEN } from '../../uapi/if.js';

/** ndo_start_xmit() results. */
export const NETDEV_TX_OK = 0;
export const NETDEV_TX_BUSY = 0x10;
/** qdisc enqueue / dev_queue_xmit() results. */
export const NET_XMIT_SUCCESS = 0;
export const NET_XMIT_DROP = 1;
export const NET_XMIT_CN = 2;

/** struct net_device_ops. */
export interface NetDeviceOps {
  ndo_open?(dev: NetDevice): number;
  ndo_stop?(dev: NetDevice): number;
  /** Take the frame: deliver it, queue it, or drop it (and count the drop). */
  ndo_start_xmit(skb: SkBuff, dev: NetDevice): number;
  ndo_change_mtu?(dev: NetDevice, mtu: number): number;
}

/** struct header_ops: building and reading the link-layer header. */
export interface HeaderOps {
  create(
    skb: SkBuff,
    dev: NetDevice,
    type: number,
    daddr: Uint8Array | null,
    saddr: Uint8Array | null,
  ): number;
  parse(skb: SkBuff, haddr: Uint8Array): number;
}

/** struct rtnl_link_stats64: the figures of `ip -s link`. */
export class NetDeviceStats {
  rx_packets = 0;
  tx_packets = 0;
  rx_bytes = 0;
  tx_bytes = 0;
  rx_errors = 0;
  tx_errors = 0;
  rx_dropped = 0;
  tx_dropped = 0;
  multicast = 0;
  collisions = 0;
  rx_length_errors = 0;
  rx_over_errors = 0;
  rx_crc_errors = 0;
  rx_frame_errors = 0;
  rx_fifo_errors = 0;
  rx_missed_errors = 0;
  tx_aborted_errors = 0;
  tx_carrier_errors = 0;
  tx_fifo_errors = 0;
  tx_heartbeat_errors = 0;
  tx_window_errors = 0;
  rx_nohandler = 0;
}

/** struct Qdisc: a transmit queue discipline (net/sched). */
export interface Qdisc {
  readonly id: string;
  /** Take a packet: NET_XMIT_SUCCESS, or NET_XMIT_DROP after freeing it. */
  enqueue(skb: SkBuff, dev: NetDevice): number;
  /** The next packet that may leave now, or null (a timed qdisc reschedules itself). */
  dequeue(): SkBuff | null;
  /** Packets queued. */
  readonly qlen: number;
  /** Drop everything (device down). */
  reset(): void;
  /** Counters (tc -s qdisc). */
  readonly stats: { packets: number; bytes: number; drops: number; overlimits: number; requeues: number };
}

/** What a capture tap sees: the frame and its direction. */
export type NetdevTap = (skb: SkBuff, dev: NetDevice, outgoing: boolean) => void;

/** struct net_device. */
export class NetDevice {
  ifindex = 0;
  flags = 0;
  /** IF_OPER_* via netif_carrier_on/off: a link that is down drops what it is given. */
  carrier = true;
  mtu = 1500;
  min_mtu = 68;
  max_mtu = 65535;
  type = 0;
  hard_header_len = 0;
  /** Headroom the device wants in front of the network header. */
  needed_headroom = 0;
  addr_len = ETH_ALEN;
  dev_addr = new Uint8Array(ETH_ALEN);
  broadcast = new Uint8Array(ETH_ALEN).fill(0xff);
  tx_queue_len = 1000;
  /** Transmit queue discipline; null = noqueue (virtual devices: straight to ndo_start_xmit). */
  qdisc: Qdisc | null = null;
  header_ops: HeaderOps | null = null;
  readonly stats = new NetDeviceStats();
  /** IPv4 configuration (struct in_device), set by the IPv4 layer. */
  ip_ptr: unknown = null;
  /** Capture taps (the ptype_all list of this device). */
  readonly taps: NetdevTap[] = [];
  /** Driver-private state (netdev_priv). */
  priv: unknown = null;
  /** A bridge port's master (netdev_master_upper_dev) and its rx handler. */
  rx_handler: ((skb: SkBuff) => boolean) | null = null;
  master: NetDevice | null = null;

  constructor(
    public name: string,
    public readonly nd_net: Net,
    public netdev_ops: NetDeviceOps,
  ) {}
}

/** netif_running(). */
export function netif_running(dev: NetDevice): boolean {
  return (dev.flags & 1) !== 0;
}
