// Fragmentation (ip_do_fragment) and reassembly (ip_defrag): every size up to the 65535-byte
// limit, out-of-order and duplicate fragments, overlaps (RFC 5722 applied to IPv4, as modern
// Linux does), the reassembly timeout in virtual time, the memory limit and the ping of death.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  newWorld,
  link,
  listen,
  addr,
  flush,
  settle,
  inject,
  buildIp,
  mib,
  pattern,
  sendProto,
} from './helpers.js';
import type { SkBuff } from '../../src/net/core/skbuff.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import { ip_frags } from '../../src/net/ipv4/ip_fragment.js';
import { ipv4OptRecordRoute, ipv4OptRouterAlert } from '../../src/wire/ipv4.js';

const A = addr('10.0.0.1');
const B = addr('10.0.0.2');
const MF = 0x2000;

function setup(seed = 21) {
  const w = newWorld(seed);
  const a = w.addHost('a');
  const b = w.addHost('b');
  const [ea, eb] = link(a, 'eth0', b, 'eth0');
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  b.ip('ip addr add 10.0.0.2/24 dev eth0');
  return { w, a, b, ea, eb, got: listen(b) };
}

/** Fragments of `payload` as [offset, bytes, more] pieces of `size` bytes (8-aligned). */
function pieces(payload: Uint8Array, size: number): [number, Uint8Array, boolean][] {
  const out: [number, Uint8Array, boolean][] = [];
  for (let off = 0; off < payload.length; off += size) {
    const end = Math.min(off + size, payload.length);
    out.push([off, payload.subarray(off, end), end < payload.length]);
  }
  return out;
}

function frag(off: number, bytes: Uint8Array, more: boolean, id = 0x4242): Uint8Array {
  return buildIp({ saddr: A, daddr: B, id, fragOff: (off >> 3) | (more ? MF : 0), payload: bytes });
}

test('datagrams of every size class up to 65535 bytes are fragmented and reassembled', async () => {
  const { a, b, got } = setup();
  const sizes = [0, 1, 1472, 1479, 1480, 1481, 2960, 2961, 8000, 30000, 65000, 65515];
  for (const n of sizes) assert.equal(sendProto(a, B, pattern(n, n + 1)), 0, `size ${n}`);
  await flush();
  assert.equal(got.length, sizes.length);
  for (let i = 0; i < sizes.length; i++) assert.deepEqual(got[i].payload, pattern(sizes[i], sizes[i] + 1));
  const frags = sizes.filter((n) => n > 1480).reduce((s, n) => s + Math.ceil(n / 1480), 0);
  assert.equal(mib(a, 'Ip', 'FragOKs'), sizes.filter((n) => n > 1480).length);
  assert.equal(mib(a, 'Ip', 'FragCreates'), frags);
  assert.equal(mib(b, 'Ip', 'ReasmReqds'), frags);
  assert.equal(mib(b, 'Ip', 'ReasmOKs'), sizes.filter((n) => n > 1480).length);
  assert.equal(mib(b, 'Ip', 'ReasmFails'), 0);
  assert.equal(ip_frags(b.netns).nqueues, 0);
  assert.equal(ip_frags(b.netns).mem, 0);
});

test('out-of-order and duplicated fragments reassemble once', async () => {
  const { b, eb, got } = setup();
  const data = pattern(4000, 9);
  const ps = pieces(data, 1000);
  for (const p of [ps[3], ps[1], ps[1], ps[0], ps[2], ps[0]]) inject(eb, frag(p[0], p[1], p[2]));
  await settle();
  assert.equal(got.length, 1);
  assert.deepEqual(got[0].payload, data);
  assert.equal(mib(b, 'Ip', 'ReasmOKs'), 1);
  assert.equal(mib(b, 'IpExt', 'ReasmOverlaps'), 0);
  // The duplicate of the first fragment came after completion: it starts a queue of its own.
  assert.equal(ip_frags(b.netns).nqueues, 1);
});

test('random permutations with duplicates of a random datagram always reassemble to it', async () => {
  const { b, eb, got } = setup();
  let id = 1;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 9, max: 20000 }),
      fc.integer({ min: 1, max: 200 }).map((k) => k * 8),
      fc.array(fc.nat(), { minLength: 1, maxLength: 60 }),
      async (len, size, order) => {
        const data = pattern(len, len);
        const ps = pieces(data, size);
        const seq = ps.map((_, i) => i);
        // Shuffle by the random keys, then add some duplicates.
        seq.sort((x, y) => (order[x % order.length] ^ x) - (order[y % order.length] ^ y));
        for (let k = 0; k < Math.min(3, order.length); k++)
          seq.splice(order[k] % (seq.length + 1), 0, order[k] % ps.length);
        const before = got.length;
        const myId = id++ & 0xffff;
        // In batches below netdev_max_backlog (1000), which would drop the excess.
        for (let k = 0; k < seq.length; k++) {
          const i = seq[k];
          inject(eb, frag(ps[i][0], ps[i][1], ps[i][2], myId));
          if (k % 500 === 499) await settle();
        }
        await settle();
        // Duplicates arriving after completion may form the datagram a second time (as in
        // Linux); whatever is delivered is the datagram, whole.
        assert.ok(got.length > before);
        for (const g of got.slice(before)) assert.deepEqual(g.payload, data);
      },
    ),
    { numRuns: 150, seed: 5 },
  );
  assert.equal(mib(b, 'IpExt', 'ReasmOverlaps'), 0);
});

test('overlapping fragments kill the queue (ReasmOverlaps); a contained one is a duplicate', async () => {
  const { b, eb, got } = setup();
  const d = pattern(64, 2);
  inject(eb, frag(0, d.subarray(0, 16), true, 1));
  inject(eb, frag(8, d.subarray(8, 24), true, 1));
  await flush();
  assert.equal(mib(b, 'IpExt', 'ReasmOverlaps'), 1);
  assert.equal(mib(b, 'Ip', 'ReasmFails'), 1);
  assert.equal(ip_frags(b.netns).nqueues, 0);
  // Teardrop's shape: the second fragment lies inside the first — dropped alone, queue kept.
  // (One turn only: when the world is idle, virtual time jumps to the queue's expiry.)
  inject(eb, frag(0, d.subarray(0, 32), true, 2));
  inject(eb, frag(8, d.subarray(8, 16), true, 2));
  await settle();
  assert.equal(mib(b, 'IpExt', 'ReasmOverlaps'), 1);
  assert.equal(ip_frags(b.netns).nqueues, 1);
  inject(eb, frag(32, d.subarray(32, 64), false, 2));
  await settle();
  assert.equal(got.length, 1);
  assert.deepEqual(got[0].payload, d);
  // A last fragment that contradicts the known end corrupts the queue.
  inject(eb, frag(0, d.subarray(0, 16), true, 3));
  inject(eb, frag(24, d.subarray(24, 32), false, 3));
  inject(eb, frag(16, d.subarray(16, 24), false, 3));
  await settle();
  assert.equal(mib(b, 'Ip', 'ReasmFails'), 2);
  assert.equal(got.length, 1);
  assert.equal(ip_frags(b.netns).nqueues, 0);
});

test('the ping of death (more than 65535 bytes) is refused at reassembly', async () => {
  const { b, eb, got } = setup();
  const big = pattern(65628 - 32768, 1);
  inject(eb, frag(0, pattern(32768, 2), true, 7));
  inject(eb, frag(32768, big, false, 7));
  await flush();
  assert.equal(got.length, 0);
  assert.equal(mib(b, 'Ip', 'ReasmFails'), 1);
  assert.equal(mib(b, 'Ip', 'ReasmOKs'), 0);
  assert.equal(ip_frags(b.netns).nqueues, 0);
});

test('an incomplete datagram expires after ipfrag_time (30 s of virtual time)', async () => {
  const { w, b, eb, got } = setup();
  const t0 = w.now();
  inject(eb, frag(0, pattern(16), true, 9));
  await settle();
  assert.equal(ip_frags(b.netns).nqueues, 1);
  // The rest arriving in time completes it.
  inject(eb, frag(16, pattern(16, 3), false, 9));
  await settle();
  assert.equal(got.length, 1);
  inject(eb, frag(0, pattern(16), true, 10));
  await flush(10);
  assert.equal(mib(b, 'Ip', 'ReasmTimeout'), 1);
  assert.equal(mib(b, 'Ip', 'ReasmFails'), 1);
  assert.equal(ip_frags(b.netns).nqueues, 0);
  assert.equal(ip_frags(b.netns).mem, 0);
  assert.ok(w.now() - t0 >= 30_000);
  assert.ok(w.now() - t0 < 30_001);
  // A shorter ipfrag_time applies to new queues.
  b.sysctl.write('net.ipv4.ipfrag_time', 5);
  const t1 = w.now();
  inject(eb, frag(8, pattern(8), true, 11));
  await flush(10);
  assert.equal(mib(b, 'Ip', 'ReasmTimeout'), 2);
  assert.ok(w.now() - t1 >= 5_000 && w.now() - t1 < 5_001);
});

test('above ipfrag_high_thresh new fragments are refused (ReasmFails)', async () => {
  const { b, eb } = setup();
  b.sysctl.write('net.ipv4.ipfrag_low_thresh', 0);
  b.sysctl.write('net.ipv4.ipfrag_high_thresh', 20000);
  assert.equal(b.sysctl.read('net.ipv4.ipfrag_high_thresh'), 20000);
  for (let id = 1; id <= 40; id++) inject(eb, frag(0, pattern(1000), true, id));
  await settle();
  const f = ip_frags(b.netns);
  assert.ok(f.nqueues > 0 && f.nqueues < 40, `queues ${f.nqueues}`);
  assert.equal(mib(b, 'Ip', 'ReasmFails'), 40 - f.nqueues);
  assert.ok(f.mem > 20000);
});

test('options: every fragment keeps the header length; only copied options survive after the first', async () => {
  const { a, eb, got } = setup();
  const frames: Uint8Array[] = [];
  eb.taps.push((skb: SkBuff, _dev: NetDevice, out: boolean) => {
    if (!out) frames.push(skb.bytes().slice());
  });
  // Record route (not copied) then router alert (copied), 19 + 4 bytes padded to 24.
  const rr = ipv4OptRecordRoute(4);
  const ra = ipv4OptRouterAlert();
  const opt = new Uint8Array(24);
  opt.set(rr, 0);
  opt.set(ra, rr.length);
  assert.equal(sendProto(a, B, pattern(3000, 4), { opt }), 0);
  await flush();
  assert.equal(frames.length, 3);
  for (const f of frames) assert.equal(f[0] & 0x0f, 11);
  assert.deepEqual(frames[0].subarray(20, 20 + rr.length), rr);
  for (const f of frames.slice(1)) {
    assert.ok(
      f.subarray(20, 20 + rr.length).every((x) => x === 1),
      'record route replaced by NOPs',
    );
    assert.deepEqual(f.subarray(20 + rr.length, 24 + rr.length), ra);
  }
  assert.equal(got.length, 1);
  assert.deepEqual(got[0].payload, pattern(3000, 4));
});
