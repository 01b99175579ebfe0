// The few packets the gateway reads and writes itself: the IPv4/TCP/UDP header fields it needs
// to decide what to do with a packet arriving from the virtual network, and the answers it
// sends when a real connection fails — a TCP RST (connection refused) or an ICMP destination
// unreachable — built in full, as a router or a refusing host would send them.

import { get16, get32, put16, put32 } from '../../wire/bytes.js';
import { csum_partial, csum_tcpudp_magic, ip_compute_csum } from '../../wire/checksum.js';

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

/** What the gateway reads of an IPv4 packet. */
export interface Ip4Summary {
  saddr: number;
  daddr: number;
  protocol: number;
  /** Offset of the transport header in `buf`, or -1 for a fragment after the first. */
  thoff: number;
  sport: number;
  dport: number;
  /** TCP flags (0 for UDP). */
  tcpFlags: number;
  /** TCP sequence number (0 for UDP). */
  seq: number;
  /** Length of the IPv4 packet as its header gives it. */
  totLen: number;
}

/** Read an IPv4 packet at `off` of `buf` (`len` bytes there); null when it is not one we can read. */
export function readIp4(buf: Uint8Array, off: number, len: number): Ip4Summary | null {
  if (len < 20 || buf[off]! >> 4 !== 4) return null;
  const ihl = (buf[off]! & 0x0f) * 4;
  const totLen = get16(buf, off + 2);
  if (ihl < 20 || totLen < ihl || totLen > len) return null;
  const frag = get16(buf, off + 6);
  const protocol = buf[off + 9]!;
  const s: Ip4Summary = {
    saddr: get32(buf, off + 12),
    daddr: get32(buf, off + 16),
    protocol,
    thoff: -1,
    sport: 0,
    dport: 0,
    tcpFlags: 0,
    seq: 0,
    totLen,
  };
  if ((frag & 0x1fff) !== 0) return s;
  const t = off + ihl;
  const tlen = totLen - ihl;
  if (protocol === IPPROTO_TCP && tlen >= 20) {
    s.thoff = t;
    s.sport = get16(buf, t);
    s.dport = get16(buf, t + 2);
    s.seq = get32(buf, t + 4);
    s.tcpFlags = buf[t + 13]!;
  } else if (protocol === IPPROTO_UDP && tlen >= 8) {
    s.thoff = t;
    s.sport = get16(buf, t);
    s.dport = get16(buf, t + 2);
  }
  return s;
}

/** A connection request: SYN without ACK, RST or FIN. */
export function isSyn(p: Ip4Summary): boolean {
  return (
    p.protocol === IPPROTO_TCP &&
    p.thoff >= 0 &&
    (p.tcpFlags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) === TCP_SYN
  );
}

function ipHeader(
  buf: Uint8Array,
  off: number,
  totLen: number,
  proto: number,
  saddr: number,
  daddr: number,
): void {
  buf[off] = 0x45;
  buf[off + 1] = 0;
  put16(buf, off + 2, totLen);
  put16(buf, off + 4, 0);
  put16(buf, off + 6, 0x4000); // DF
  buf[off + 8] = 64;
  buf[off + 9] = proto;
  put16(buf, off + 10, 0);
  put32(buf, off + 12, saddr);
  put32(buf, off + 16, daddr);
  put16(buf, off + 10, ip_compute_csum(buf, off, 20));
}

function ethHeader(buf: Uint8Array, dst: Uint8Array, src: Uint8Array): void {
  buf.set(dst, 0);
  buf.set(src, 6);
  put16(buf, 12, 0x0800);
}

/**
 * The RST a host sends for a SYN nobody listens for (RFC 9293 §3.10.7.1, tcp_v4_send_reset):
 * from the SYN's destination, sequence 0, acknowledging the SYN.
 */
export function buildRstForSyn(syn: Ip4Summary, dstMac: Uint8Array, srcMac: Uint8Array): Uint8Array {
  const buf = new Uint8Array(14 + 20 + 20);
  ethHeader(buf, dstMac, srcMac);
  ipHeader(buf, 14, 40, IPPROTO_TCP, syn.daddr, syn.saddr);
  const t = 34;
  put16(buf, t, syn.dport);
  put16(buf, t + 2, syn.sport);
  put32(buf, t + 4, 0);
  put32(buf, t + 8, (syn.seq + 1) >>> 0);
  buf[t + 12] = 5 << 4;
  buf[t + 13] = TCP_RST | TCP_ACK;
  put16(buf, t + 14, 0);
  put16(buf, t + 16, 0);
  put16(buf, t + 18, 0);
  put16(buf, t + 16, csum_tcpudp_magic(syn.daddr, syn.saddr, 20, IPPROTO_TCP, csum_partial(buf, t, 20, 0)));
  return buf;
}

/**
 * ICMP destination unreachable (RFC 792) about the packet at `ipOff` of `orig`, from `saddr`:
 * quotes its IP header and the first 8 bytes of its payload, as icmp_send() does at least.
 */
export function buildIcmpUnreach(
  orig: Uint8Array,
  ipOff: number,
  code: number,
  saddr: number,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
): Uint8Array {
  const ihl = (orig[ipOff]! & 0x0f) * 4;
  const quote = Math.min(ihl + 8, get16(orig, ipOff + 2));
  const buf = new Uint8Array(14 + 20 + 8 + quote);
  ethHeader(buf, dstMac, srcMac);
  ipHeader(buf, 14, 20 + 8 + quote, IPPROTO_ICMP, saddr, get32(orig, ipOff + 12));
  const i = 34;
  buf[i] = 3;
  buf[i + 1] = code;
  buf.set(orig.subarray(ipOff, ipOff + quote), i + 8);
  put16(buf, i + 2, ip_compute_csum(buf, i, 8 + quote));
  return buf;
}

/** Dotted quad of a host-order address. */
export function ip4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** Host-order address of a dotted quad (no validation beyond four numbers). */
export function ip4FromString(s: string): number {
  const p = s.split('.').map(Number);
  return (((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0) as number;
}
