// TCP pacing, measured on the wire: the departure times a's eth0 shows. Under sch_fq the socket
// is paced through the departure times it stamps (EDT) and fq holds each packet until then;
// with SO_MAX_PACING_RATE and no fq, TCP paces itself with its pacing timer; with neither,
// bursts leave back to back. TCP Small Queues keeps a paced socket's packets in fq to two bursts.
// The data path is instantaneous; ACKs come back after 50 ms.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { SOL_SOCKET, SO_MAX_PACING_RATE } from '../../src/uapi/socket.js';
import { dev_graft_qdisc } from '../../src/net/sched/sch_generic.js';
import { FqSchedData } from '../../src/net/sched/sch_fq.js';
import { sockfd_lookup, type Socket } from '../../src/net/socket.js';
import type { TcpSock } from '../../src/net/ipv4/tcp_sock.js';
import { SK_PACING_FQ, SK_PACING_UNLIMITED } from '../../src/net/core/sock.js';
import { cubictcp } from '../../src/net/ipv4/tcp_cubic.js';
import {
  pair,
  listenOn,
  connectPair,
  writeAll,
  readN,
  segments,
  info,
  haltWorlds,
  type Seg,
} from './scenario_helpers.js';

afterEach(haltWorlds);

interface Burst {
  t: number;
  bytes: number;
  segs: number;
}

/** Data segments a sent, grouped by departure instant. */
function bursts(segs: Seg[]): Burst[] {
  const out: Burst[] = [];
  for (const s of segs) {
    if (!s.out || s.len === 0) continue;
    const last = out.at(-1);
    if (last && last.t === s.tNs) {
      last.bytes += s.len;
      last.segs++;
    } else out.push({ t: s.tNs, bytes: s.len, segs: 1 });
  }
  return out;
}

async function run(opts: { fq: boolean; maxRate?: number; bytes: number; seed: number; ssRatio?: number }) {
  const p = pair(opts.seed);
  if (opts.ssRatio !== undefined) p.a.sysctl.write('net.ipv4.tcp_pacing_ss_ratio', opts.ssRatio);
  p.link.set({ delay: '50ms' }, 'b->a');
  const q = opts.fq ? new FqSchedData(p.link.a) : null;
  if (q) dev_graft_qdisc(p.link.a, q);
  // The fq backlog each time a packet leaves (TCP Small Queues bounds it).
  let maxQlen = 0;
  if (q) p.link.a.taps.push(() => (maxQlen = Math.max(maxQlen, q.qlen)));
  const lfd = listenOn(p.tb, '10.0.0.2', 5001);
  const { c, s } = await connectPair(p.ta, p.tb, lfd, '10.0.0.2', 5001);
  const rateAfterConnect = info(p.ta, c).tcpi_pacing_rate;
  if (opts.maxRate !== undefined) {
    const v = new Uint8Array(4);
    new DataView(v.buffer).setUint32(0, opts.maxRate, true);
    p.ta.setsockopt(c, SOL_SOCKET, SO_MAX_PACING_RATE, v);
  }
  const cap = p.a.capture('eth0');
  const data = new Uint8Array(opts.bytes).fill(7);
  const reader = readN(p.tb, s, opts.bytes);
  await writeAll(p.ta, c, data);
  await reader;
  return { b: bursts(segments(cap)), maxQlen, rateAfterConnect, q };
}

test('the pacing rate after the handshake is 200 % of 10 * mss / srtt (tcp_update_pacing_rate)', async () => {
  const { rateAfterConnect } = await run({ fq: false, bytes: 1000, seed: 3 });
  // mss_cache 1448 (timestamps), cwnd 10, srtt 50 ms: 1448 * 10 * 2 / 0.05 s.
  assert.equal(rateAfterConnect, 579200);
  // net.ipv4.tcp_pacing_ss_ratio sets the slow-start share.
  const half = await run({ fq: false, bytes: 1000, seed: 3, ssRatio: 100 });
  assert.equal(half.rateAfterConnect, 289600);
});

for (const fq of [true, false]) {
  test(`SO_MAX_PACING_RATE ${fq ? 'under fq (EDT)' : 'without fq (internal pacing)'}: after 10 segments, bursts leave at 100 kB/s`, async () => {
    const rate = 100_000;
    const { b, maxQlen, q } = await run({ fq, maxRate: rate, bytes: 150_000, seed: 11 });
    // The first ten segments are not paced (the original sch_fq's initial burst); the window
    // then waits for the first ACK, and from there on the rate spaces the bursts.
    let n = 0;
    let k = 0;
    while (n < 10) n += b[k++]!.segs;
    const paced = b.slice(k);
    assert.ok(paced.length > 20, `${paced.length} bursts`);
    for (let i = 1; i < paced.length; i++) {
      const gap = paced[i]!.t - paced[i - 1]!.t;
      const want = Math.floor((paced[i - 1]!.bytes * 1e9) / rate);
      // A sender late for its slot gets at most half a burst back.
      assert.ok(gap >= want / 2 && gap <= want + 1e6, `burst ${i}: gap ${gap} ns, want ~${want}`);
    }
    const span = paced.at(-1)!.t - paced[0]!.t;
    const bytes = paced.slice(0, -1).reduce((x, y) => x + y.bytes, 0);
    const measured = (bytes * 1e9) / span;
    assert.ok(Math.abs(measured - rate) / rate < 0.02, `measured ${measured.toFixed(0)} B/s`);
    if (q) {
      // TSQ: two bursts (of 2 segments) wait in fq at most, not the congestion window.
      assert.ok(maxQlen <= 4, `fq held ${maxQlen} packets`);
      assert.ok(q.xstats.throttled > 20);
    }
  });
}

test('without fq and SO_MAX_PACING_RATE nothing is paced: a window leaves back to back', async () => {
  const { b } = await run({ fq: false, bytes: 100_000, seed: 12 });
  // Each ACK releases what it allows at once: some instants carry several bursts' worth.
  assert.ok(b.some((x) => x.segs > 4));
});

test("fq paces slow start at the socket's own rate: no two bursts after the first ten segments leave together", async () => {
  const { b, q } = await run({ fq: true, bytes: 200_000, seed: 13 });
  let n = 0;
  let k = 0;
  while (n < 10) n += b[k++]!.segs;
  const later = b.slice(k);
  assert.ok(later.length > 10);
  // tcp_tso_autosize at these rates: bursts of a few segments, each at its own instant.
  for (const x of later) assert.ok(x.segs <= 8, `a burst of ${x.segs} segments`);
  assert.ok(q!.xstats.throttled > 0);
});

test('CUBIC HyStart: an ACK train must span the whole minimum delay, not half of it, once the socket is paced', async () => {
  const found: boolean[] = [];
  for (const paced of [false, true]) {
    const p = pair(21);
    const lfd = listenOn(p.tb, '10.0.0.2', 5001);
    const { c } = await connectPair(p.ta, p.tb, lfd, '10.0.0.2', 5001);
    const sk = (sockfd_lookup(p.ta.kernelTask, c) as Socket).sk as TcpSock;
    if (paced) sk.sk_pacing_status = SK_PACING_FQ;
    sk.sk_pacing_rate = SK_PACING_UNLIMITED;
    sk.snd_cwnd = 20;
    sk.snd_ssthresh = 0x7fffffff;
    sk.tcp_mstamp = 1_000_000;
    cubictcp.init!(sk);
    // ACKs 1 ms apart (a train) with a 10 ms RTT: 7 ms of train after the round started.
    for (let i = 0; i <= 7; i++) {
      sk.tcp_mstamp = 1_000_000 + i * 1000;
      cubictcp.pkts_acked!(sk, 1, 10_000);
    }
    found.push(sk.snd_ssthresh === 20);
  }
  assert.deepEqual(found, [true, false]);
});
