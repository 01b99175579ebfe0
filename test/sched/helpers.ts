// Raw Ethernet frames with the local experimental EtherType, for tests of devices and queues
// that must not depend on IPv4: numbered frames out, arrivals (time, number, bytes) in.

import type { World } from '../../src/index.js';
import { dev_add_pack, dev_queue_xmit, type PacketType } from '../../src/net/core/dev.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import { kfree_skb, netdev_alloc_skb, type SkBuff } from '../../src/net/core/skbuff.js';
import type { Net } from '../../src/net/core/net_namespace.js';
import { Timer } from '../../src/kernel/time.js';
import { ETH_HLEN } from '../../src/uapi/if.js';

export const ETH_P_EXP = 0x88b5; // IEEE 802 local experimental EtherType

export interface Arrival {
  /** Virtual time of receipt, ns. */
  t: number;
  /** Sequence number carried in the first 4 payload bytes. */
  seq: number;
  /** The whole frame, Ethernet header included. */
  frame: Uint8Array;
  pkt_type: number;
  dev: string;
}

/** Collect every 0x88b5 frame a namespace receives (on any device, or only `dev`). */
export function collect(net: Net, dev: NetDevice | null = null): Arrival[] {
  const got: Arrival[] = [];
  const pt: PacketType = {
    type: ETH_P_EXP,
    dev,
    func(skb: SkBuff, d: NetDevice) {
      const frame = skb.head.slice(skb.mac_header, skb.tail);
      const p = ETH_HLEN;
      const seq = ((frame[p] << 24) | (frame[p + 1] << 16) | (frame[p + 2] << 8) | frame[p + 3]) >>> 0;
      got.push({ t: net.kernel.clock.now(), seq, frame, pkt_type: skb.pkt_type, dev: d.name });
      kfree_skb(skb);
      return 0;
    },
  };
  dev_add_pack(net, pt);
  return got;
}

/** A frame from `dev` to `daddr` (null: broadcast) carrying `seq` and `size - 18` filler bytes. */
export function frame(dev: NetDevice, seq: number, size = 64, daddr: Uint8Array | null = null): SkBuff {
  const len = Math.max(size - ETH_HLEN, 4);
  const skb = netdev_alloc_skb(ETH_HLEN, len);
  const off = skb.put(len);
  const h = skb.head;
  h[off] = seq >>> 24;
  h[off + 1] = (seq >>> 16) & 0xff;
  h[off + 2] = (seq >>> 8) & 0xff;
  h[off + 3] = seq & 0xff;
  for (let i = 4; i < len; i++) h[off + i] = (seq + i) & 0xff;
  skb.dev = dev;
  dev.header_ops!.create(skb, dev, ETH_P_EXP, daddr, null);
  return skb;
}

/** The bytes frame() puts on the wire for `seq`. */
export function frameBytes(
  dev: NetDevice,
  seq: number,
  size = 64,
  daddr: Uint8Array | null = null,
): Uint8Array {
  const skb = frame(dev, seq, size, daddr);
  const b = skb.bytes().slice();
  kfree_skb(skb);
  return b;
}

export function send(dev: NetDevice, seq: number, size = 64, daddr: Uint8Array | null = null): number {
  return dev_queue_xmit(frame(dev, seq, size, daddr));
}

/** Resolve once virtual time reaches `t` ns and everything due at `t` has run. */
export function until(world: World, t: number): Promise<void> {
  return new Promise((resolve) => world.clock.mod_timer(new Timer(() => resolve()), t));
}

/** Sleep `ns` of virtual time. */
export function sleep(world: World, ns: number): Promise<void> {
  return until(world, world.clock.now() + ns);
}

export const MS = 1_000_000;
export const US = 1_000;
export const SEC = 1_000_000_000;

/** Send `n` frames `gap` ns apart (seq 0…n-1), then wait `tail` ns for the last to land. */
export async function stream(
  world: World,
  dev: NetDevice,
  n: number,
  gap: number,
  tail: number,
  size = 64,
  daddr: Uint8Array | null = null,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    send(dev, i, size, daddr);
    if (gap) await sleep(world, gap);
  }
  await sleep(world, tail);
}

/** Lengths of the runs of consecutive lost sequence numbers among 0…n-1. */
export function lossBursts(got: Arrival[], n: number): number[] {
  const seen = new Uint8Array(n);
  for (const a of got) seen[a.seq] = 1;
  const bursts: number[] = [];
  let run = 0;
  for (let i = 0; i < n; i++) {
    if (!seen[i]) run++;
    else if (run) {
      bursts.push(run);
      run = 0;
    }
  }
  if (run) bursts.push(run);
  return bursts;
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
