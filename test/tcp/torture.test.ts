// Fault torture: seeded transfers of random sizes, both ways at once, over links that lose (up
// to 10 %), duplicate, reorder and corrupt frames. Every byte is checked by hash, every
// connection must end with both sides closed and nothing left in either host's hash tables but
// TIME_WAIT socks, which must then expire: 1,000 transfers of up to 8 MiB (about half a minute
// per recovery); USERNET_TORTURE=quick runs 30 of up to 1 MiB instead.
//
// The same seeds run three times: CUBIC with SACK (the default), Reno with SACK, and NewReno —
// Reno without SACK (net.ipv4.tcp_sack=0), the RFC 6582 recovery TCP had before SACK. All must
// pass, the goodput of each is printed, and CUBIC with SACK must beat NewReno. Reno with SACK
// gets the most on these links (up to 10% loss, round trips of 2–40 ms, windows of a few
// segments), as it does with Linux's own TCP on such a path: test/fidelity/cubic_reno_order
// measures all three on both kernels there.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { LinkOptions } from '../../src/sim/link.js';
import {
  pair,
  sleep,
  info,
  tcpTable,
  listenOn,
  connectPair,
  writeAll,
  readAll,
  pattern,
  haltWorlds,
  until,
} from './scenario_helpers.js';

afterEach(haltWorlds);

const FULL = process.env.USERNET_TORTURE !== 'quick';
const TRANSFERS = FULL ? 1000 : 30;
const MAX_SIZE = FULL ? 8 << 20 : 1 << 20;

/** A small seeded generator for the choices (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Outcome {
  bytes: number;
  retrans: number;
  virtualMs: number;
}

/** How both hosts recover: congestion control and whether they offer SACK. */
interface Recovery {
  name: string;
  cc: string;
  sack: 0 | 1;
}

async function transfer(i: number, r: () => number, rec: Recovery): Promise<Outcome> {
  // Mostly small, some large: with 1,000 transfers, about 70 are over 4 MiB.
  const size = (x: number): number => Math.floor(x ** (FULL ? 9 : 3) * MAX_SIZE);
  const up = size(r());
  const down = size(r()) >> 1;
  const delay = 1 + Math.floor(r() * 20);
  const opts: LinkOptions = {
    delay,
    jitter: r() < 0.3 ? Math.floor(r() * delay) : 0,
    loss: r() * 0.1,
    duplicate: r() * 0.05,
    reorder: r() < 0.5 ? r() * 0.2 : 0,
    corrupt: r() * 0.02,
    rate: r() < 0.5 ? '100mbit' : null,
    limit: 1000,
  };
  const what = `transfer ${i}: ${up} up, ${down} down, ${JSON.stringify(opts)}`;
  const { w, a, b, ta, tb } = pair(1000 + i, opts);
  for (const h of [a, b]) {
    h.sysctl.writeText('net.ipv4.tcp_congestion_control', rec.cc);
    h.sysctl.writeText('net.ipv4.tcp_sack', String(rec.sack));
  }
  const l = listenOn(tb, '10.0.0.2', 5001);
  const dataUp = pattern(up, 2 * i + 1);
  const dataDown = pattern(down, 2 * i + 2);
  const work = (async () => {
    const { c, s } = await connectPair(ta, tb, l, '10.0.0.2', 5001);
    const wa = writeAll(ta, c, dataUp, 64 * 1024).then(() => ta.shutdown(c, 1));
    const wb = writeAll(tb, s, dataDown, 48 * 1024).then(() => tb.shutdown(s, 1));
    const [gotB, gotA] = await Promise.all([readAll(tb, s), readAll(ta, c)]);
    await Promise.all([wa, wb]);
    return { c, s, gotA, gotB };
  })();
  // A transfer that stalls fails here, in virtual time, rather than hanging the run.
  const limitMs = 1_800_000;
  const res = await Promise.race([work, sleep(w, limitMs).then(() => null)]);
  assert.ok(res, `${what}: not finished after ${limitMs / 1000} s of virtual time`);
  const { c, s, gotA, gotB } = res;
  assert.equal(gotB.length, up, `${what}: bytes received by b`);
  assert.equal(sha(gotB), sha(dataUp), `${what}: b's bytes`);
  assert.equal(gotA.length, down, `${what}: bytes received by a`);
  assert.equal(sha(gotA), sha(dataDown), `${what}: a's bytes`);
  const retrans = info(ta, c).tcpi_total_retrans + info(tb, s).tcpi_total_retrans;
  const virtualMs = w.now();
  ta.close(c);
  tb.close(s);
  tb.close(l);
  // Both FINs were sent and received; the last ACKs may need retransmitting over this link.
  const settled = (): boolean => [...tcpTable(a), ...tcpTable(b)].every((e) => e.state === 'TIME_WAIT');
  assert.ok(
    await until(w, settled, 600_000, 100),
    `${what}: left ${JSON.stringify([tcpTable(a), tcpTable(b)])}`,
  );
  const empty = (): boolean => tcpTable(a).length === 0 && tcpTable(b).length === 0;
  assert.ok(await until(w, empty, 180_000, 1_000), `${what}: TIME_WAIT never expired`);
  return { bytes: up + down, retrans, virtualMs };
}

async function torture(rec: Recovery): Promise<{ bytes: number; virtualMs: number; retrans: number }> {
  const r = rng(0x7c9f1e);
  const t0 = performance.now();
  let bytes = 0;
  let retrans = 0;
  let virtualMs = 0;
  for (let i = 0; i < TRANSFERS; i++) {
    const o = await transfer(i, r, rec);
    haltWorlds();
    bytes += o.bytes;
    retrans += o.retrans;
    virtualMs += o.virtualMs;
  }
  const real = (performance.now() - t0) / 1000;
  console.log(
    `tcp torture (${rec.name}): ${TRANSFERS} transfers, ${(bytes / 2 ** 20).toFixed(1)} MiB verified, ` +
      `${(virtualMs / 1000).toFixed(1)} s virtual, ${real.toFixed(1)} s real, ${retrans} retransmissions, ` +
      `goodput ${((bytes * 8) / (virtualMs / 1000) / 1e6).toFixed(2)} Mbit/s`,
  );
  assert.ok(retrans > 0, 'the faults did cause retransmissions');
  return { bytes, virtualMs, retrans };
}

const CUBIC: Recovery = { name: 'CUBIC with SACK', cc: 'cubic', sack: 1 };
const RENO: Recovery = { name: 'Reno with SACK', cc: 'reno', sack: 1 };
const NEWRENO: Recovery = { name: 'NewReno', cc: 'reno', sack: 0 };

test(
  `fault torture: ${TRANSFERS} seeded transfers up to ${MAX_SIZE >> 20} MiB over lossy, duplicating, reordering, corrupting links, with CUBIC, Reno and NewReno`,
  { timeout: FULL ? 2_400_000 : 360_000 },
  async (t) => {
    // One after another: each transfer halts the worlds it leaves behind.
    const out = new Map<Recovery, Awaited<ReturnType<typeof torture>>>();
    for (const rec of [CUBIC, RENO, NEWRENO]) out.set(rec, await torture(rec));
    const gp = (rec: Recovery): number => {
      const o = out.get(rec)!;
      return (o.bytes * 8) / (o.virtualMs / 1000) / 1e6;
    };
    for (const rec of [RENO, NEWRENO])
      assert.equal(out.get(rec)!.bytes, out.get(CUBIC)!.bytes, 'the same seeds, the same transfers');
    t.diagnostic(
      `goodput: CUBIC ${gp(CUBIC).toFixed(2)} Mbit/s, Reno ${gp(RENO).toFixed(2)} Mbit/s (both with SACK), ` +
        `NewReno ${gp(NEWRENO).toFixed(2)} Mbit/s`,
    );
    assert.ok(gp(CUBIC) > gp(NEWRENO), 'CUBIC with SACK recovery beats NewReno on the same seeds');
  },
);
