// CUBIC through a bottleneck router: a deep queue (bufferbloat: the link stays full and the
// round trip swells with the queue), a shallow one (losses, the round trip stays near the
// path's), and many flows sharing one bottleneck (Jain's fairness index, printed).
//
// a — r — c: 20 ms each way between a and r; r's egress towards c is the bottleneck (rate and a
// queue of `limit` packets, no delay of its own, so the limit is the queue alone).

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { World, AF_INET, SOCK_STREAM, type Host, type Task, type TcpProbeRecord } from '../../src/index.js';
import { sin, info, listenOn, sleep, haltWorlds } from './scenario_helpers.js';
import { routed } from '../scenarios/helpers.js';

afterEach(haltWorlds);

interface Path {
  w: World;
  a: Host;
  c: Host;
}

/** a — r — c (test/scenarios' routed path): 20 ms a→r, and the bottleneck queue on r→c. */
function path(seed: number, rate: string, limit: number): Path {
  const { w, a, c, l2 } = routed(seed, { delay: 20, limit: 10_000 });
  l2.set({ rate, limit }, 'a->b');
  return { w, a, c };
}

interface Flow {
  bytes: number;
  retrans: number;
}

/** `n` bulk flows a → c for `seconds` of virtual time; bytes each received after `warmup` s. */
async function flows(p: Path, n: number, seconds: number, warmup = 0): Promise<Flow[]> {
  const ta: Task = p.a.spawn();
  const tc: Task = p.c.spawn();
  const l = listenOn(tc, '10.0.2.2', 5001, n);
  const end = p.w.now() + seconds * 1000;
  const from = p.w.now() + warmup * 1000;
  const out: Flow[] = [];
  const buf = new Uint8Array(64 * 1024);
  const runs: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const f: Flow = { bytes: 0, retrans: 0 };
    out.push(f);
    const fd = ta.socket(AF_INET, SOCK_STREAM, 0);
    const acc = tc.accept(l);
    await ta.connect(fd, sin('10.0.2.2', 5001));
    const { fd: s } = await acc;
    runs.push(
      (async () => {
        while (p.w.now() < end) await ta.write(fd, buf);
        f.retrans = info(ta, fd).tcpi_total_retrans;
        ta.close(fd);
      })(),
      (async () => {
        const rb = new Uint8Array(256 * 1024);
        for (;;) {
          const k = await tc.read(s, rb);
          if (k === 0) break;
          if (p.w.now() >= from && p.w.now() <= end) f.bytes += k;
        }
        tc.close(s);
      })(),
    );
  }
  await Promise.all(runs);
  return out;
}

const mbit = (bytes: number, seconds: number): number => (bytes * 8) / seconds / 1e6;

/** Jain's fairness index: (Σx)² / (n Σx²); 1 when every flow gets the same. */
export function jain(xs: number[]): number {
  const s = xs.reduce((a, b) => a + b, 0);
  const s2 = xs.reduce((a, b) => a + b * b, 0);
  return (s * s) / (xs.length * s2);
}

/**
 * The largest srtt (µs) the sender saw after the first `afterS` seconds, from its tcp_probe
 * records (the first samples include the ARP exchanges of the handshake).
 */
function srttWatch(h: Host, afterS = 5): { max: () => number } {
  let max = 0;
  h.tracing.on<TcpProbeRecord>('tcp:tcp_probe', (r) => {
    if (r.dport === 5001 && r.time_ns >= afterS * 1e9) max = Math.max(max, r.srtt);
  });
  return { max: () => max };
}

test('bufferbloat: a 1000-packet queue at 10 Mbit/s keeps the link full and the round trip swells', async (t) => {
  const p = path(1, '10mbit', 1000);
  const srtt = srttWatch(p.a);
  const [f] = await flows(p, 1, 30, 5);
  const gp = mbit(f!.bytes, 25);
  const maxMs = srtt.max() / 1000;
  t.diagnostic(
    `goodput ${gp.toFixed(2)} Mbit/s, srtt max ${maxMs.toFixed(0)} ms (path 40 ms), ${f!.retrans} retransmissions`,
  );
  // 10 Mbit/s of 1514-byte frames carries at most 9.56 Mbit/s of payload (1448 bytes each).
  assert.ok(gp > 9.0 && gp <= 9.57, `goodput ${gp}`);
  // The queue holds up to 1000 × 1.2 ms: the round trip grows far past the path's 40 ms.
  assert.ok(maxMs > 400, `srtt max ${maxMs} ms`);
});

test('shallow queue: 8 packets at 10 Mbit/s (a quarter of the BDP): losses, and the round trip stays near 40 ms', async (t) => {
  const p = path(2, '10mbit', 8);
  const srtt = srttWatch(p.a);
  const [f] = await flows(p, 1, 30, 5);
  const gp = mbit(f!.bytes, 25);
  const maxMs = srtt.max() / 1000;
  t.diagnostic(
    `goodput ${gp.toFixed(2)} Mbit/s, srtt max ${maxMs.toFixed(1)} ms, ${f!.retrans} retransmissions`,
  );
  assert.ok(f!.retrans > 10, `the queue overflows: ${f!.retrans} retransmissions`);
  // At most 8 × 1.2 ms of queueing on top of the 40 ms path (and the smoothing lags a little).
  assert.ok(maxMs < 55, `srtt max ${maxMs} ms`);
  assert.ok(gp > 6.5, `CUBIC keeps most of the link busy: ${gp} Mbit/s`);
});

test('eight flows share a 20 Mbit/s bottleneck: Jain fairness index printed, and high', async (t) => {
  const p = path(3, '20mbit', 70);
  const fs = await flows(p, 8, 60, 20);
  const rates = fs.map((f) => mbit(f.bytes, 40));
  const total = rates.reduce((a, b) => a + b, 0);
  const index = jain(rates);
  t.diagnostic(
    `per flow ${rates.map((r) => r.toFixed(2)).join(' ')} Mbit/s; total ${total.toFixed(2)}; Jain index ${index.toFixed(3)}`,
  );
  console.log(
    `fairness: 8 CUBIC flows, 20 Mbit/s, 40 ms: Jain index ${index.toFixed(3)}, total ${total.toFixed(2)} Mbit/s`,
  );
  assert.ok(total > 17.5, `the flows fill the link together: ${total}`);
  assert.ok(index > 0.9, `Jain index ${index}`);
  await sleep(p.w, 1);
});

test('Jain index: 1 for equal shares, 1/n when one flow takes everything', () => {
  assert.equal(jain([3, 3, 3, 3]), 1);
  assert.equal(jain([8, 0, 0, 0]), 0.25);
});
