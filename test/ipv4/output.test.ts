// The output path: IP IDs (ip_select_ident), learned path MTUs (next-hop exceptions that
// fragmentation obeys and that expire), broadcasts looped back to the sender, determinism.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newWorld, link, listen, addr, flush, mib, pattern, sendProto } from './helpers.js';
import type { SkBuff } from '../../src/net/core/skbuff.js';
import { ip_route_output, ipv4_update_pmtu, dst_mtu, type Rtable } from '../../src/net/ipv4/route.js';

function pair(seed = 31) {
  const w = newWorld(seed);
  const a = w.addHost('a');
  const b = w.addHost('b');
  const [ea, eb] = link(a, 'eth0', b, 'eth0');
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  b.ip('ip addr add 10.0.0.2/24 dev eth0');
  const frames: Uint8Array[] = [];
  ea.taps.push((skb: SkBuff, _d, out) => {
    if (out) frames.push(skb.bytes().slice(14));
  });
  return { w, a, b, ea, eb, frames };
}

const id = (f: Uint8Array): number => (f[4] << 8) | f[5];

test('IP IDs: 0 with DF, counters per destination otherwise, the same for the same seed', async () => {
  const run = async (): Promise<number[]> => {
    const { a, frames } = pair(99);
    a.ip('ip route add 10.9.0.0/16 via 10.0.0.2');
    sendProto(a, addr('10.0.0.2'), pattern(10), { df: true });
    for (let i = 0; i < 3; i++) sendProto(a, addr('10.0.0.2'), pattern(10));
    sendProto(a, addr('10.9.0.1'), pattern(10));
    await flush();
    return frames.map(id);
  };
  const ids = await run();
  assert.equal(ids.length, 5);
  assert.equal(ids[0], 0);
  // Consecutive datagrams to one destination take consecutive IDs from its counter.
  assert.equal((ids[2] - ids[1]) & 0xffff, 1);
  assert.equal((ids[3] - ids[2]) & 0xffff, 1);
  assert.deepEqual(await run(), ids);
});

test('a learned path MTU makes the sender fragment smaller, and expires', async () => {
  const { w, a, b, frames } = pair();
  const got = listen(b);
  const B = addr('10.0.0.2');
  a.ip('ip route add 10.9.0.0/16 via 10.0.0.2');
  const rt0 = ip_route_output(a.netns, { daddr: B, saddr: 0, tos: 0, oif: 0 }) as Rtable;
  assert.equal(dst_mtu(rt0, w.clock.now()), 1500);
  ipv4_update_pmtu(a.netns, B, 1000);
  const rt = ip_route_output(a.netns, { daddr: B, saddr: 0, tos: 0, oif: 0 }) as Rtable;
  assert.equal(rt.rt_pmtu, 1000);
  assert.equal(dst_mtu(rt, w.clock.now()), 1000);
  // Other destinations through the same route are not affected.
  const other = ip_route_output(a.netns, { daddr: addr('10.0.0.3'), saddr: 0, tos: 0, oif: 0 }) as Rtable;
  assert.equal(dst_mtu(other, w.clock.now()), 1500);
  // Never below net.ipv4.route.min_pmtu (552), never upwards.
  ipv4_update_pmtu(a.netns, B, 300);
  assert.equal((ip_route_output(a.netns, { daddr: B, saddr: 0, tos: 0, oif: 0 }) as Rtable).rt_pmtu, 552);
  ipv4_update_pmtu(a.netns, B, 1400);
  assert.equal((ip_route_output(a.netns, { daddr: B, saddr: 0, tos: 0, oif: 0 }) as Rtable).rt_pmtu, 552);
  sendProto(a, B, pattern(1200, 8));
  await flush(1);
  assert.equal(frames.length, 3);
  assert.ok(frames.every((f) => f.length <= 552));
  assert.equal(got.length, 1);
  assert.deepEqual(got[0].payload, pattern(1200, 8));
  assert.match(a.ip('ip route get 10.0.0.2'), /cache expires 600sec mtu 552 \n$/);
  // Ten minutes later (net.ipv4.route.mtu_expires) the exception is gone.
  (w.clock as unknown as { advance(ns: number): void }).advance(601e9);
  const later = ip_route_output(a.netns, { daddr: B, saddr: 0, tos: 0, oif: 0 }) as Rtable;
  assert.equal(dst_mtu(later, w.clock.now()), 1500);
});

test('broadcasts go out on the link and are looped back to the sender', async () => {
  const { a, b, frames } = pair();
  const gotA = listen(a);
  const gotB = listen(b);
  assert.equal(sendProto(a, addr('10.0.0.255'), pattern(20)), 0);
  await flush();
  assert.equal(frames.length, 1);
  assert.equal(gotB.length, 1);
  assert.equal(gotA.length, 1);
  assert.equal(gotA[0].saddr, addr('10.0.0.1'));
  assert.equal(mib(a, 'IpExt', 'OutBcastPkts'), 1);
  assert.equal(mib(a, 'IpExt', 'InBcastPkts'), 1);
  assert.equal(mib(b, 'IpExt', 'InBcastPkts'), 1);
});

test('255.255.255.255 needs an interface (or a source) to leave by', () => {
  const { a } = pair();
  // No route for the limited broadcast without oif: the main table has none.
  const r = ip_route_output(a.netns, { daddr: 0xffffffff, saddr: 0, tos: 0, oif: 0 });
  assert.equal(typeof r, 'number');
  const fl = { daddr: 0xffffffff, saddr: addr('10.0.0.1'), tos: 0, oif: 0 };
  const rt = ip_route_output(a.netns, fl) as Rtable;
  assert.equal(rt.dev.name, 'eth0');
  const fl2 = { daddr: 0xffffffff, saddr: 0, tos: 0, oif: 2 };
  const rt2 = ip_route_output(a.netns, fl2) as Rtable;
  assert.equal(rt2.dev.ifindex, 2);
  assert.equal(fl2.saddr, addr('10.0.0.1'));
});
