// sch_fq (net/sched/sch_fq.c): per-flow queues served round robin with a byte credit (DRR),
// new flows first; flow_limit and limit drops; departure times (EDT) held to; the qdisc's own
// pacing of packets without a departure time at maxrate, with the credit a late flow gets back
// (at most half a packet: "account for schedule/timers drifts"); and tc's option syntax.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World } from '../../src/index.js';
import { NET_XMIT_DROP, NET_XMIT_SUCCESS } from '../../src/net/core/netdevice.js';
import { dev_queue_xmit } from '../../src/net/core/dev.js';
import { dev_graft_qdisc } from '../../src/net/sched/sch_generic.js';
import { FqSchedData, fq_default_qopt } from '../../src/net/sched/sch_fq.js';
import { Sock, SK_PACING_FQ, SK_PACING_NONE, TCP_ESTABLISHED } from '../../src/net/core/sock.js';
import { parseFqOptions, tc_get_rate, tc_get_time } from '../../src/tools/tc_fq.js';
import type { SkBuff } from '../../src/net/core/skbuff.js';
import { AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_MAX_PACING_RATE } from '../../src/uapi/socket.js';
import { collect, frame, sleep, MS } from './helpers.js';
import { sin } from '../tcp/scenario_helpers.js';

function setup() {
  const world = new World({ seed: 5 });
  const a = world.addHost('a');
  const b = world.addHost('b');
  const link = world.link(a, b);
  return { world, link, got: collect(b.netns) };
}

/** A connected socket of a's namespace to own frames: one fq flow each. */
function flowSock(net: ConstructorParameters<typeof Sock>[0], protocol = 17): Sock {
  const sk = new Sock(net);
  sk.sk_state = TCP_ESTABLISHED;
  sk.sk_protocol = protocol;
  return sk;
}

function owned(skb: SkBuff, sk: Sock): SkBuff {
  skb.sk = sk;
  return skb;
}

test('fq defaults follow Linux: limit 10000, flow_limit 100, quantum 2 MTU, initial quantum 10 MTU, 10 s horizon', () => {
  const { link } = setup();
  const o = fq_default_qopt(link.a);
  // psched_mtu(): the MTU plus the Ethernet header.
  assert.equal(o.limit, 10000);
  assert.equal(o.flow_limit, 100);
  assert.equal(o.quantum, 2 * 1514);
  assert.equal(o.initial_quantum, 10 * 1514);
  assert.equal(o.horizon, 10e9);
  assert.equal(o.horizon_drop, true);
  assert.equal(o.rate_enable, true);
  assert.equal(o.refill_delay, 40 * MS);
  assert.equal(o.low_rate_threshold, 68750);
});

test('fq: two flows share by DRR — a quantum (two full frames) each in turn, new flows first', () => {
  const { link } = setup();
  const q = new FqSchedData(link.a);
  assert.equal(q.change({ initial_quantum: 0 }), 0);
  const net = link.a.nd_net;
  // UDP sockets with SO_MAX_PACING_RATE never take the fast path: everything goes by flow.
  const A = flowSock(net);
  const B = flowSock(net);
  A.sk_max_pacing_rate = B.sk_max_pacing_rate = 1e12;
  for (let i = 0; i < 6; i++)
    assert.equal(q.enqueue(owned(frame(link.a, 100 + i, 1514), A)), NET_XMIT_SUCCESS);
  for (let i = 0; i < 6; i++)
    assert.equal(q.enqueue(owned(frame(link.a, 200 + i, 1514), B)), NET_XMIT_SUCCESS);
  assert.equal(q.flows, 2);
  // fq marks the sockets it paces.
  assert.equal(A.sk_pacing_status, SK_PACING_FQ);
  const order: number[] = [];
  for (let skb = q.dequeue(); skb; skb = q.dequeue())
    order.push(skb.bytes()[14 + 2]! * 256 + skb.bytes()[14 + 3]!);
  assert.deepEqual(order, [100, 101, 200, 201, 102, 103, 202, 203, 104, 105, 204, 205]);
  assert.equal(q.stats.packets, 12);
  assert.equal(q.stats.backlog, 0);
  // A new flow starts with initial_quantum: ten full frames before the other flow's turn.
  const q2 = new FqSchedData(link.a);
  const C = flowSock(net);
  const D = flowSock(net);
  C.sk_max_pacing_rate = D.sk_max_pacing_rate = 1e12;
  for (let i = 0; i < 12; i++) q2.enqueue(owned(frame(link.a, 300 + i, 1514), C));
  for (let i = 0; i < 2; i++) q2.enqueue(owned(frame(link.a, 400 + i, 1514), D));
  const order2: number[] = [];
  for (let skb = q2.dequeue(); skb; skb = q2.dequeue())
    order2.push(skb.bytes()[14 + 2]! * 256 + skb.bytes()[14 + 3]!);
  assert.deepEqual(order2.slice(0, 12), [300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 400, 401]);
});

test("fq: flow_limit drops a flow's excess (flows_plimit), other flows are untouched; limit caps a band", () => {
  const { link } = setup();
  const q = new FqSchedData(link.a);
  assert.equal(q.change({ flow_limit: 3 }), 0);
  const net = link.a.nd_net;
  const A = flowSock(net);
  const B = flowSock(net);
  // Frames due in the future are not sent on the fast path: they wait in their flow.
  const later = (skb: SkBuff): SkBuff => ((skb.tstamp = net.kernel.clock.now() + 5 * MS), skb);
  const rc = [1, 2, 3, 4, 5].map((i) => q.enqueue(later(owned(frame(link.a, i), A))));
  assert.deepEqual(rc, [NET_XMIT_SUCCESS, NET_XMIT_SUCCESS, NET_XMIT_SUCCESS, NET_XMIT_DROP, NET_XMIT_DROP]);
  assert.equal(q.enqueue(later(owned(frame(link.a, 9), B))), NET_XMIT_SUCCESS);
  assert.equal(q.xstats.flows_plimit, 2);
  assert.equal(q.stats.drops, 2);
  assert.equal(q.qlen, 4);
  // limit counts the packets of a band (all of these are band 1: priority 0).
  const q2 = new FqSchedData(link.a);
  q2.change({ limit: 2 });
  for (let i = 0; i < 3; i++) q2.enqueue(later(owned(frame(link.a, i), flowSock(net))));
  assert.equal(q2.xstats.band_drops[1], 1);
  assert.equal(q2.qlen, 2);
  q2.reset();
  assert.equal(q2.qlen, 0);
  assert.equal(q2.flows, 0);
});

test('fq holds a packet until its departure time (EDT) and the watchdog sends it then', async () => {
  const { world, link, got } = setup();
  const q = new FqSchedData(link.a);
  dev_graft_qdisc(link.a, q);
  const sk = flowSock(link.a.nd_net, 6);
  const t0 = world.clock.now();
  const skb = owned(frame(link.a, 1), sk);
  skb.tstamp = t0 + 7 * MS;
  dev_queue_xmit(skb);
  // Due now: straight through (the fast path), while the first one waits.
  dev_queue_xmit(owned(frame(link.a, 2), flowSock(link.a.nd_net, 6)));
  await sleep(world, 20 * MS);
  assert.deepEqual(
    got.map((x) => [x.seq, x.t - t0]),
    [
      [2, 0],
      [1, 7 * MS],
    ],
  );
  assert.equal(q.xstats.throttled, 1);
  assert.equal(q.xstats.highprio_packets, 1);
  // Beyond the horizon: dropped (horizon_drop), or capped to it (horizon_cap).
  const far = owned(frame(link.a, 3), sk);
  far.tstamp = world.clock.now() + 11e9;
  assert.equal(dev_queue_xmit(far), NET_XMIT_DROP);
  assert.equal(q.xstats.horizon_drops, 1);
  q.change({ horizon_drop: false, horizon: 50 * MS });
  const capped = owned(frame(link.a, 4), sk);
  const t1 = world.clock.now();
  capped.tstamp = t1 + 11e9;
  assert.equal(dev_queue_xmit(capped), NET_XMIT_SUCCESS);
  await sleep(world, 100 * MS);
  assert.equal(got.at(-1)!.seq, 4);
  assert.equal(got.at(-1)!.t - t1, 50 * MS);
  assert.equal(q.xstats.horizon_caps, 1);
});

test('fq paces packets without a departure time at maxrate; a late flow gets at most half a packet back', async () => {
  const { world, link, got } = setup();
  const q = new FqSchedData(link.a);
  // One 1514-byte frame per quantum, no initial burst: 151400 B/s is one frame per 10 ms.
  assert.equal(q.change({ maxrate: 151400, quantum: 1514, initial_quantum: 0 }), 0);
  dev_graft_qdisc(link.a, q);
  const t0 = world.clock.now();
  for (let i = 0; i < 4; i++) dev_queue_xmit(frame(link.a, i, 1514));
  await sleep(world, 47 * MS);
  assert.deepEqual(
    got.map((x) => (x.t - t0) / MS),
    [0, 10, 20, 30],
  );
  // The flow was due again at 40 ms and sends at 47 ms: 7 ms late, so the next gap is
  // 10 - min(10 / 2, 7) = 5 ms instead of 10.
  dev_queue_xmit(frame(link.a, 10, 1514));
  dev_queue_xmit(frame(link.a, 11, 1514));
  dev_queue_xmit(frame(link.a, 12, 1514));
  await sleep(world, 50 * MS);
  assert.deepEqual(
    got.slice(4).map((x) => (x.t - t0) / MS),
    [47, 52, 62],
  );
  // pacing off: no spacing at all.
  q.change({ rate_enable: false });
  const t1 = world.clock.now();
  for (let i = 0; i < 3; i++) dev_queue_xmit(frame(link.a, 20 + i, 1514));
  await sleep(world, 1 * MS);
  assert.deepEqual(
    got.slice(7).map((x) => x.t - t1),
    [0, 0, 0],
  );
});

test('fq: packets of one socket keep their departure order even when stamped out of order', () => {
  const { link } = setup();
  const q = new FqSchedData(link.a);
  const sk = flowSock(link.a.nd_net, 6);
  const now = link.a.nd_net.kernel.clock.now();
  const at = [30, 10, 20, 10].map((ms, i) => {
    const skb = owned(frame(link.a, i), sk);
    skb.tstamp = now + ms * MS;
    return q.enqueue(skb);
  });
  assert.deepEqual(at, [0, 0, 0, 0]);
  // Nothing is due yet.
  assert.equal(q.dequeue(), null);
  assert.equal(q.throttled_flows, 1);
  assert.equal(sk.sk_pacing_status, SK_PACING_FQ);
  const other = flowSock(link.a.nd_net, 6);
  q.change({ rate_enable: false });
  q.enqueue(owned(frame(link.a, 9), other));
  assert.equal(other.sk_pacing_status, SK_PACING_NONE);
});

test('tc fq options: rates in bit/s unless a unit says otherwise, times in µs, sizes in bytes', () => {
  assert.equal(tc_get_rate('8mbit'), 1_000_000);
  assert.equal(tc_get_rate('100kbps'), 100_000);
  assert.equal(tc_get_rate('800'), 100);
  assert.equal(tc_get_time('40ms'), 40 * MS);
  assert.equal(tc_get_time('100'), 100_000);
  const o = parseFqOptions([
    'limit',
    '500',
    'flow_limit',
    '50',
    'quantum',
    '3k',
    'maxrate',
    '1gbit',
    'nopacing',
  ]);
  assert.deepEqual(
    { ...o },
    { limit: 500, flow_limit: 50, quantum: 3072, maxrate: 125_000_000, rate_enable: false },
  );
  assert.throws(() => parseFqOptions(['bogus']));
  const { link } = setup();
  const q = new FqSchedData(link.a);
  // fq_change() rejects a quantum of 0 or over 1 MiB, and changes nothing then.
  assert.equal(q.change({ quantum: 0, limit: 5 }), -22);
  assert.equal(q.limit, 10000);
  assert.equal(q.change({ weights: [1, 2, 3] }), -22);
});

test('fq paces a connected UDP socket at its SO_MAX_PACING_RATE: the qdisc spaces a quantum per quantum / rate', async () => {
  const world = new World({ seed: 8 });
  const a = world.addHost('a');
  const b = world.addHost('b');
  const link = world.link(a, b);
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  b.ip('ip addr add 10.0.0.2/24 dev eth0');
  const mac = [...link.b.dev_addr].map((x) => x.toString(16).padStart(2, '0')).join(':');
  a.ip(`ip neigh add 10.0.0.2 lladdr ${mac} dev eth0 nud permanent`);
  const q = new FqSchedData(link.a);
  dev_graft_qdisc(link.a, q);
  const departures: number[] = [];
  link.a.taps.push((_skb, _dev, out) => void (out && departures.push(world.clock.now())));
  const tb = b.spawn({ comm: 'sink' });
  tb.bind(tb.socket(AF_INET, SOCK_DGRAM, 0), sin('10.0.0.2', 9));
  const t = a.spawn({ comm: 'udp' });
  const fd = t.socket(AF_INET, SOCK_DGRAM, 0);
  await t.connect(fd, sin('10.0.0.2', 9));
  const rate = 100_000;
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, rate, true);
  t.setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, v);
  // 80 datagrams of 1000 bytes: 1042-byte frames, queued at once (fewer than flow_limit).
  for (let i = 0; i < 80; i++) await t.send(fd, new Uint8Array(1000));
  await sleep(world, 2000 * MS);
  assert.equal(departures.length, 80);
  // The flow's initial quantum goes at once; then one quantum (3028 bytes) per 30.28 ms.
  assert.equal(departures[14], departures[0]);
  const span = departures[79]! - departures[20]!;
  const measured = (59 * 1042 * 1e9) / span;
  assert.ok(Math.abs(measured - rate) / rate < 0.05, `measured ${measured.toFixed(0)} B/s`);
  assert.equal(q.stats.drops, 0);
});
