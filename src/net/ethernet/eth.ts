// Ethernet (net/ethernet/eth.c): building the 14-byte header, reading it on receipt
// (eth_type_trans) and setting up an Ethernet device.

import type { SkBuff } from '../core/skbuff.js';
import { PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST, PACKET_OTHERHOST } from '../core/skbuff.js';
import type { HeaderOps, NetDevice } from '../core/netdevice.js';
import {
  ARPHRD_ETHER,
  ETH_ALEN,
  ETH_DATA_LEN,
  ETH_HLEN,
  IFF_BROADCAST,
  IFF_MULTICAST,
} from '../../uapi/if.js';
import type { Prandom } from '../../kernel/random.js';

/** eth_header(): push dst, src and type in front of the network header. */
export function eth_header(
  skb: SkBuff,
  dev: NetDevice,
  type: number,
  daddr: Uint8Array | null,
  saddr: Uint8Array | null,
): number {
  const off = skb.push(ETH_HLEN);
  const h = skb.head;
  const d = daddr ?? dev.broadcast;
  const s = saddr ?? dev.dev_addr;
  if (d.length === ETH_ALEN && s.length === ETH_ALEN) {
    // Byte by byte: for 6 bytes, cheaper than TypedArray.prototype.set's call into the runtime.
    for (let i = 0; i < ETH_ALEN; i++) {
      h[off + i] = d[i];
      h[off + ETH_ALEN + i] = s[i];
    }
  } else {
    h.set(d, off);
    h.set(s, off + ETH_ALEN);
  }
  h[off + 12] = type >> 8;
  h[off + 13] = type & 0xff;
  skb.mac_header = off;
  return ETH_HLEN;
}

/** eth_header_parse(): the source MAC. */
export function eth_header_parse(skb: SkBuff, haddr: Uint8Array): number {
  haddr.set(skb.head.subarray(skb.mac_header + ETH_ALEN, skb.mac_header + 2 * ETH_ALEN));
  return ETH_ALEN;
}

export const eth_header_ops: HeaderOps = { create: eth_header, parse: eth_header_parse };

function is_multicast(h: Uint8Array, off: number): boolean {
  return (h[off] & 1) !== 0;
}

function is_broadcast(h: Uint8Array, off: number): boolean {
  for (let i = 0; i < ETH_ALEN; i++) if (h[off + i] !== 0xff) return false;
  return true;
}

function equal_addr(h: Uint8Array, off: number, a: Uint8Array): boolean {
  for (let i = 0; i < ETH_ALEN; i++) if (h[off + i] !== a[i]) return false;
  return true;
}

/**
 * eth_type_trans(): on receipt, note the MAC header, classify the frame (host, broadcast,
 * multicast, other host), pull the header and return the EtherType. A frame shorter than the
 * header returns -1 (the driver counts and drops it).
 */
export function eth_type_trans(skb: SkBuff, dev: NetDevice): number {
  if (skb.len < ETH_HLEN) return -1;
  const h = skb.head;
  const off = skb.data;
  skb.dev = dev;
  skb.mac_header = off;
  if (is_multicast(h, off)) skb.pkt_type = is_broadcast(h, off) ? PACKET_BROADCAST : PACKET_MULTICAST;
  else skb.pkt_type = equal_addr(h, off, dev.dev_addr) ? PACKET_HOST : PACKET_OTHERHOST;
  skb.pull(ETH_HLEN);
  skb.network_header = skb.data;
  return (h[off + 12] << 8) | h[off + 13];
}

/** ether_setup(): the defaults of an Ethernet device. */
export function ether_setup(dev: NetDevice): void {
  dev.type = ARPHRD_ETHER;
  dev.header_ops = eth_header_ops;
  dev.hard_header_len = ETH_HLEN;
  dev.mtu = ETH_DATA_LEN;
  dev.min_mtu = 68;
  dev.max_mtu = ETH_DATA_LEN;
  dev.addr_len = ETH_ALEN;
  dev.tx_queue_len = 1000;
  dev.flags = IFF_BROADCAST | IFF_MULTICAST;
  dev.broadcast.fill(0xff);
}

/** eth_hw_addr_random(): a locally administered unicast address from the world's PRNG. */
export function eth_hw_addr_random(dev: NetDevice, rnd: Prandom): void {
  rnd.get_random_bytes(dev.dev_addr);
  dev.dev_addr[0] &= 0xfe; // unicast
  dev.dev_addr[0] |= 0x02; // locally administered
}

/** Format a MAC address as aa:bb:cc:dd:ee:ff. */
export function format_mac(a: Uint8Array): string {
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join(':');
}
