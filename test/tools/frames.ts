// Frames built by hand for the capture tests: Ethernet II carrying ARP, and IPv4 carrying UDP
// and ICMP echo, with every checksum right, sent through real devices with dev_queue_xmit.

import { dev_queue_xmit } from '../../src/net/core/dev.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import { netdev_alloc_skb } from '../../src/net/core/skbuff.js';
import { ArpRepr, ARPOP_REQUEST, ARPOP_REPLY } from '../../src/wire/arp.js';
import { ETH_HLEN, ETH_P_ARP, ETH_P_IP, macRead } from '../../src/wire/ethernet.js';
import { csum_partial, csum_tcpudp_magic, ip_compute_csum, ip_fast_csum } from '../../src/wire/checksum.js';
import { put16, put32 } from '../../src/wire/bytes.js';

/** Send `payload` as an Ethernet frame of type `type` from `dev` to `dst` (null: broadcast). */
export function sendFrame(dev: NetDevice, type: number, payload: Uint8Array, dst: Uint8Array | null): number {
  const skb = netdev_alloc_skb(ETH_HLEN, payload.length);
  skb.head.set(payload, skb.put(payload.length));
  skb.dev = dev;
  dev.header_ops!.create(skb, dev, type, dst, null);
  return dev_queue_xmit(skb);
}

export function ip(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function arpRequest(from: NetDevice, senderIp: number, targetIp: number): void {
  const b = new Uint8Array(28);
  ArpRepr.emit(
    { operation: ARPOP_REQUEST, senderHw: macRead(from.dev_addr, 0), senderIp, targetHw: 0, targetIp },
    b,
    0,
  );
  sendFrame(from, ETH_P_ARP, b, null);
}

export function arpReply(from: NetDevice, to: NetDevice, senderIp: number, targetIp: number): void {
  const b = new Uint8Array(28);
  ArpRepr.emit(
    {
      operation: ARPOP_REPLY,
      senderHw: macRead(from.dev_addr, 0),
      senderIp,
      targetHw: macRead(to.dev_addr, 0),
      targetIp,
    },
    b,
    0,
  );
  sendFrame(from, ETH_P_ARP, b, to.dev_addr);
}

/** An IPv4 header (no options, DF, TTL 64) in front of `l4`, with its checksum. */
function ipv4(src: number, dst: number, proto: number, l4: Uint8Array, id: number): Uint8Array {
  const p = new Uint8Array(20 + l4.length);
  p[0] = 0x45;
  put16(p, 2, p.length);
  put16(p, 4, id);
  put16(p, 6, 0x4000);
  p[8] = 64;
  p[9] = proto;
  put32(p, 12, src);
  put32(p, 16, dst);
  put16(p, 10, ip_fast_csum(p, 0, 5));
  p.set(l4, 20);
  return p;
}

export function udpPacket(
  src: number,
  dst: number,
  sport: number,
  dport: number,
  data: Uint8Array,
  id = 1,
): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  put16(u, 0, sport);
  put16(u, 2, dport);
  put16(u, 4, u.length);
  u.set(data, 8);
  const c = csum_tcpudp_magic(src, dst, u.length, 17, csum_partial(u, 0, u.length, 0));
  put16(u, 6, c === 0 ? 0xffff : c);
  return ipv4(src, dst, 17, u, id);
}

export function icmpEcho(
  src: number,
  dst: number,
  type: 0 | 8,
  ident: number,
  seq: number,
  data: Uint8Array,
  id = 1,
) {
  const m = new Uint8Array(8 + data.length);
  m[0] = type;
  put16(m, 4, ident);
  put16(m, 6, seq);
  m.set(data, 8);
  put16(m, 2, ip_compute_csum(m, 0, m.length));
  return ipv4(src, dst, 1, m, id);
}

export function sendIp(from: NetDevice, to: NetDevice, packet: Uint8Array): number {
  return sendFrame(from, ETH_P_IP, packet, to.dev_addr);
}
