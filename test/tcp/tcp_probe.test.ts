// The tcp:tcp_probe tracepoint: one record per segment an established socket receives, with
// the sender's state before the segment is processed, as Linux's trace lines print it.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { TcpProbeRecord } from '../../src/index.js';
import {
  pair,
  listenOn,
  connectPair,
  writeAll,
  readN,
  pattern,
  info,
  haltWorlds,
  sleep,
} from './scenario_helpers.js';

afterEach(haltWorlds);

/** A trace line of Linux 6.18 (tracefs on this machine), the shape ours must have. */
const LINE =
  /^ +\S+-\d+ +\[\d{3}\] \S{5} +\d+\.\d{6}: tcp_probe: family=AF_INET src=(\S+):(\d+) dest=(\S+):(\d+) mark=0x[0-9a-f]+ data_len=(\d+) snd_nxt=0x([0-9a-f]+) snd_una=0x([0-9a-f]+) snd_cwnd=(\d+) ssthresh=(\d+) snd_wnd=(\d+) srtt=(\d+) rcv_wnd=(\d+) sock_cookie=([0-9a-f]+) skbaddr=[0-9a-f]{16} skaddr=[0-9a-f]{16}$/;

async function bulk(seed: number, loss: number, enable: (h: ReturnType<typeof pair>) => void) {
  const p = pair(seed, { delay: 10, loss, rate: '20mbit', limit: 200 });
  enable(p);
  const l = listenOn(p.tb, '10.0.0.2', 5001);
  const { c, s } = await connectPair(p.ta, p.tb, l, '10.0.0.2', 5001);
  const data = pattern(2 << 20, 3);
  // Both stay ESTABLISHED (no FIN): tcp_probe fires in tcp_rcv_established only, as in Linux.
  const wa = writeAll(p.ta, c, data);
  const got = await readN(p.tb, s, data.length);
  await wa;
  assert.equal(Buffer.compare(got, data), 0);
  return { ...p, c, s };
}

test('tcp_probe: a record per ACK with the sender state, in Linux trace lines', async () => {
  const recs: TcpProbeRecord[] = [];
  const recv: TcpProbeRecord[] = [];
  const p = await bulk(1, 0.01, ({ a, b }) => {
    assert.ok(a.tracing.availableEvents().includes('tcp:tcp_probe'));
    assert.ok(a.tracing.enable('tcp:tcp_probe'));
    a.tracing.on<TcpProbeRecord>('tcp_probe', (r) => recs.push(r));
    b.tracing.on<TcpProbeRecord>('tcp_probe', (r) => recv.push(r));
  });
  const sent = recs;
  // The sender sees one segment per ACK the receiver sends (delayed ACKs: about one per two MSS).
  assert.ok(sent.length > 600 && sent.length < 1600, `records ${sent.length}`);
  const ti = info(p.ta, p.c);
  let lossSeen = false;
  for (let i = 1; i < sent.length; i++) {
    const [q, r] = [sent[i - 1]!, sent[i]!];
    assert.ok(r.time_ns >= q.time_ns, 'in time order');
    assert.ok(((r.snd_una - q.snd_una) | 0) >= 0, 'snd_una never goes back');
    assert.ok(((r.snd_nxt - r.snd_una) | 0) >= 0, 'snd_nxt at or past snd_una');
    if (r.ssthresh < 0x7fffffff) lossSeen = true;
  }
  assert.ok(lossSeen, 'a loss set ssthresh below "infinity" (0x7fffffff)');
  assert.ok(ti.tcpi_total_retrans > 0, 'the 1% loss caused retransmissions');
  // srtt in µs: the 20 ms round trip plus queueing at 20 Mbit/s.
  const last = sent.at(-1)!;
  assert.ok(last.srtt >= 20_000 && last.srtt < 200_000, `srtt ${last.srtt} µs`);
  assert.equal(last.saddr, '10.0.0.1');
  assert.equal(last.daddr, '10.0.0.2');
  assert.equal(last.dport, 5001);
  assert.ok(
    sent.some((r) => r.in_flight > 10),
    'packets in flight are recorded',
  );
  // The text buffer holds the same hits, in Linux's format.
  const lines = p.a.tracing.read().trimEnd().split('\n');
  assert.equal(lines.length, recs.length);
  for (const [i, line] of lines.entries()) {
    const m = LINE.exec(line);
    assert.ok(m, `line ${i}: ${line}`);
    const r = recs[i]!;
    assert.deepEqual(
      [m[1], +m[2]!, m[3], +m[4]!, +m[5]!, parseInt(m[6]!, 16), parseInt(m[7]!, 16), +m[8]!, +m[9]!],
      [r.saddr, r.sport, r.daddr, r.dport, r.data_len, r.snd_nxt, r.snd_una, r.snd_cwnd, r.ssthresh],
    );
    assert.deepEqual([+m[10]!, +m[11]!, +m[12]!], [r.snd_wnd, r.srtt, r.rcv_wnd]);
  }
  // The receiver's records carry the data it received (and retransmitted copies of some).
  assert.ok(recv.every((r) => r.sport === 5001 && r.dport === last.sport));
  assert.ok(recv.reduce((n, r) => n + r.data_len, 0) >= 2 << 20, 'the receiver saw every payload byte');
});

test('tcp_probe: nothing recorded unless enabled; disabling and unregistering stop it', async () => {
  const p = await bulk(2, 0, () => {});
  assert.equal(p.a.tracing.read(), '');
  const got: TcpProbeRecord[] = [];
  const off = p.a.tracing.on<TcpProbeRecord>('tcp:tcp_probe', (r) => got.push(r))!;
  // The connection is established and idle: a write brings ACKs, each a record.
  await writeAll(p.tb, p.s, pattern(100_000, 1));
  await sleep(p.w, 200);
  assert.ok(got.length > 0, 'a probe receives records without the buffer');
  assert.equal(p.a.tracing.read(), '', 'the buffer records only when the event is enabled');
  off();
  const n = got.length;
  await writeAll(p.tb, p.s, pattern(100_000, 2));
  await sleep(p.w, 200);
  assert.equal(got.length, n, 'unregistered');
  assert.equal(
    p.a.tracing.on('tcp:no_such_event', () => {}),
    null,
  );
  assert.equal(p.a.tracing.enable('no_such_event'), false);
});
