// The Ethernet bridge (net/bridge: br_if.c, br_input.c, br_forward.c, br_device.c): a learning
// switch built from net devices. Its ports are other devices (veth ends); a frame received on a
// port teaches the FDB where its source lives, then goes to the one port behind its destination,
// or is flooded to every other port when the destination is unknown, broadcast or multicast —
// never back out the port it came in on. The bridge is a device itself: it can hold addresses,
// and frames for its own MAC go up its stack as if received on it. No STP: ports forward as
// soon as they and the bridge are up (br_make_forwarding with BR_NO_STP).

import { NetDevice, NETDEV_TX_OK, netif_running, type NetDeviceOps } from '../../net/core/netdevice.js';
import {
  CHECKSUM_COMPLETE,
  CHECKSUM_NONE,
  PACKET_BROADCAST,
  PACKET_HOST,
  PACKET_MULTICAST,
  PACKET_LOOPBACK,
  kfree_skb,
  skb_clone,
  type SkBuff,
} from '../../net/core/skbuff.js';
import {
  NETDEV_CHANGEADDR,
  NETDEV_CHANGEMTU,
  NETDEV_UNREGISTER,
  dev_queue_xmit,
  netif_receive_skb,
  register_netdevice,
  register_netdevice_notifier,
  unregister_netdevice,
} from '../../net/core/dev.js';
import { eth_hw_addr_random, ether_setup } from '../../net/ethernet/eth.js';
import type { Net } from '../../net/core/net_namespace.js';
import type { Clock } from '../../kernel/time.js';
import { NSEC_PER_SEC } from '../../kernel/time.js';
import * as E from '../../uapi/errno.js';
import { ARPHRD_ETHER, ETH_ALEN, ETH_DATA_LEN, ETH_HLEN, IFF_PROMISC } from '../../uapi/if.js';
import {
  BrFdb,
  br_fdb_add_local,
  br_fdb_delete_by_port,
  br_fdb_update,
  type NetBridgeFdbEntry,
} from './br_fdb.js';

/** BR_DEFAULT_AGEING_TIME: 300 s. */
export const BR_DEFAULT_AGEING_TIME = 300 * NSEC_PER_SEC;
/** VLAN_HLEN: is_skb_forwardable allows a tag's worth over the MTU. */
const VLAN_HLEN = 4;

/** struct net_bridge_port. */
export class NetBridgePort {
  /** BR_LEARNING and BR_FLOOD / BR_BCAST_FLOOD, on by default. */
  learning = true;
  flood = true;
  constructor(
    readonly br: NetBridge,
    readonly dev: NetDevice,
    readonly port_no: number,
  ) {}
}

/** struct net_bridge (netdev_priv of the bridge device). */
export class NetBridge {
  readonly port_list: NetBridgePort[] = [];
  readonly fdb: BrFdb;
  ageing_time = BR_DEFAULT_AGEING_TIME;
  /** addr_assign_type == NET_ADDR_SET: the address was set by hand and stays. */
  addr_set = false;
  /** The MTU was set by hand (BROPT_MTU_SET_BY_USER): ports no longer adjust it. */
  mtu_set = false;
  readonly clock: Clock;
  constructor(readonly dev: NetDevice) {
    this.clock = dev.nd_net.kernel.clock;
    this.fdb = new BrFdb(this);
  }
}

/** The bridge behind a bridge device, or null. */
export function netdev_bridge(dev: NetDevice): NetBridge | null {
  return dev.priv instanceof NetBridge ? dev.priv : null;
}

/** br_port_get_rcu(): the bridge port a device is, or null. */
export function br_port_get(dev: NetDevice): NetBridgePort | null {
  const br = dev.master ? netdev_bridge(dev.master) : null;
  if (!br) return null;
  for (const p of br.port_list) if (p.dev === dev) return p;
  return null;
}

function is_zero(h: Uint8Array, off: number): boolean {
  for (let i = 0; i < ETH_ALEN; i++) if (h[off + i] !== 0) return false;
  return true;
}

function ether_addr_equal(h: Uint8Array, off: number, a: Uint8Array): boolean {
  for (let i = 0; i < ETH_ALEN; i++) if (h[off + i] !== a[i]) return false;
  return true;
}

/** is_link_local_ether_addr(): 01:80:c2:00:00:0X, which 802.1D bridges must not forward. */
function is_link_local(h: Uint8Array, off: number): boolean {
  return (
    h[off] === 0x01 &&
    h[off + 1] === 0x80 &&
    h[off + 2] === 0xc2 &&
    h[off + 3] === 0 &&
    h[off + 4] === 0 &&
    (h[off + 5] & 0xf0) === 0
  );
}

/** A port forwards while it, its carrier and the bridge are up (BR_STATE_FORWARDING). */
function port_forwarding(p: NetBridgePort): boolean {
  return netif_running(p.dev) && p.dev.carrier && netif_running(p.br.dev);
}

/**
 * br_handle_frame(): the rx_handler of every port. Returns true when the bridge took the frame
 * (forwarded, passed up the bridge, or dropped), false to let the port's own stack have it.
 */
function br_handle_frame(p: NetBridgePort, skb: SkBuff): boolean {
  if (skb.pkt_type === PACKET_LOOPBACK) return false;
  const h = skb.head;
  const mac = skb.mac_header;
  // A multicast or all-zero source is no station: drop (is_valid_ether_addr).
  if (h[mac + ETH_ALEN] & 1 || is_zero(h, mac + ETH_ALEN)) {
    p.dev.stats.rx_dropped++;
    kfree_skb(skb);
    return true;
  }
  // Reserved 802.1D group addresses (IEEE 802.1D Table 7-10): with STP off the bridge group
  // address (BPDUs) is forwarded to keep loop detection working; pause frames are dropped; the
  // rest (LLDP, 802.1X…) are learned from but go to the port's own stack, not across.
  if (is_link_local(h, mac)) {
    const last = h[mac + 5];
    if (last === 0x01) {
      kfree_skb(skb);
      return true;
    }
    if (last !== 0x00) {
      if (p.learning) br_fdb_update(p.br, p, h, mac + ETH_ALEN);
      return false;
    }
  }
  if (!port_forwarding(p)) {
    kfree_skb(skb);
    return true;
  }
  const br = p.br;
  if (ether_addr_equal(h, mac, br.dev.dev_addr)) skb.pkt_type = PACKET_HOST;
  br_handle_frame_finish(br, p, skb);
  return true;
}

/** br_handle_frame_finish(): learn, then deliver locally, forward or flood. */
function br_handle_frame_finish(br: NetBridge, p: NetBridgePort, skb: SkBuff): void {
  const h = skb.head;
  const mac = skb.mac_header;
  if (p.learning) br_fdb_update(br, p, h, mac + ETH_ALEN);
  let local_rcv = (br.dev.flags & IFF_PROMISC) !== 0;
  let dst: NetBridgeFdbEntry | null = null;
  if (h[mac] & 1) {
    // Broadcast and (without multicast snooping) multicast: everyone, us included.
    local_rcv = true;
  } else {
    dst = br.fdb.find(h, mac);
  }
  if (dst) {
    if (dst.is_local) {
      br_pass_frame_up(br, skb);
      return;
    }
    dst.used = br.clock.now();
    br_forward(dst.dst, skb, local_rcv, false);
  } else {
    br_flood(br, skb, local_rcv, false);
  }
  if (local_rcv) br_pass_frame_up(br, skb);
}

/** br_pass_frame_up(): the frame is for the bridge device itself; receive it there. */
function br_pass_frame_up(br: NetBridge, skb: SkBuff): void {
  const brdev = br.dev;
  brdev.stats.rx_packets++;
  brdev.stats.rx_bytes += skb.len;
  if (skb.pkt_type === PACKET_BROADCAST || skb.pkt_type === PACKET_MULTICAST) brdev.stats.multicast++;
  skb.dev = brdev;
  netif_receive_skb(skb);
}

/** should_deliver(): not back where it came from, and only through a forwarding port. */
function should_deliver(p: NetBridgePort, skb: SkBuff): boolean {
  return skb.dev !== p.dev && port_forwarding(p);
}

/**
 * br_forward(): send to one port. With local_rcv the frame is still wanted locally, so a clone
 * goes out (deliver_clone).
 */
function br_forward(to: NetBridgePort | null, skb: SkBuff, local_rcv: boolean, local_orig: boolean): void {
  if (to && should_deliver(to, skb)) {
    __br_forward(to, local_rcv ? skb_clone(skb) : skb, local_orig);
    return;
  }
  if (!local_rcv) kfree_skb(skb);
}

/** br_flood(): to every port that floods, except the ingress one; the last gets the original. */
function br_flood(br: NetBridge, skb: SkBuff, local_rcv: boolean, local_orig: boolean): void {
  let prev: NetBridgePort | null = null;
  for (const p of br.port_list) {
    if (!p.flood || !should_deliver(p, skb)) continue;
    if (prev) __br_forward(prev, skb_clone(skb), local_orig);
    prev = p;
  }
  if (!prev) {
    if (!local_rcv) kfree_skb(skb);
    return;
  }
  __br_forward(prev, local_rcv ? skb_clone(skb) : skb, local_orig);
}

/** __br_forward() → br_forward_finish() → br_dev_queue_push_xmit(). */
function __br_forward(to: NetBridgePort, skb: SkBuff, local_orig: boolean): void {
  const dev = to.dev;
  // skb_forward_csum(): a receive-side checksum means nothing on the way out.
  if (!local_orig && skb.ip_summed === CHECKSUM_COMPLETE) skb.ip_summed = CHECKSUM_NONE;
  // is_skb_forwardable(): the payload must fit the egress device.
  if (!netif_running(dev) || skb.len > dev.mtu + dev.hard_header_len + VLAN_HLEN) {
    dev.stats.tx_dropped++;
    kfree_skb(skb);
    return;
  }
  skb.dev = dev;
  // Back to the Ethernet header the frame arrived with (skb_push(skb, ETH_HLEN)).
  skb.data = skb.mac_header;
  // br_forward_finish(): the arrival time is no departure time (skb_clear_tstamp).
  if (!local_orig) skb.tstamp = 0;
  dev_queue_xmit(skb);
}

/**
 * br_dev_xmit(): the bridge's own stack sends a frame: to the port its destination was learned
 * on, or to every port.
 */
function br_dev_xmit(skb: SkBuff, dev: NetDevice): number {
  const br = dev.priv as NetBridge;
  dev.stats.tx_packets++;
  dev.stats.tx_bytes += skb.len;
  skb.mac_header = skb.data;
  skb.pull(ETH_HLEN);
  const h = skb.head;
  const mac = skb.mac_header;
  if (h[mac] & 1) br_flood(br, skb, false, true);
  else {
    const dst = br.fdb.find(h, mac);
    if (dst) br_forward(dst.dst, skb, false, true);
    else br_flood(br, skb, false, true);
  }
  return NETDEV_TX_OK;
}

/** br_change_mtu(). */
function br_change_mtu(dev: NetDevice, _mtu: number): number {
  (dev.priv as NetBridge).mtu_set = true;
  return 0;
}

const br_netdev_ops: NetDeviceOps = { ndo_start_xmit: br_dev_xmit, ndo_change_mtu: br_change_mtu };

/**
 * br_add_bridge() (`ip link add NAME type bridge`): a bridge device with a random address, no
 * ports and no queue. Returns the device or a negative errno.
 */
export function br_add_bridge(net: Net, name: string): NetDevice | number {
  const dev = new NetDevice(name, net, br_netdev_ops);
  ether_setup(dev);
  dev.max_mtu = 65535;
  // IFF_NO_QUEUE: the ports' queues are where frames wait.
  dev.tx_queue_len = 0;
  dev.qdisc = null;
  eth_hw_addr_random(dev, net.kernel.prandom);
  const br = new NetBridge(dev);
  dev.priv = br;
  if (!notifier_nets.has(net)) {
    notifier_nets.add(net);
    register_netdevice_notifier(net, br_device_event);
  }
  const err = register_netdevice(dev);
  if (err) return err;
  br_fdb_add_local(br, null, dev.dev_addr);
  return dev;
}

const notifier_nets = new WeakSet<Net>();

/**
 * br_device_event(): the bridge follows what happens to its ports — a port that goes away
 * leaves the bridge, a new port MTU or address is taken into account.
 */
function br_device_event(event: number, dev: NetDevice): void {
  const p = br_port_get(dev);
  if (!p) return;
  const br = p.br;
  switch (event) {
    case NETDEV_UNREGISTER:
      br_del_if(br.dev, dev);
      break;
    case NETDEV_CHANGEMTU:
      br_mtu_auto_adjust(br);
      break;
    case NETDEV_CHANGEADDR:
      // br_fdb_changeaddr(): the port's local entry follows its address.
      for (const f of [...br.fdb.hash.values()]) if (f.dst === p && f.is_local) br.fdb.delete(f);
      br_fdb_add_local(br, p, dev.dev_addr);
      br_stp_recalculate_bridge_id(br);
      break;
  }
}

/** br_del_bridge(): release every port, then the device. */
export function br_del_bridge(dev: NetDevice): number {
  const br = netdev_bridge(dev);
  if (!br) return -E.EINVAL;
  for (const p of [...br.port_list]) br_del_if(dev, p.dev);
  dev.nd_net.kernel.clock.del_timer(br.fdb.gc_timer);
  unregister_netdevice(dev);
  return 0;
}

/**
 * br_add_if() (`ip link set DEV master BR`): make an Ethernet device a port. Loopback and
 * non-Ethernet devices are EINVAL, a bridge as its own port ELOOP, a device already enslaved
 * EBUSY.
 */
export function br_add_if(brdev: NetDevice, dev: NetDevice): number {
  const br = netdev_bridge(brdev);
  if (!br) return -E.EINVAL;
  if (dev === brdev) return -E.ELOOP;
  if (dev.type !== ARPHRD_ETHER || dev.addr_len !== ETH_ALEN || !dev.header_ops) return -E.EINVAL;
  if (netdev_bridge(dev)) return -E.ELOOP;
  if (dev.master || dev.rx_handler) return -E.EBUSY;
  if (dev.nd_net !== brdev.nd_net) return -E.EINVAL;
  let port_no = 1;
  while (br.port_list.some((p) => p.port_no === port_no)) port_no++;
  const p = new NetBridgePort(br, dev, port_no);
  br.port_list.push(p);
  dev.master = brdev;
  // A port hears every frame on its segment (dev_set_promiscuity(dev, 1)).
  dev.flags |= IFF_PROMISC;
  dev.rx_handler = (skb) => br_handle_frame(p, skb);
  br_fdb_add_local(br, p, dev.dev_addr);
  br_stp_recalculate_bridge_id(br);
  br_mtu_auto_adjust(br);
  return 0;
}

/** br_del_if() (`ip link set DEV nomaster`). */
export function br_del_if(brdev: NetDevice, dev: NetDevice): number {
  const br = netdev_bridge(brdev);
  const p = br ? br.port_list.find((q) => q.dev === dev) : undefined;
  if (!br || !p) return -E.EINVAL;
  br.port_list.splice(br.port_list.indexOf(p), 1);
  br_fdb_delete_by_port(br, p, true);
  // The bridge's own address may have been that port's: it stays local.
  if (!is_zero(brdev.dev_addr, 0)) br_fdb_add_local(br, null, brdev.dev_addr);
  dev.rx_handler = null;
  dev.master = null;
  dev.flags &= ~IFF_PROMISC;
  br_stp_recalculate_bridge_id(br);
  br_mtu_auto_adjust(br);
  return 0;
}

/**
 * br_stp_recalculate_bridge_id(): unless set by hand, the bridge takes the lowest address among
 * its ports, and its local FDB entry follows (br_fdb_change_mac_address).
 */
function br_stp_recalculate_bridge_id(br: NetBridge): void {
  if (br.addr_set) return;
  // With no ports left the address is all zeros, as Linux's br_mac_zero.
  let addr: Uint8Array = BR_MAC_ZERO;
  for (const p of br.port_list)
    if (addr === BR_MAC_ZERO || memcmp(p.dev.dev_addr, addr) < 0) addr = p.dev.dev_addr;
  if (memcmp(addr, br.dev.dev_addr) === 0) return;
  br_change_mac(br, addr);
}

const BR_MAC_ZERO = new Uint8Array(ETH_ALEN);

function br_change_mac(br: NetBridge, addr: Uint8Array): void {
  const old = br.fdb.find(br.dev.dev_addr, 0);
  // The old address stays local only if a port still has it.
  if (old && old.is_local && old.dst === null) br.fdb.delete(old);
  br.dev.dev_addr.set(addr);
  // fdb_add_local() refuses an invalid (zero) address.
  if (!is_zero(addr, 0)) br_fdb_add_local(br, null, br.dev.dev_addr);
}

/** br_set_mac_address() (`ip link set BR address …`): fixed from now on. */
export function br_set_mac_address(brdev: NetDevice, addr: Uint8Array): number {
  const br = netdev_bridge(brdev);
  if (!br || addr.length !== ETH_ALEN || addr[0] & 1 || is_zero(addr, 0)) return -E.EINVAL;
  br.addr_set = true;
  br_change_mac(br, addr);
  return 0;
}

/** br_mtu_auto_adjust(): the smallest port MTU, unless the MTU was set by hand. */
function br_mtu_auto_adjust(br: NetBridge): void {
  if (br.mtu_set) return;
  let mtu = br.port_list.length ? Infinity : ETH_DATA_LEN;
  for (const p of br.port_list) mtu = Math.min(mtu, p.dev.mtu);
  br.dev.mtu = mtu;
}

/** br_set_ageing_time() (`ip link set BR type bridge ageing_time …`, in ns here). */
export function br_set_ageing_time(brdev: NetDevice, ns: number): number {
  const br = netdev_bridge(brdev);
  if (!br || !(ns >= 0)) return -E.EINVAL;
  br.ageing_time = ns;
  return 0;
}

function memcmp(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ETH_ALEN; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** One row of `bridge fdb show br BR`. */
export interface BrFdbRow {
  mac: Uint8Array;
  /** The port's device name; null for the bridge's own address. */
  port: string | null;
  local: boolean;
  static: boolean;
  /** Seconds since the address was last seen. */
  ageing: number;
}

/** br_fdb_dump(): the FDB as `bridge fdb show` lists it. */
export function br_fdb_dump(brdev: NetDevice): BrFdbRow[] {
  const br = netdev_bridge(brdev);
  if (!br) return [];
  const now = br.clock.now();
  const rows: BrFdbRow[] = [];
  for (const f of br.fdb.hash.values())
    rows.push({
      mac: f.addr,
      port: f.dst ? f.dst.dev.name : null,
      local: f.is_local,
      static: f.is_static,
      ageing: (now - f.updated) / NSEC_PER_SEC,
    });
  return rows;
}
