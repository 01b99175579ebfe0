// The device layer (net/core/dev.c): registering interfaces, bringing them up and down, sending
// through the queue discipline (dev_queue_xmit) and receiving (netif_rx → the backlog →
// __netif_receive_skb → the protocol handlers registered with dev_add_pack).

import { NetDevice, NET_XMIT_DROP, NET_XMIT_SUCCESS, NETDEV_TX_OK, type Qdisc } from './netdevice.js';
import { SkBuff, SkBuffHead, kfree_skb, skb_clone } from './skbuff.js';
import type { Net } from './net_namespace.js';
import { Timer } from '../../kernel/time.js';
import { raise_softirq } from '../../kernel/softirq.js';
import * as E from '../../uapi/errno.js';
import { IFF_UP, IFF_RUNNING, IFF_LOWER_UP, IFNAMSIZ } from '../../uapi/if.js';

/** struct packet_type: a handler for one link-level protocol (ETH_P_*). */
export interface PacketType {
  type: number;
  /** Restrict to one device (null: every device). */
  dev: NetDevice | null;
  func(skb: SkBuff, dev: NetDevice, pt: PacketType, orig_dev: NetDevice): number;
}

/** Netdevice notifier events (include/linux/netdevice.h). */
export const NETDEV_UP = 0x0001;
export const NETDEV_DOWN = 0x0002;
export const NETDEV_REGISTER = 0x0005;
export const NETDEV_UNREGISTER = 0x0006;
export const NETDEV_CHANGEMTU = 0x0007;
export const NETDEV_CHANGEADDR = 0x0008;
export const NETDEV_CHANGE = 0x0004;

export type NetdevNotifier = (event: number, dev: NetDevice) => void;

/** NET_RX_SUCCESS / NET_RX_DROP. */
export const NET_RX_SUCCESS = 0;
export const NET_RX_DROP = 1;

/** The device state of a namespace: interfaces, handlers, notifiers and the receive backlog. */
export class NetDevState {
  readonly dev_base: NetDevice[] = [];
  readonly by_index = new Map<number, NetDevice>();
  readonly by_name = new Map<string, NetDevice>();
  ifindex = 0;
  readonly ptype_base = new Map<number, PacketType[]>();
  readonly netdev_chain: NetdevNotifier[] = [];
  /** struct softnet_data: packets handed to netif_rx, waiting for net_rx_action. */
  readonly backlog = new SkBuffHead();
  /** /proc/net/softnet_stat: processed, dropped (backlog full), time_squeeze. */
  readonly softnet = { processed: 0, dropped: 0, time_squeeze: 0 };
  /** net.core.netdev_max_backlog, net.core.netdev_budget. */
  sysctl_netdev_max_backlog = 1000;
  sysctl_netdev_budget = 300;
  /** The NET_RX softirq of this namespace, and its fallback timer at the current instant. */
  readonly rx_softirq: () => void;
  readonly rx_timer: Timer;
  constructor(readonly net: Net) {
    this.rx_softirq = () => net_rx_action(net);
    this.rx_timer = new Timer(() => net_rx_action(net));
  }
}

declare module './net_namespace.js' {
  interface Net {
    /** The device state (netdev_state), on the namespace itself: every packet reads it. */
    netdev?: NetDevState;
  }
}

export function netdev_state(net: Net): NetDevState {
  return net.netdev ?? netdev_state_init(net);
}

function netdev_state_init(net: Net): NetDevState {
  let s = net.netdev;
  if (!s) {
    s = new NetDevState(net);
    net.netdev = s;
    const k = net.kernel.sysctl;
    const st = s;
    k.register('net.core.netdev_max_backlog', {
      get: () => st.sysctl_netdev_max_backlog,
      set: (v) => (st.sysctl_netdev_max_backlog = v),
      min: 0,
      max: 0x7fffffff,
    });
    k.register('net.core.netdev_budget', {
      get: () => st.sysctl_netdev_budget,
      set: (v) => (st.sysctl_netdev_budget = v),
      min: 1,
      max: 0x7fffffff,
    });
  }
  return s;
}

/** register_netdevice_notifier(). */
export function register_netdevice_notifier(net: Net, fn: NetdevNotifier): void {
  netdev_state(net).netdev_chain.push(fn);
}

function call_netdevice_notifiers(event: number, dev: NetDevice): void {
  for (const fn of netdev_state(dev.nd_net).netdev_chain) fn(event, dev);
}

/** dev_valid_name(). */
export function dev_valid_name(name: string): boolean {
  return name.length > 0 && name.length < IFNAMSIZ && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/** register_netdevice(): name it (a "%d" pattern takes the first free number), number it, announce it. */
export function register_netdevice(dev: NetDevice): number {
  const st = netdev_state(dev.nd_net);
  if (dev.name.includes('%d')) {
    let i = 0;
    while (st.by_name.has(dev.name.replace('%d', String(i)))) i++;
    dev.name = dev.name.replace('%d', String(i));
  }
  if (!dev_valid_name(dev.name)) return -E.EINVAL;
  if (st.by_name.has(dev.name)) return -E.EEXIST;
  dev.ifindex = ++st.ifindex;
  st.dev_base.push(dev);
  st.by_index.set(dev.ifindex, dev);
  st.by_name.set(dev.name, dev);
  call_netdevice_notifiers(NETDEV_REGISTER, dev);
  return 0;
}

/** unregister_netdevice(). */
export function unregister_netdevice(dev: NetDevice): void {
  dev_close(dev);
  const st = netdev_state(dev.nd_net);
  call_netdevice_notifiers(NETDEV_UNREGISTER, dev);
  st.dev_base.splice(st.dev_base.indexOf(dev), 1);
  st.by_index.delete(dev.ifindex);
  st.by_name.delete(dev.name);
}

export function dev_get_by_name(net: Net, name: string): NetDevice | null {
  return netdev_state(net).by_name.get(name) ?? null;
}

export function dev_get_by_index(net: Net, ifindex: number): NetDevice | null {
  return netdev_state(net).by_index.get(ifindex) ?? null;
}

/** dev_open(): IFF_UP, then NETDEV_UP for the protocols. */
export function dev_open(dev: NetDevice): number {
  if (dev.flags & IFF_UP) return 0;
  const err = dev.netdev_ops.ndo_open?.(dev) ?? 0;
  if (err) return err;
  dev.flags |= IFF_UP | IFF_RUNNING | (dev.carrier ? IFF_LOWER_UP : 0);
  call_netdevice_notifiers(NETDEV_UP, dev);
  return 0;
}

/** dev_close(): drop the queue, clear IFF_UP, NETDEV_DOWN. */
export function dev_close(dev: NetDevice): void {
  if (!(dev.flags & IFF_UP)) return;
  dev.netdev_ops.ndo_stop?.(dev);
  dev.qdisc?.reset();
  dev.flags &= ~(IFF_UP | IFF_RUNNING | IFF_LOWER_UP);
  call_netdevice_notifiers(NETDEV_DOWN, dev);
}

/** dev_set_mtu(). */
export function dev_set_mtu(dev: NetDevice, mtu: number): number {
  if (mtu < dev.min_mtu || mtu > dev.max_mtu) return -E.EINVAL;
  const err = dev.netdev_ops.ndo_change_mtu?.(dev, mtu) ?? 0;
  if (err) return err;
  dev.mtu = mtu;
  call_netdevice_notifiers(NETDEV_CHANGEMTU, dev);
  return 0;
}

/** netif_carrier_on/off(): the link below the device comes and goes. */
export function netif_carrier_set(dev: NetDevice, on: boolean): void {
  if (dev.carrier === on) return;
  dev.carrier = on;
  if (on && dev.flags & IFF_UP) dev.flags |= IFF_LOWER_UP;
  else dev.flags &= ~IFF_LOWER_UP;
  call_netdevice_notifiers(NETDEV_CHANGE, dev);
}

/** dev_add_pack(). */
export function dev_add_pack(net: Net, pt: PacketType): void {
  const st = netdev_state(net);
  let list = st.ptype_base.get(pt.type);
  if (!list) st.ptype_base.set(pt.type, (list = []));
  list.push(pt);
}

/** dev_remove_pack(). */
export function dev_remove_pack(net: Net, pt: PacketType): void {
  const list = netdev_state(net).ptype_base.get(pt.type);
  if (list) list.splice(list.indexOf(pt), 1);
}

/** dev_queue_xmit_nit(): show an outgoing frame to the device's capture taps. */
function dev_queue_xmit_nit(skb: SkBuff, dev: NetDevice): void {
  for (const tap of dev.taps) tap(skb, dev, true);
}

/** dev_hard_start_xmit(): hand one frame to the driver. */
function dev_hard_start_xmit(skb: SkBuff, dev: NetDevice): number {
  if (dev.taps.length) dev_queue_xmit_nit(skb, dev);
  return dev.netdev_ops.ndo_start_xmit(skb, dev);
}

/** qdisc_run(): send what the queue discipline releases now. */
export function qdisc_run(dev: NetDevice): void {
  const q = dev.qdisc;
  if (!q) return;
  let skb: SkBuff | null;
  while ((skb = q.dequeue())) {
    if (!(dev.flags & IFF_UP)) {
      kfree_skb(skb);
      continue;
    }
    dev_hard_start_xmit(skb, dev);
  }
}

/**
 * dev_queue_xmit(): send a frame whose link-layer header is built. A device without a queue
 * (loopback, veth) transmits at once; otherwise the qdisc decides when.
 */
export function dev_queue_xmit(skb: SkBuff): number {
  const dev = skb.dev!;
  if (!(dev.flags & IFF_UP)) {
    dev.stats.tx_dropped++;
    kfree_skb(skb);
    return -E.ENETDOWN;
  }
  // skb->tstamp is the sender's earliest departure time (TCP's EDT stamp), or 0: left as is.
  const q: Qdisc | null = dev.qdisc;
  if (!q) {
    const rc = dev_hard_start_xmit(skb, dev);
    return rc === NETDEV_TX_OK ? NET_XMIT_SUCCESS : NET_XMIT_DROP;
  }
  const rc = q.enqueue(skb, dev);
  qdisc_run(dev);
  return rc;
}

/**
 * netif_rx(): a driver received a frame (protocol and pkt_type already set by eth_type_trans).
 * It waits on the backlog until the receive softirq runs net_rx_action: when the kernel leaves
 * the call or timer that sent it (kernel/softirq.ts), as local_bh_enable runs it on Linux.
 */
export function netif_rx(skb: SkBuff): number {
  const dev = skb.dev!;
  const st = netdev_state(dev.nd_net);
  if (st.backlog.qlen >= st.sysctl_netdev_max_backlog) {
    st.softnet.dropped++;
    dev.stats.rx_dropped++;
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  st.backlog.tail(skb);
  // The receive softirq runs when the kernel leaves the sender's call or timer; the timer at
  // the same instant covers frames queued from outside the kernel.
  const clock = dev.nd_net.kernel.clock;
  raise_softirq(clock.softirq, st.rx_softirq);
  if (!clock.timer_pending(st.rx_timer)) clock.mod_timer(st.rx_timer, clock.now());
  return NET_RX_SUCCESS;
}

/** net_rx_action(): process the backlog, netdev_budget packets per pass. */
function net_rx_action(net: Net): void {
  const st = netdev_state(net);
  let budget = st.sysctl_netdev_budget;
  let skb: SkBuff | null;
  while (budget-- > 0 && (skb = st.backlog.dequeue())) {
    st.softnet.processed++;
    __netif_receive_skb(skb);
  }
  const clock = net.kernel.clock;
  if (!st.backlog.empty()) {
    st.softnet.time_squeeze++;
    raise_softirq(clock.softirq, st.rx_softirq);
    clock.mod_timer(st.rx_timer, clock.now());
  } else clock.del_timer(st.rx_timer);
}

/** netif_receive_skb(): deliver now, without the backlog. */
export function netif_receive_skb(skb: SkBuff): number {
  return __netif_receive_skb(skb);
}

/** __netif_receive_skb(): taps, a bridge port's rx handler, then the protocol handler. */
function __netif_receive_skb(skb: SkBuff): number {
  const dev = skb.dev!;
  skb.tstamp = dev.nd_net.kernel.clock.now();
  skb.skb_iif = dev.ifindex;
  for (const tap of dev.taps) tap(skb, dev, false);
  if (dev.rx_handler && dev.rx_handler(skb)) return NET_RX_SUCCESS;
  if (!(dev.flags & IFF_UP)) {
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  const list = netdev_state(dev.nd_net).ptype_base.get(skb.protocol);
  if (list) {
    // deliver_skb(): every matching handler gets the frame (a clone for all but the last).
    let prev: PacketType | null = null;
    for (const pt of list) {
      if (pt.dev && pt.dev !== dev) continue;
      if (prev) prev.func(skb_clone(skb), dev, prev, dev);
      prev = pt;
    }
    if (prev) return prev.func(skb, dev, prev, dev);
  }
  dev.stats.rx_nohandler++;
  kfree_skb(skb);
  return NET_RX_DROP;
}
