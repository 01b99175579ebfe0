// A million random and mutated frames at a host's receive path (netif_receive_skb on its eth0):
// random bytes, and valid Ethernet/ARP/IPv4/ICMP/UDP/fragment frames with bits flipped, cut,
// extended and fields rewritten. Nothing may throw; the host must still answer a ping and a
// UDP echo; and the counters Linux keeps for bad input must have moved.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { World, type Host } from '../../src/index.js';
import { AF_INET, SOCK_DGRAM, MSG_DONTWAIT } from '../../src/uapi/socket.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import { netif_receive_skb } from '../../src/net/core/dev.js';
import { netdev_alloc_skb } from '../../src/net/core/skbuff.js';
import { eth_type_trans } from '../../src/net/ethernet/eth.js';
import { csum_fold, csum_partial } from '../../src/wire/checksum.js';
import { runFor, settle, sin, mib } from './helpers.js';

/** xorshift32: the packets of one fast-check run come from its seed. */
class Rng {
  private x: number;
  constructor(seed: number) {
    this.x = seed >>> 0 || 0x9e3779b9;
  }
  u32(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (this.x = x >>> 0);
  }
  int(n: number): number {
    return this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

const A = [10, 0, 0, 1];
const B = [10, 0, 0, 2];

interface Ctx {
  amac: Uint8Array;
  bmac: Uint8Array;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function eth(ctx: Ctx, r: Rng, type: number, body: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + body.length);
  const dst = r.chance(0.9) ? ctx.amac : r.chance(0.5) ? new Uint8Array(6).fill(0xff) : r.bytes(6);
  f.set(dst, 0);
  f.set(ctx.bmac, 6);
  put16(f, 12, type);
  f.set(body, 14);
  return f;
}

function ipCsum(p: Uint8Array, o: number): void {
  const hl = (p[o] & 15) * 4;
  p[o + 10] = p[o + 11] = 0;
  if (o + hl > p.length) return;
  put16(p, o + 10, csum_fold(csum_partial(p, o, hl, 0)));
}

const ADDRS = [
  A,
  A,
  A,
  [10, 0, 0, 255],
  [255, 255, 255, 255],
  [224, 0, 0, 1],
  [10, 0, 0, 9],
  [127, 0, 0, 1],
  [0, 0, 0, 0],
  [192, 168, 1, 1],
];
const SRCS = [
  B,
  B,
  B,
  B,
  [10, 0, 0, 7],
  [127, 0, 0, 1],
  [224, 0, 0, 5],
  [255, 255, 255, 255],
  [0, 0, 0, 0],
  [10, 0, 0, 1],
];

/** An IPv4 datagram: header (maybe with options), then `payload`; checksum right. */
function ipv4(r: Rng, proto: number, payload: Uint8Array, frag = 0, id = r.int(65536)): Uint8Array {
  let opt: Uint8Array = new Uint8Array(0);
  if (r.chance(0.1)) {
    const k = r.int(4);
    if (k === 0)
      opt = Uint8Array.of(7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0); // record route
    else if (k === 1)
      opt = Uint8Array.of(68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0); // timestamp
    else if (k === 2)
      opt = Uint8Array.of(148, 4, 0, 0); // router alert
    else opt = r.bytes(4 * (1 + r.int(10)));
  }
  const hl = 20 + opt.length;
  const p = new Uint8Array(hl + payload.length);
  p[0] = 0x40 | (hl >> 2);
  p[1] = r.chance(0.9) ? 0 : r.int(256);
  put16(p, 2, p.length);
  put16(p, 4, id);
  put16(p, 6, frag);
  p[8] = r.chance(0.9) ? 64 : r.int(3);
  p[9] = proto;
  p.set(r.pick(SRCS), 12);
  p.set(r.chance(0.85) ? A : r.pick(ADDRS), 16);
  p.set(opt, 20);
  p.set(payload, hl);
  ipCsum(p, 0);
  return p;
}

function udp(
  r: Rng,
  sport: number,
  dport: number,
  data: Uint8Array,
  src: number[],
  dst: number[],
): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  put16(u, 0, sport);
  put16(u, 2, dport);
  put16(u, 4, u.length);
  u.set(data, 8);
  const ph = new Uint8Array(12 + u.length);
  ph.set(src, 0);
  ph.set(dst, 4);
  ph[9] = 17;
  put16(ph, 10, u.length);
  ph.set(u, 12);
  const c = csum_fold(csum_partial(ph, 0, ph.length, 0)) || 0xffff;
  if (!r.chance(0.05)) put16(u, 6, c);
  return u;
}

function icmp(r: Rng, type: number, code: number, rest: number, data: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m[0] = type;
  m[1] = code;
  put16(m, 4, rest >>> 16);
  put16(m, 6, rest & 0xffff);
  m.set(data, 8);
  put16(m, 2, csum_fold(csum_partial(m, 0, m.length, 0)));
  return m;
}

/** A well-formed frame of one of the kinds the host handles. */
function valid(ctx: Ctx, r: Rng): Uint8Array {
  const k = r.int(9);
  if (k === 0) {
    // ARP request or reply about 10.0.0.1 (or another address).
    const a = new Uint8Array(28);
    put16(a, 0, 1);
    put16(a, 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a, 6, r.chance(0.5) ? 1 : 2);
    a.set(r.chance(0.8) ? ctx.bmac : r.bytes(6), 8);
    a.set(r.chance(0.8) ? B : r.pick(SRCS), 14);
    a.set(r.chance(0.5) ? new Uint8Array(6) : ctx.amac, 18);
    a.set(r.chance(0.8) ? A : r.pick(ADDRS), 24);
    return eth(ctx, r, 0x0806, a);
  }
  if (k === 1 || k === 2) {
    // Echo request (and sometimes other informational types).
    const type = r.chance(0.8) ? 8 : r.pick([0, 13, 14, 15, 17, 18, 9, 10, 42, 255]);
    return eth(
      ctx,
      r,
      0x0800,
      ipv4(r, 1, icmp(r, type, r.chance(0.9) ? 0 : r.int(256), r.u32(), r.bytes(r.int(120)))),
    );
  }
  if (k === 3 || k === 4) {
    const dport = r.pick([7, 7, 9, 53, 33434, r.int(65536)]);
    return eth(ctx, r, 0x0800, ipv4(r, 17, udp(r, 1024 + r.int(60000), dport, r.bytes(r.int(200)), B, A)));
  }
  if (k === 5 || k === 6) {
    // A fragment of a UDP datagram; ids from a small set so fragments meet, overlap and repeat.
    const id = 0x4000 + r.int(8);
    const off = r.chance(0.3) ? 0 : r.int(64);
    const mf = r.chance(0.6) ? 0x2000 : 0;
    const len = mf ? 8 * (1 + r.int(40)) : 1 + r.int(300);
    const body = off === 0 ? udp(r, 5000, 7, r.bytes(Math.max(0, len - 8)), B, A) : r.bytes(len);
    return eth(ctx, r, 0x0800, ipv4(r, 17, body, mf | off, id));
  }
  if (k === 7) {
    // An ICMP error quoting something a sent: UDP to a port, or an echo.
    const inner = ipv4(r, r.chance(0.5) ? 17 : 1, r.bytes(8 + r.int(30)));
    inner.set(A, 12);
    inner.set(B, 16);
    ipCsum(inner, 0);
    const type = r.pick([3, 3, 4, 5, 11, 12]);
    return eth(ctx, r, 0x0800, ipv4(r, 1, icmp(r, type, r.int(16), r.chance(0.5) ? 576 : r.u32(), inner)));
  }
  // Another protocol (raw / unknown).
  return eth(ctx, r, 0x0800, ipv4(r, r.pick([2, 6, 47, 50, 132, 253, 255]), r.bytes(r.int(100))));
}

/** Break a frame the way a bad wire or a bad peer would. */
function mutate(r: Rng, f: Uint8Array): Uint8Array {
  const n = 1 + r.int(3);
  const isIp = f[12] === 0x08 && f[13] === 0x00;
  let recsum = r.chance(0.5);
  for (let i = 0; i < n; i++) {
    const k = r.int(14);
    if (k === 0 && f.length) f[r.int(f.length)] ^= 1 << r.int(8);
    else if (k === 1 && f.length) f[r.int(f.length)] = r.int(256);
    else if (k === 2) f = f.subarray(0, r.int(f.length + 1));
    else if (k === 3) {
      const g = new Uint8Array(f.length + 1 + r.int(64));
      g.set(f);
      g.set(r.bytes(g.length - f.length), f.length);
      f = g;
    } else if (f.length < 34) continue;
    else if (k === 4)
      f[14] = (f[14] & 0xf0) | r.int(16); // IHL
    else if (k === 5)
      f[14] = (r.int(16) << 4) | (f[14] & 15); // version
    else if (k === 6)
      put16(f, 16, r.chance(0.5) ? r.int(65536) : f.length - 14 + r.int(9) - 4); // tot_len
    else if (k === 7)
      put16(f, 20, r.int(65536)); // fragment flags and offset
    else if (k === 8)
      f[23] = r.int(256); // protocol
    else if (k === 9) {
      f[24] ^= 1 + r.int(255); // header checksum
      recsum = false;
    } else if (k === 10 && isIp) {
      // The transport header: ICMP type/code or UDP ports and length, or ARP sizes and op.
      const t = 14 + (f[14] & 15) * 4;
      if (t + 8 <= f.length) {
        if (r.chance(0.5)) f[t + r.int(2)] = r.int(256);
        else put16(f, t + 4, r.int(65536));
      }
    } else if (k === 11)
      f[22] = r.int(3); // TTL
    else if (k === 12 && !isIp && f.length >= 42)
      f[14 + r.int(8)] = r.int(256); // ARP hrd/pro/hln/pln/op
    else if (k === 13) {
      const t = 14 + (f[14] & 15) * 4;
      if (t + 4 <= f.length) put16(f, t + 2, r.int(65536)); // ICMP / UDP checksum or UDP dport
    }
  }
  if (isIp && recsum && f.length >= 34) ipCsum(f, 14);
  return f;
}

function frame(ctx: Ctx, r: Rng): Uint8Array {
  const k = r.int(10);
  if (k === 0) {
    // Random bytes behind a plausible or random EtherType.
    const f = r.bytes(r.int(120));
    if (f.length >= 14) {
      f.set(ctx.amac, 0);
      if (r.chance(0.7)) put16(f, 12, r.chance(0.7) ? 0x0800 : 0x0806);
    }
    return f;
  }
  const f = valid(ctx, r);
  return k < 3 ? f : mutate(r, f);
}

function receive(dev: NetDevice, f: Uint8Array): void {
  const skb = netdev_alloc_skb(32, f.length);
  skb.head.set(f, skb.put(f.length));
  const proto = eth_type_trans(skb, dev);
  if (proto < 0) return;
  skb.protocol = proto;
  netif_receive_skb(skb);
}

function setup(): { w: World; a: Host; b: Host; ctx: Ctx; dev: NetDevice } {
  const w = new World({ seed: 99 });
  const a = w.addHost('a');
  const b = w.addHost('b');
  const link = w.link(a, b);
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  b.ip('ip addr add 10.0.0.2/24 dev eth0');
  return { w, a, b, dev: link.a, ctx: { amac: link.a.dev_addr, bmac: link.b.dev_addr } };
}

test('a million random and mutated frames: no exception, counters move, the host still answers', async () => {
  const { w, a, b, ctx, dev } = setup();
  // A UDP echo service on a, running throughout.
  const srv = a.spawn({ comm: 'echo' });
  const sfd = srv.socket(AF_INET, SOCK_DGRAM, 0);
  srv.bind(sfd, sin('0.0.0.0', 7));
  void (async () => {
    const buf = new Uint8Array(65536);
    for (;;) {
      try {
        const m = await srv.recvfrom(sfd, buf);
        await srv.sendto(sfd, buf.slice(0, m.n), 0, m.addr!);
      } catch {
        // Senders the fuzzer made up may be unreachable (ENETUNREACH, EACCES…): keep serving.
      }
    }
  })();

  const PER_RUN = 100;
  const RUNS = 10_000;
  let frames = 0;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 0x7fffffff }), async (seed) => {
      const r = new Rng(seed);
      for (let i = 0; i < PER_RUN; i++) {
        receive(dev, frame(ctx, r));
        frames++;
      }
      // Let what the frames set going (replies, ARP, timers due now) run.
      await settle(w, 4);
    }),
    { seed: 20261121, numRuns: RUNS, endOnFailure: true },
  );
  assert.equal(frames, PER_RUN * RUNS);
  // Timers (reassembly, ARP) run out.
  await runFor(w, 60_000);

  // The counters Linux keeps for bad input moved.
  const moved: [string, string][] = [
    ['Ip', 'InHdrErrors'],
    ['Ip', 'InAddrErrors'],
    ['Ip', 'InUnknownProtos'],
    ['Ip', 'ReasmFails'],
    ['Ip', 'ReasmOKs'],
    ['IpExt', 'InCsumErrors'],
    ['IpExt', 'InTruncatedPkts'],
    ['IpExt', 'ReasmOverlaps'],
    ['Icmp', 'InErrors'],
    ['Icmp', 'InCsumErrors'],
    ['Icmp', 'OutEchoReps'],
    ['Udp', 'InCsumErrors'],
    ['Udp', 'NoPorts'],
    ['Udp', 'InErrors'],
    ['Udp', 'InDatagrams'],
  ];
  for (const [t, n] of moved) assert.ok(mib(a, t, n) > 0, `${t}:${n} = ${mib(a, t, n)}`);
  assert.ok(a.procNetArp().split('\n').length > 2, 'ARP learnt entries');

  // Still alive: a ping and a UDP echo from b.
  const p = await b.ping('10.0.0.1', { count: 2 });
  assert.equal(p.received, 2, p.output);
  const t = b.spawn();
  const fd = t.socket(AF_INET, SOCK_DGRAM, 0);
  await t.sendto(fd, new TextEncoder().encode('still there?'), 0, sin('10.0.0.1', 7));
  await runFor(w, 100);
  const buf = new Uint8Array(64);
  const m = await t.recvfrom(fd, buf, MSG_DONTWAIT);
  assert.equal(new TextDecoder().decode(buf.subarray(0, m.n)), 'still there?');
});
