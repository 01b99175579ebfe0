import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World } from '../../src/index.js';
import {
  dev_add_pack,
  dev_close,
  dev_queue_xmit,
  dev_open,
  type PacketType,
} from '../../src/net/core/dev.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import { PACKET_BROADCAST, PACKET_HOST, PACKET_OTHERHOST, kfree_skb } from '../../src/net/core/skbuff.js';
import {
  br_add_bridge,
  br_add_if,
  br_del_if,
  br_set_ageing_time,
  br_set_mac_address,
  netdev_bridge,
} from '../../src/drivers/net/bridge.js';
import { veth_newlink } from '../../src/drivers/net/veth.js';
import { format_mac } from '../../src/net/ethernet/eth.js';
import { IFF_PROMISC } from '../../src/uapi/if.js';
import { ETH_P_EXP, collect, frame, send, sleep, until, MS, SEC } from '../sched/helpers.js';

function lan(n = 3, seed = 1) {
  const world = new World({ seed });
  const hosts = Array.from({ length: n }, (_, i) => world.addHost(`h${i}`));
  const sw = world.bridge('sw', hosts);
  const dev = hosts.map((h) => sw.linkOf(h)!.a);
  const got = hosts.map((h) => collect(h.netns));
  return { world, hosts, sw, dev, got };
}

const seqs = (g: { seq: number }[]) => g.map((x) => x.seq);

test('unknown unicast floods; once learned, frames go to one port only', async () => {
  const { world, sw, dev, got } = lan();
  // h0 → h1, nothing learned yet: flooded to h1 and h2, not back to h0.
  send(dev[0], 1, 64, dev[1].dev_addr);
  await sleep(world, MS);
  assert.deepEqual(got.map(seqs), [[], [1], [1]]);
  assert.equal(got[1][0].pkt_type, PACKET_HOST);
  assert.equal(got[2][0].pkt_type, PACKET_OTHERHOST);
  // h1 answers h0: h0 was learned, so only h0 gets it.
  send(dev[1], 2, 64, dev[0].dev_addr);
  await sleep(world, MS);
  assert.deepEqual(got.map(seqs), [[2], [1], [1]]);
  // And now h1 is known too.
  send(dev[0], 3, 64, dev[1].dev_addr);
  await sleep(world, MS);
  assert.deepEqual(got.map(seqs), [[2], [1, 3], [1]]);
  const fdb = sw.fdb().filter((r) => !r.local);
  assert.deepEqual(
    fdb.map((r) => [r.mac, r.port]).sort(),
    [
      [format_mac(dev[0].dev_addr), sw.links[0].b.name],
      [format_mac(dev[1].dev_addr), sw.links[1].b.name],
    ].sort(),
  );
});

test('broadcast reaches every other port, never the sender', async () => {
  const { world, dev, got } = lan(4);
  send(dev[2], 7);
  await sleep(world, MS);
  assert.deepEqual(got.map(seqs), [[7], [7], [], [7]]);
  assert.ok(got[0].every((a) => a.pkt_type === PACKET_BROADCAST));
});

test('learned addresses age out after 300 s; traffic refreshes them', async () => {
  const { world, sw, dev, got } = lan();
  send(dev[0], 1); // h0 is learned
  await sleep(world, MS);
  const learned = () => sw.fdb().some((r) => r.mac === format_mac(dev[0].dev_addr));
  assert.ok(learned());
  const t0 = world.clock.now();
  await until(world, t0 + 299 * SEC);
  assert.ok(learned(), 'still there at 299 s');
  // h0 speaks again at 299 s: the entry lives on.
  send(dev[0], 2);
  await sleep(world, 2 * SEC);
  assert.ok(learned(), 'refreshed');
  await until(world, t0 + 598 * SEC);
  assert.ok(learned(), 'still there 299 s after the refresh');
  await until(world, t0 + 299 * SEC + 300 * SEC + 20 * MS);
  assert.ok(!learned(), 'aged out 300 s after it was last seen');
  // Unknown again: a frame to h0 floods.
  const before = got[2].length;
  send(dev[1], 3, 64, dev[0].dev_addr);
  await sleep(world, MS);
  assert.equal(got[2].length, before + 1);
  // …and teaches the switch where h1 is.
  assert.ok(sw.fdb().some((r) => r.mac === format_mac(dev[1].dev_addr)));
});

test('the ageing timer stops once nothing is left to age', async () => {
  const { world, sw, dev } = lan(2);
  br_set_ageing_time(sw.dev, 10 * SEC);
  send(dev[0], 1);
  await sleep(world, MS);
  const br = netdev_bridge(sw.dev)!;
  assert.equal(world.clock.timer_pending(br.fdb.gc_timer), true);
  await sleep(world, 11 * SEC);
  assert.equal(sw.fdb().filter((r) => !r.local).length, 0);
  assert.equal(world.clock.timer_pending(br.fdb.gc_timer), false);
});

test('a station that moves is re-pointed to its new port', async () => {
  const world = new World({ seed: 4 });
  const h = [world.addHost('h0'), world.addHost('h1'), world.addHost('h2')];
  const sw = world.bridge('sw', h);
  const got = h.map((x) => collect(x.netns));
  const mac = Uint8Array.of(0x02, 0, 0, 0, 0, 0x42);
  const from = (i: number, seq: number, dst: Uint8Array | null) => {
    const skb = frame(sw.linkOf(h[i])!.a, seq, 64, dst);
    skb.head.set(mac, skb.data + 6); // the station's address as source
    dev_queue_xmit(skb);
  };
  from(0, 1, null);
  await sleep(world, MS);
  assert.equal(sw.fdb().find((r) => r.mac === '02:00:00:00:00:42')!.port, sw.links[0].b.name);
  from(2, 2, null);
  await sleep(world, MS);
  assert.equal(sw.fdb().find((r) => r.mac === '02:00:00:00:00:42')!.port, sw.links[2].b.name);
  send(sw.linkOf(h[1])!.a, 3, 64, mac);
  await sleep(world, MS);
  assert.deepEqual(got.map(seqs), [[2], [1, 2], [1, 3]]);
});

test('frames with a multicast or zero source are dropped; 802.1D reserved addresses as Linux treats them', async () => {
  const { world, dev, got, sw } = lan();
  const skb = frame(dev[0], 1);
  skb.head[skb.data + 6] |= 1;
  dev_queue_xmit(skb);
  const z = frame(dev[0], 2);
  z.head.fill(0, z.data + 6, z.data + 12);
  dev_queue_xmit(z);
  send(dev[0], 3, 64, Uint8Array.of(0x01, 0x80, 0xc2, 0, 0, 0x0e)); // LLDP: not across
  send(dev[0], 4, 64, Uint8Array.of(0x01, 0x80, 0xc2, 0, 0, 0x01)); // pause: dropped
  await sleep(world, MS);
  assert.deepEqual(got.map(seqs), [[], [], []]);
  assert.equal(sw.links[0].b.stats.rx_dropped, 2);
  // The LLDP frame went to the switch port's own stack (nobody listens there)…
  assert.equal(sw.links[0].b.stats.rx_nohandler, 1);
  // …and taught the switch where h0 is.
  assert.ok(sw.fdb().some((r) => r.mac === format_mac(dev[0].dev_addr)));
  // With STP off, the bridge group address (BPDUs) is flooded like any multicast.
  send(dev[0], 5, 64, Uint8Array.of(0x01, 0x80, 0xc2, 0, 0, 0x00));
  await sleep(world, MS);
  assert.deepEqual(got.map(seqs), [[], [5], [5]]);
});

test('the bridge device has its own stack: frames for its address go up, not out', async () => {
  const { world, sw, dev, got } = lan();
  const up: { seq: number; dev: string; pkt_type: number }[] = [];
  const pt: PacketType = {
    type: ETH_P_EXP,
    dev: sw.dev,
    func(skb, d) {
      up.push({ seq: skb.bytes()[3], dev: d.name, pkt_type: skb.pkt_type });
      kfree_skb(skb);
      return 0;
    },
  };
  dev_add_pack(sw.host.netns, pt);
  send(dev[0], 1, 64, sw.dev.dev_addr);
  await sleep(world, MS);
  assert.deepEqual(up, [{ seq: 1, dev: 'br0', pkt_type: PACKET_HOST }]);
  assert.deepEqual(got.map(seqs), [[], [], []]);
  // Broadcasts go both up and out.
  send(dev[1], 2);
  await sleep(world, MS);
  assert.deepEqual(
    up.map((u) => u.seq),
    [1, 2],
  );
  assert.deepEqual(got.map(seqs), [[2], [], [2]]);
  assert.equal(sw.dev.stats.rx_packets, 2);
  // The bridge sends: to the learned port only (h0 and h1 are known by now).
  send(sw.dev, 3, 64, dev[0].dev_addr);
  await sleep(world, MS);
  assert.deepEqual(got.map(seqs), [[2, 3], [], [2]]);
  // …or everywhere, for a broadcast.
  send(sw.dev, 4);
  await sleep(world, MS);
  assert.deepEqual(got.map(seqs), [[2, 3, 4], [4], [2, 4]]);
  assert.equal(sw.dev.stats.tx_packets, 2);
});

test('bridge address: the lowest port address unless set; ports become promiscuous', () => {
  const world = new World({ seed: 5 });
  const h = world.addHost('h');
  const br = br_add_bridge(h.netns, 'br0') as NetDevice;
  const ports: NetDevice[] = [];
  for (let i = 0; i < 3; i++) {
    const [x] = veth_newlink(h.netns, `p${i}`, h.netns, `q${i}`) as [NetDevice, NetDevice];
    assert.equal(br_add_if(br, x), 0);
    assert.ok(x.flags & IFF_PROMISC);
    assert.equal(x.master, br);
    ports.push(x);
  }
  const lowest = ports.map((p) => format_mac(p.dev_addr)).sort()[0];
  assert.equal(format_mac(br.dev_addr), lowest);
  const mine = Uint8Array.of(0x02, 0x11, 0x22, 0x33, 0x44, 0x55);
  assert.equal(br_set_mac_address(br, mine), 0);
  const [y] = veth_newlink(h.netns, 'p9', h.netns, 'q9') as [NetDevice, NetDevice];
  y.dev_addr.fill(0);
  y.dev_addr[0] = 2;
  assert.equal(br_add_if(br, y), 0);
  assert.equal(format_mac(br.dev_addr), '02:11:22:33:44:55', 'set by hand: stays');
  assert.equal(br_del_if(br, y), 0);
  assert.equal(y.master, null);
  assert.equal(y.rx_handler, null);
  assert.equal(y.flags & IFF_PROMISC, 0);
  assert.equal(br_set_mac_address(br, Uint8Array.of(1, 0, 0, 0, 0, 0)), -22);

  // Without a hand-set address, a bridge whose last port leaves has the zero address (Linux).
  const br2 = br_add_bridge(h.netns, 'br2') as NetDevice;
  assert.notEqual(format_mac(br2.dev_addr), '00:00:00:00:00:00', 'random at first');
  const [z] = veth_newlink(h.netns, 'z0', h.netns, 'z1') as [NetDevice, NetDevice];
  br_add_if(br2, z);
  assert.equal(format_mac(br2.dev_addr), format_mac(z.dev_addr));
  br_del_if(br2, z);
  assert.equal(format_mac(br2.dev_addr), '00:00:00:00:00:00');
});

test('br_add_if refuses loopback (EINVAL), itself (ELOOP), an enslaved device (EBUSY)', () => {
  const world = new World();
  const h = world.addHost('h');
  const br = br_add_bridge(h.netns, 'br0') as NetDevice;
  const br2 = br_add_bridge(h.netns, 'br1') as NetDevice;
  assert.equal(br_add_if(br, h.lo), -22);
  assert.equal(br_add_if(br, br), -40);
  assert.equal(br_add_if(br, br2), -40);
  const [x] = veth_newlink(h.netns, 'p0', h.netns, 'q0') as [NetDevice, NetDevice];
  assert.equal(br_add_if(br, x), 0);
  assert.equal(br_add_if(br2, x), -16);
  assert.equal(br_add_bridge(h.netns, 'br0'), -17);
});

test('a port or bridge that is down forwards nothing', async () => {
  const { world, sw, dev, got } = lan();
  dev_close(sw.links[2].b);
  send(dev[0], 1);
  await sleep(world, MS);
  assert.deepEqual(got.map(seqs), [[], [1], []]);
  dev_close(sw.dev);
  send(dev[0], 2);
  await sleep(world, MS);
  assert.deepEqual(got.map(seqs), [[], [1], []]);
  dev_open(sw.dev);
  dev_open(sw.links[2].b);
  send(dev[0], 3);
  await sleep(world, MS);
  assert.deepEqual(got.map(seqs), [[], [1, 3], [3]]);
});

test('switch links can be impaired like any link', async () => {
  const world = new World({ seed: 6 });
  const a = world.addHost('a');
  const b = world.addHost('b');
  const sw = world.bridge('sw', [a]);
  sw.connect(b, { delay: '5ms' });
  const got = collect(b.netns);
  const t0 = world.clock.now();
  send(sw.linkOf(a)!.a, 1);
  await sleep(world, 20 * MS);
  assert.equal(got.length, 1);
  assert.equal(got[0].t - t0, 5 * MS, 'delayed on the switch → b leg');
  assert.throws(() => world.bridge('a'), /exists/);
  assert.throws(() => world.bridge('sw'), /exists/);
});

test('the bridge follows its ports: smallest MTU, a port that goes away leaves', async () => {
  const world = new World({ seed: 7 });
  const h = world.addHost('h');
  const br = br_add_bridge(h.netns, 'br0') as NetDevice;
  const [p0] = veth_newlink(h.netns, 'p0', h.netns, 'q0') as [NetDevice, NetDevice];
  const [p1] = veth_newlink(h.netns, 'p1', h.netns, 'q1') as [NetDevice, NetDevice];
  br_add_if(br, p0);
  br_add_if(br, p1);
  assert.equal(br.mtu, 1500);
  const { dev_set_mtu, unregister_netdevice } = await import('../../src/net/core/dev.js');
  assert.equal(dev_set_mtu(p1, 1400), 0);
  assert.equal(br.mtu, 1400);
  unregister_netdevice(p1);
  const b = netdev_bridge(br)!;
  assert.deepEqual(
    b.port_list.map((p) => p.dev.name),
    ['p0'],
  );
  assert.equal(br.mtu, 1500);
  assert.equal(format_mac(br.dev_addr), format_mac(p0.dev_addr));
});
