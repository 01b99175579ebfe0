import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, Link, SyscallError } from '../../src/index.js';
import { dev_get_by_name } from '../../src/net/core/dev.js';
import { IFF_UP } from '../../src/uapi/if.js';
import { parseDuration, parseProbability, parseRate } from '../../src/sim/link.js';
import { collect, send, sleep, MS } from './helpers.js';

test('world.link names ends eth0, eth1… per host, brings them up, no queue unless impaired', () => {
  const world = new World();
  const [a, b, c] = ['a', 'b', 'c'].map((n) => world.addHost(n));
  const ab = world.link(a, b);
  const ac = world.link(a, c, { delay: '1ms' });
  assert.ok(ab instanceof Link);
  assert.deepEqual([ab.a.name, ab.b.name, ac.a.name, ac.b.name], ['eth0', 'eth0', 'eth1', 'eth0']);
  assert.equal(dev_get_by_name(a.netns, 'eth1'), ac.a);
  for (const d of [ab.a, ab.b, ac.a, ac.b]) assert.ok(d.flags & IFF_UP);
  assert.equal(ab.a.qdisc, null, 'veth is noqueue');
  assert.equal(ac.a.qdisc?.id, 'netem');
  assert.equal(ac.b.qdisc?.id, 'netem', 'both directions impaired');
  assert.ok(ab.a.dev_addr.some((x) => x !== 0) && (ab.a.dev_addr[0] & 3) === 2, 'random, local, unicast');
});

test('a link may join a host to itself; mtu applies to both ends', async () => {
  const world = new World();
  const a = world.addHost('a');
  const l = world.link(a, a, { mtu: 9000 });
  assert.deepEqual([l.a.name, l.b.name, l.a.mtu, l.b.mtu], ['eth0', 'eth1', 9000, 9000]);
  const got = collect(a.netns, l.b);
  send(l.a, 1, 8000);
  await sleep(world, MS);
  assert.equal(got.length, 1);
  assert.throws(() => world.link(a, a, { mtu: 10 }), SyscallError);
  assert.throws(() => world.link(a, a, { loss: 2 }), /loss/);
  // Nothing half-made is left behind: the next link still gets eth2, eth3.
  const next = world.link(a, a);
  assert.deepEqual([next.a.name, next.b.name], ['eth2', 'eth3']);
});

test('tc-style units', () => {
  assert.equal(parseDuration(20), 20_000_000);
  assert.equal(parseDuration('20ms'), 20_000_000);
  assert.equal(parseDuration('1.5s'), 1_500_000_000);
  assert.equal(parseDuration('250us'), 250_000);
  assert.equal(parseDuration('100ns'), 100);
  assert.equal(parseProbability('1%'), Math.round(0.01 * 0xffffffff));
  assert.equal(parseProbability(1), 0xffffffff);
  assert.equal(parseRate('100mbit'), 12_500_000);
  assert.equal(parseRate('1gbit'), 125_000_000);
  assert.equal(parseRate('64kbit'), 8000);
  assert.equal(parseRate('1mbps'), 1_000_000, 'bps is bytes per second, as tc');
  assert.equal(parseRate('1mibit'), 131072);
  assert.equal(parseRate(8000), 1000, 'numbers are bits per second');
});
