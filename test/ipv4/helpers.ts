// Shared helpers for the IPv4 core tests: worlds of hosts joined by veth pairs, a test protocol
// (253, RFC 3692 experimental) that records what reaches it, and hand-built datagrams.

import { World } from '../../src/sim/world.js';
import type { Host } from '../../src/sim/host.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import { veth_newlink } from '../../src/drivers/net/veth.js';
import { IFF_NOARP } from '../../src/uapi/if.js';
import { SkBuff, netdev_alloc_skb } from '../../src/net/core/skbuff.js';
import { inet_add_protocol } from '../../src/net/ipv4/protocol.js';
import { ip_route_output } from '../../src/net/ipv4/route.js';
import { ip_build_header, ip_local_out } from '../../src/net/ipv4/ip_output.js';
import { netif_rx } from '../../src/net/core/dev.js';
import { ETH_P_IP } from '../../src/uapi/if.js';
import { snmp_get } from '../../src/net/ipv4/snmp.js';
import { csum_fold, csum_partial } from '../../src/wire/checksum.js';

export const TESTPROTO = 253;

export function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Run the world until nothing is pending at the current instant (a few turns). */
export async function flush(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await settle();
}

/**
 * Join `a` and `b` with a veth pair named `an` / `bn`, both up. Without ARP in the build, the
 * ends are NOARP and address each other directly (the "broadcast" address of each end is the
 * peer's MAC), so frames arrive as PACKET_HOST.
 */
export function link(a: Host, an: string, b: Host, bn: string, noarp = true): [NetDevice, NetDevice] {
  const r = veth_newlink(a.netns, an, b.netns, bn);
  if (typeof r === 'number') throw new Error(`veth_newlink ${r}`);
  const [da, db] = r;
  if (noarp) {
    da.flags |= IFF_NOARP;
    db.flags |= IFF_NOARP;
    da.broadcast = db.dev_addr.slice();
    db.broadcast = da.dev_addr.slice();
  }
  a.ip(`ip link set ${an} up`);
  b.ip(`ip link set ${bn} up`);
  return [da, db];
}

export interface Received {
  saddr: number;
  daddr: number;
  ttl: number;
  payload: Uint8Array;
  dev: string;
  /** The IP header as the transport saw it (options included). */
  hdr: Uint8Array;
}

/** Register protocol 253 on `h`; every datagram delivered to it is recorded. */
export function listen(h: Host, proto = TESTPROTO): Received[] {
  const got: Received[] = [];
  const err = inet_add_protocol(h.netns, proto, {
    handler(skb: SkBuff): number {
      const hd = skb.head;
      const nh = skb.network_header;
      got.push({
        saddr: get32(hd, nh + 12),
        daddr: get32(hd, nh + 16),
        ttl: hd[nh + 8],
        payload: skb.bytes().slice(),
        dev: skb.dev?.name ?? '',
        hdr: hd.slice(nh, nh + (hd[nh] & 0x0f) * 4),
      });
      return 0;
    },
  });
  if (err) throw new Error(`inet_add_protocol ${err}`);
  return got;
}

export function get32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function addr(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Send `payload` from `h` to `daddr` as protocol 253 through the routing and output path. */
export function sendProto(
  h: Host,
  daddr: number,
  payload: Uint8Array,
  opts: { ttl?: number; df?: boolean; saddr?: number; proto?: number; tos?: number; opt?: Uint8Array } = {},
): number {
  const fl = { daddr, saddr: opts.saddr ?? 0, tos: opts.tos ?? 0, oif: 0 };
  const rt = ip_route_output(h.netns, fl);
  if (typeof rt === 'number') return rt;
  const skb = netdev_alloc_skb(128, payload.length);
  skb.head.set(payload, skb.data);
  skb.put(payload.length);
  skb.dst = rt;
  ip_build_header(
    h.netns,
    skb,
    fl.saddr,
    fl.daddr,
    opts.proto ?? TESTPROTO,
    opts.ttl ?? 64,
    opts.tos ?? 0,
    opts.df ?? false,
    opts.opt ?? null,
  );
  return ip_local_out(h.netns, null, skb);
}

/** Build a raw IPv4 datagram (header checksum right unless `badCsum`). */
export function buildIp(f: {
  saddr: number;
  daddr: number;
  proto?: number;
  ttl?: number;
  id?: number;
  fragOff?: number;
  payload: Uint8Array;
  opt?: Uint8Array;
  badCsum?: boolean;
  totLen?: number;
}): Uint8Array {
  // Options are padded with End of Options to a multiple of four bytes.
  const optlen = f.opt ? (f.opt.length + 3) & ~3 : 0;
  const hlen = 20 + optlen;
  const b = new Uint8Array(hlen + f.payload.length);
  b[0] = 0x40 | (hlen >> 2);
  const tot = f.totLen ?? b.length;
  b[2] = tot >> 8;
  b[3] = tot & 0xff;
  const id = f.id ?? 0x1234;
  b[4] = id >> 8;
  b[5] = id & 0xff;
  const fo = f.fragOff ?? 0;
  b[6] = fo >> 8;
  b[7] = fo & 0xff;
  b[8] = f.ttl ?? 64;
  b[9] = f.proto ?? TESTPROTO;
  for (let i = 0; i < 4; i++) {
    b[12 + i] = (f.saddr >>> (24 - 8 * i)) & 0xff;
    b[16 + i] = (f.daddr >>> (24 - 8 * i)) & 0xff;
  }
  if (f.opt) b.set(f.opt, 20);
  b.set(f.payload, hlen);
  fixCsum(b);
  if (f.badCsum) b[10] ^= 0x55;
  return b;
}

export function fixCsum(b: Uint8Array): void {
  const hlen = (b[0] & 0x0f) * 4;
  b[10] = b[11] = 0;
  const c = csum_fold(csum_partial(b, 0, hlen, 0));
  b[10] = c >> 8;
  b[11] = c & 0xff;
}

/** Inject `pkt` as if it had arrived on `dev` (addressed to its MAC). */
export function inject(dev: NetDevice, pkt: Uint8Array): void {
  const skb = netdev_alloc_skb(32, pkt.length);
  skb.head.set(pkt, skb.data);
  skb.put(pkt.length);
  skb.dev = dev;
  skb.protocol = ETH_P_IP;
  skb.network_header = skb.data;
  netif_rx(skb);
}

export function mib(h: Host, table: string, name: string): number {
  return snmp_get(h.netns, table, name);
}

export function newWorld(seed = 1): World {
  return new World({ seed });
}
