// UDP datagrams of every size up to 65507 bytes over an impaired link: fragmented, lost and
// reordered by netem, reassembled, checked byte for byte; a datagram arrives exactly when every
// one of its fragments did. Broadcast over a switch, and SO_REUSEPORT across a link.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, SyscallError, type Host, type Task } from '../../src/index.js';
import {
  AF_INET,
  SOCK_DGRAM,
  SOL_SOCKET,
  SO_BROADCAST,
  SO_REUSEPORT,
  MSG_DONTWAIT,
} from '../../src/uapi/socket.js';
import type { SockaddrIn } from '../../src/uapi/in.js';
import type { LinkOptions } from '../../src/sim/link.js';
import { mib, runFor, sin } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Sizes 0…65507: a stride through the range, both sides of every fragment-count step, the max. */
function sizes(): number[] {
  const s = new Set<number>([0, 1, 2, 3, 4, 5, 7, 8, 9, 65506, 65507]);
  for (let n = 0; n <= 65507; n += 211) s.add(n);
  // IP payload = 8 + n; each fragment but the last carries 1480 bytes: the count steps at 1480k - 8.
  for (let k = 1; 1480 * k - 8 <= 65507; k++) {
    s.add(1480 * k - 9);
    s.add(1480 * k - 8);
    s.add(1480 * k - 7);
  }
  return [...s].filter((n) => n <= 65507);
}

/** Datagram `seq` of `size` bytes: the sequence number first (when it fits), then bytes from both. */
function datagram(size: number, seq: number): Uint8Array {
  const b = new Uint8Array(size);
  const head = [seq >>> 24, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff];
  let x = (Math.imul(size + 1, 0x9e3779b1) ^ Math.imul(seq + 1, 0x85ebca6b)) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    if (i < 4) {
      b[i] = head[i];
      continue;
    }
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

interface Run {
  sent: number[];
  received: number[];
  /** Datagram sizes whose fragments all reached b's eth0, from a capture there. */
  complete: number[];
  /** Fragmented datagrams of which some fragments, not all, reached b. */
  incomplete: number;
  reasmTimeouts: number;
  /** IPv4 frames a sent, and those b's eth0 received. */
  ipSent: number;
  ipArrived: number;
  lostFrames: number;
  reordered: number;
  fragments: number;
}

/** IPv4 datagrams (by id) in frames captured coming in: which ones had every fragment arrive. */
function completeDatagrams(frames: Uint8Array[]): { complete: number[]; incomplete: number } {
  const byId = new Map<number, { parts: [number, number][]; total: number }>();
  const out: number[] = [];
  let unfragmented = 0;
  for (const f of frames) {
    if (f[12] !== 0x08 || f[13] !== 0x00) continue; // IPv4 only (ARP aside)
    const ip = f.subarray(14);
    if (ip[9] !== 17) continue;
    const ihl = (ip[0] & 15) * 4;
    const len = ((ip[2] << 8) | ip[3]) - ihl;
    const id = (ip[4] << 8) | ip[5];
    const fo = ((ip[6] << 8) | ip[7]) & 0x3fff;
    const off = (fo & 0x1fff) * 8;
    const mf = (fo & 0x2000) !== 0;
    if (off === 0 && !mf) {
      // Not fragmented (sent with DF, ID 0 as Linux leaves it): complete by itself.
      out.push(len - 8);
      unfragmented++;
      continue;
    }
    let g = byId.get(id);
    if (!g) byId.set(id, (g = { parts: [], total: -1 }));
    g.parts.push([off, off + len]);
    if (!mf) g.total = off + len;
  }
  for (const g of byId.values()) {
    if (g.total < 0) continue;
    g.parts.sort((x, y) => x[0] - y[0]);
    let end = 0;
    for (const [s, e] of g.parts) if (s <= end) end = Math.max(end, e);
    if (end >= g.total) out.push(g.total - 8);
  }
  return { complete: out.sort((x, y) => x - y), incomplete: byId.size - (out.length - unfragmented) };
}

async function transfer(seed: number, opts: LinkOptions): Promise<Run> {
  const w = new World({ seed });
  const a = w.addHost('a');
  const b = w.addHost('b');
  const link = w.link(a, b, opts);
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  b.ip('ip addr add 10.0.0.2/24 dev eth0');
  // Resolve each other first (ARP is not what is being tested, and its frames could be lost).
  a.ip(`ip neigh add 10.0.0.2 lladdr ${mac(link.b.dev_addr)} dev eth0`);
  b.ip(`ip neigh add 10.0.0.1 lladdr ${mac(link.a.dev_addr)} dev eth0`);
  // Incomplete datagrams wait 30 s for their lost fragments; with ~100 of them pending the
  // default 4 MB of reassembly memory would run out and later fragments be dropped (as Linux
  // drops them). Give reassembly room so that only netem's loss decides.
  b.sysctl.write('net.ipv4.ipfrag_high_thresh', 64 << 20);
  const cap = b.capture('eth0', { direction: 'in' });

  const rx = b.spawn({ comm: 'sink' });
  const rfd = rx.socket(AF_INET, SOCK_DGRAM, 0);
  rx.bind(rfd, sin('10.0.0.2', 9000));
  const list = sizes();
  const seen = new Set<number>();
  const received: number[] = [];
  let bad = '';
  const reader = (async () => {
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = (await rx.recvfrom(rfd, buf)).n;
      // Which datagram: its sequence number, or its size for the few shorter than one.
      const seq = n >= 4 ? ((buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]) >>> 0 : list.indexOf(n);
      if (seq >= list.length || list[seq] !== n) bad ||= `datagram of ${n} bytes claims seq ${seq}`;
      else if (seen.has(seq)) bad ||= `datagram ${seq} delivered twice`;
      else if (Buffer.compare(buf.subarray(0, n), datagram(n, seq)) !== 0)
        bad ||= `datagram ${seq} corrupted`;
      seen.add(seq);
      received.push(n);
    }
  })();

  const tx = a.spawn({ comm: 'source' });
  const fd = tx.socket(AF_INET, SOCK_DGRAM, 0);
  for (let seq = 0; seq < list.length; seq++) {
    assert.equal(await tx.sendto(fd, datagram(list[seq], seq), 0, sin('10.0.0.2', 9000)), list[seq]);
    // One datagram every 3 ms: at most 45 frames, well inside netem's queue.
    await tx.poll([], 3);
  }
  // Past the reassembly timeout (30 s): the incomplete ones are given up on.
  await runFor(w, 40_000);
  // The reader stays blocked in recvfrom with nothing left to come; it is simply dropped.
  void reader;
  assert.equal(bad, '');
  // Nothing was dropped for lack of buffer: a datagram is lost only with a fragment.
  assert.equal(mib(b, 'Udp', 'RcvbufErrors'), 0);
  assert.equal(mib(b, 'Udp', 'InErrors'), 0);
  assert.equal(mib(b, 'Udp', 'InDatagrams'), received.length);
  const st = link.stats('a->b');
  const frames = cap.frames.map((f) => f.data);
  return {
    sent: list,
    received: received.sort((x, y) => x - y),
    ...completeDatagrams(frames),
    reasmTimeouts: mib(b, 'Ip', 'ReasmTimeout'),
    ipSent: mib(a, 'Ip', 'OutTransmits'),
    ipArrived: frames.filter((f) => f[12] === 0x08 && f[13] === 0x00).length,
    lostFrames: st?.netem.loss ?? -1,
    reordered: st?.netem.reordered ?? -1,
    fragments: mib(a, 'Ip', 'FragCreates'),
  };
}

function mac(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

const IMPAIRED: LinkOptions = {
  delay: '5ms',
  jitter: '1ms',
  loss: '1%',
  reorder: { probability: 0.25, gap: 5 },
};

test('every size to 65507 over loss 1%, reorder 25% gap 5, delay 5ms ± 1ms: lost exactly with a fragment', async () => {
  const r = await transfer(21, IMPAIRED);
  assert.ok(r.sent.length > 400, `${r.sent.length} sizes`);
  assert.ok(r.sent.includes(65507) && r.sent.includes(1472) && r.sent.includes(1473));
  // A 65507-byte datagram is 45 fragments.
  assert.ok(r.fragments > 10_000, `${r.fragments} fragments created`);
  assert.ok(r.lostFrames > 50, `netem lost ${r.lostFrames} frames`);
  // What netem says it lost is what did not arrive.
  assert.equal(r.ipArrived + r.lostFrames, r.ipSent);
  assert.ok(r.reordered > 1000, `netem reordered ${r.reordered} frames`);
  assert.ok(r.received.length < r.sent.length, 'some datagrams were lost with their fragments');
  assert.ok(r.received.length > r.sent.length / 4, `${r.received.length} of ${r.sent.length} arrived`);
  // Exactly the datagrams all of whose fragments reached b were delivered (and only once).
  assert.deepEqual(r.received, r.complete);
  // The others timed out in reassembly, each counted once.
  assert.ok(r.incomplete > 0);
  assert.equal(r.reasmTimeouts, r.incomplete);
  // Everything sent that was not lost arrived: the small ones (one frame) nearly all did.
  const small = r.sent.filter((n) => n <= 1472).length;
  assert.ok(r.received.filter((n) => n <= 1472).length >= small * 0.9);
});

test('the same sizes with reordering and no loss: every datagram arrives, once, intact', async () => {
  const r = await transfer(22, { ...IMPAIRED, loss: 0 });
  assert.equal(r.lostFrames, 0);
  assert.ok(r.reordered > 1000);
  assert.deepEqual(
    r.received,
    [...r.sent].sort((x, y) => x - y),
  );
  assert.deepEqual(r.complete, r.received);
  assert.equal(r.incomplete, 0);
  assert.equal(r.reasmTimeouts, 0);
});

test('broadcast to 10.0.0.255 with SO_BROADCAST reaches every host on the switch, the sender too', async () => {
  const w = new World({ seed: 31 });
  const hosts = ['h1', 'h2', 'h3', 'h4'].map((n) => w.addHost(n));
  w.bridge('sw', hosts, { delay: '1ms' });
  const socks: [Host, Task, number][] = [];
  hosts.forEach((h, i) => {
    h.ip(`ip addr add 10.0.0.${i + 1}/24 dev eth0`);
    const t = h.spawn();
    const fd = t.socket(AF_INET, SOCK_DGRAM, 0);
    t.bind(fd, sin('0.0.0.0', 5353));
    socks.push([h, t, fd]);
  });
  // Somebody outside the subnet's port hears nothing.
  const other = hosts[2].spawn();
  const ofd = other.socket(AF_INET, SOCK_DGRAM, 0);
  other.bind(ofd, sin('0.0.0.0', 5354));

  const [, t1] = socks[0];
  const s = t1.socket(AF_INET, SOCK_DGRAM, 0);
  await assert.rejects(
    t1.sendto(s, enc('x'), 0, sin('10.0.0.255', 5353)),
    (e: unknown) => e instanceof SyscallError && e.code === 'EACCES',
  );
  t1.setsockopt(s, SOL_SOCKET, SO_BROADCAST, 1);
  const big = new Uint8Array(4000).fill(0x5a);
  assert.equal(await t1.sendto(s, enc('to all'), 0, sin('10.0.0.255', 5353)), 6);
  assert.equal(await t1.sendto(s, big, 0, sin('10.0.0.255', 5353)), 4000);
  await runFor(w, 100);
  const from = (t1.getsockname(s) as SockaddrIn).port;
  const buf = new Uint8Array(8192);
  for (const [h, t, fd] of socks) {
    const got: string[] = [];
    for (;;) {
      try {
        const r = await t.recvfrom(fd, buf, MSG_DONTWAIT);
        const a = r.addr as SockaddrIn;
        assert.equal(a.addr, '10.0.0.1', `${h.name}: from h1`);
        assert.equal(a.port, from);
        got.push(
          r.n === 4000 && buf.subarray(0, 4000).every((x) => x === 0x5a) ? 'big' : dec(buf.subarray(0, r.n)),
        );
      } catch (e) {
        assert.ok(e instanceof SyscallError && e.code === 'EAGAIN');
        break;
      }
    }
    assert.deepEqual(got, ['to all', 'big'], `${h.name} heard every broadcast`);
    assert.ok(mib(h, 'IpExt', 'InBcastPkts') > 0, `${h.name} counted broadcasts`);
  }
  await assert.rejects(
    other.recvfrom(ofd, buf, MSG_DONTWAIT),
    (e: unknown) => e instanceof SyscallError && e.code === 'EAGAIN',
  );
});

test('SO_REUSEPORT across a link: 4 sockets share 200 flows, each flow sticks, the seed decides', async () => {
  async function run(seed: number): Promise<number[][]> {
    const w = new World({ seed });
    const a = w.addHost('a');
    const b = w.addHost('b');
    w.link(a, b, { delay: '1ms' });
    a.ip('ip addr add 10.0.0.1/24 dev eth0');
    b.ip('ip addr add 10.0.0.2/24 dev eth0');
    // Resolve b first: 600 datagrams would overflow ARP's queue of unresolved packets.
    assert.equal((await a.ping('10.0.0.2', { count: 1 })).received, 1);
    const srv = b.spawn();
    const group: number[] = [];
    for (let i = 0; i < 4; i++) {
      const fd = srv.socket(AF_INET, SOCK_DGRAM, 0);
      srv.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
      srv.bind(fd, sin('0.0.0.0', 8000));
      group.push(fd);
    }
    const cli = a.spawn();
    const senders: number[] = [];
    for (let i = 0; i < 200; i++) senders.push(cli.socket(AF_INET, SOCK_DGRAM, 0));
    for (let round = 0; round < 3; round++)
      for (let i = 0; i < senders.length; i++)
        await cli.sendto(senders[i], enc(String(i)), 0, sin('10.0.0.2', 8000));
    await runFor(w, 100);
    const got: number[][] = group.map(() => []);
    const buf = new Uint8Array(64);
    for (const [g, fd] of group.entries())
      for (;;) {
        try {
          const r = await srv.recvfrom(fd, buf, MSG_DONTWAIT);
          got[g].push(Number(dec(buf.subarray(0, r.n))));
        } catch {
          break;
        }
      }
    return got;
  }
  const first = await run(41);
  assert.equal(first.flat().length, 600, 'every datagram arrived');
  const owner = new Map<number, number>();
  first.forEach((flows, g) => {
    assert.ok(flows.length >= 60, `socket ${g} got ${flows.length} of 600`);
    for (const f of flows) {
      assert.equal(owner.get(f) ?? g, g, `flow ${f} stays on one socket`);
      owner.set(f, g);
    }
  });
  assert.equal(owner.size, 200);
  assert.deepEqual(await run(41), first, 'same seed, same spread');
  assert.notDeepEqual(await run(42), first, 'another seed spreads the flows differently');
});
