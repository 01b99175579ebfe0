// The UDP socket table of a namespace (struct udp_table, include/net/udp.h): socks by local port
// (numeric keys, no strings per packet), the flow hash SO_REUSEPORT groups select with
// (udp_ehashfn, jhash_3words), and the ephemeral port range.

import type { Net } from '../core/net_namespace.js';
import type { UdpSock } from './udp.js';
import { inet_get_local_port_range } from './ipv4_init.js';

/** struct udp_table. */
export class UdpTable {
  /** Socks by local port, newest first (hslot). */
  readonly hash = new Map<number, UdpSock[]>();
  /** Every hashed sock, in bind order (for /proc/net/udp and ss). */
  readonly all = new Set<UdpSock>();
  /** The table's mask: /proc/net/udp shows port & mask as the bucket. */
  readonly mask = 127;
  /** udp_ehash_secret + net_hash_mix(net). */
  readonly secret: number;
  constructor(net: Net) {
    this.secret = net.kernel.prandom.get_random_u32();
  }
}

export function udp_table(net: Net): UdpTable {
  let t = net.proto_state.get('udp_table') as UdpTable | undefined;
  if (!t) {
    t = new UdpTable(net);
    net.proto_state.set('udp_table', t);
  }
  return t;
}

function rol32(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** jhash_3words() (include/linux/jhash.h). */
export function jhash_3words(a: number, b: number, c: number, initval: number): number {
  a = (a + 0xdeadbeef) >>> 0;
  b = (b + 0xdeadbeef) >>> 0;
  c = (c + initval) >>> 0;
  // __jhash_final()
  c ^= b;
  c = (c - rol32(b, 14)) >>> 0;
  a ^= c;
  a = (a - rol32(c, 11)) >>> 0;
  b ^= a;
  b = (b - rol32(a, 25)) >>> 0;
  c ^= b;
  c = (c - rol32(b, 16)) >>> 0;
  a ^= c;
  a = (a - rol32(c, 4)) >>> 0;
  b ^= a;
  b = (b - rol32(a, 14)) >>> 0;
  c ^= b;
  c = (c - rol32(b, 24)) >>> 0;
  return c >>> 0;
}

/** udp_ehashfn(): the flow hash of a datagram (local address/port, remote address/port). */
export function udp_ehashfn(net: Net, laddr: number, lport: number, faddr: number, fport: number): number {
  return jhash_3words(laddr >>> 0, faddr >>> 0, ((lport << 16) | fport) >>> 0, udp_table(net).secret);
}

/** reciprocal_scale(): map a 32-bit value onto [0, n). */
export function reciprocal_scale(val: number, n: number): number {
  return Math.floor(((val >>> 0) * n) / 0x100000000);
}

/** inet_sk_get_local_port_range(): net.ipv4.ip_local_port_range. */
export function local_port_range(net: Net): [number, number] {
  return inet_get_local_port_range(net);
}
