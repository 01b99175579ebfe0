import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World } from '../../src/index.js';
import { veth_newlink } from '../../src/drivers/net/veth.js';
import {
  dev_add_pack,
  dev_close,
  dev_open,
  dev_queue_xmit,
  netdev_state,
  netif_carrier_set,
  register_netdevice,
  type PacketType,
} from '../../src/net/core/dev.js';
import { NetDevice } from '../../src/net/core/netdevice.js';
import {
  kfree_skb,
  netdev_alloc_skb,
  skb_clone,
  skb_unshare,
  PACKET_HOST,
  PACKET_BROADCAST,
} from '../../src/net/core/skbuff.js';
import type { SkBuff } from '../../src/net/core/skbuff.js';
import type { Net } from '../../src/net/core/net_namespace.js';
import { ETH_HLEN } from '../../src/uapi/if.js';

const ETH_P_EXP = 0x88b5; // IEEE local experimental EtherType

function collector(net: Net): { got: { data: number[]; pkt_type: number; dev: string }[] } {
  const got: { data: number[]; pkt_type: number; dev: string }[] = [];
  const pt: PacketType = {
    type: ETH_P_EXP,
    dev: null,
    func(skb: SkBuff, dev: NetDevice) {
      got.push({ data: Array.from(skb.bytes()), pkt_type: skb.pkt_type, dev: dev.name });
      kfree_skb(skb);
      return 0;
    },
  };
  dev_add_pack(net, pt);
  return { got };
}

function frame(dev: NetDevice, payload: number[], daddr: Uint8Array | null): SkBuff {
  const skb = netdev_alloc_skb(ETH_HLEN, payload.length);
  skb.head.set(payload, skb.put(payload.length));
  skb.dev = dev;
  dev.header_ops!.create(skb, dev, ETH_P_EXP, daddr, null);
  return skb;
}

const tick = () => new Promise((r) => setImmediate(r));

test('a veth pair joins two hosts: frames cross, classified and counted', async () => {
  const world = new World({ seed: 3 });
  const a = world.addHost('a');
  const b = world.addHost('b');
  const pair = veth_newlink(a.netns, 'eth0', b.netns, 'eth0');
  assert.ok(Array.isArray(pair));
  const [da, db] = pair;
  dev_open(da);
  dev_open(db);
  const rx = collector(b.netns);
  dev_queue_xmit(frame(da, [1, 2, 3], db.dev_addr));
  assert.equal(rx.got.length, 0, 'delivery happens in the receive softirq, after the sender returns');
  await tick();
  dev_queue_xmit(frame(da, [4], null));
  await tick();
  assert.deepEqual(rx.got, [
    { data: [1, 2, 3], pkt_type: PACKET_HOST, dev: 'eth0' },
    { data: [4], pkt_type: PACKET_BROADCAST, dev: 'eth0' },
  ]);
  assert.equal(da.stats.tx_packets, 2);
  assert.equal(db.stats.rx_packets, 2);
  assert.equal(db.stats.rx_bytes, ETH_HLEN + 3 + ETH_HLEN + 1);
  assert.equal(db.stats.multicast, 1);
});

test('down devices and lost carrier drop; frames with no handler are counted', async () => {
  const world = new World();
  const a = world.addHost('a');
  const b = world.addHost('b');
  const [da, db] = veth_newlink(a.netns, 'eth0', b.netns, 'eth0') as [NetDevice, NetDevice];
  dev_open(da);
  dev_queue_xmit(frame(da, [1], null));
  assert.equal(da.stats.tx_dropped, 1, 'peer down');
  dev_open(db);
  netif_carrier_set(da, false);
  dev_queue_xmit(frame(da, [1], null));
  assert.equal(da.stats.tx_dropped, 2, 'no carrier');
  netif_carrier_set(da, true);
  dev_queue_xmit(frame(da, [1], null));
  await tick();
  assert.equal(db.stats.rx_nohandler, 1);
  dev_close(da);
  assert.ok(dev_queue_xmit(frame(da, [1], null)) < 0, 'ENETDOWN');
});

test('the loopback device receives what it sends; taps see both directions', async () => {
  const host = new World().addHost('h');
  const rx = collector(host.netns);
  const seen: boolean[] = [];
  host.lo.taps.push((_skb, _dev, out) => seen.push(out));
  dev_queue_xmit(frame(host.lo, [9, 9], null));
  await tick();
  // lo's addresses are all zero: its frames are addressed to itself.
  assert.deepEqual(rx.got, [{ data: [9, 9], pkt_type: PACKET_HOST, dev: 'lo' }]);
  assert.deepEqual(seen, [true, false]);
  assert.equal(host.lo.mtu, 65536);
  assert.equal(host.lo.stats.tx_packets, 1);
});

test('device names: %d patterns, duplicates and bad names', () => {
  const host = new World().addHost('h');
  const mk = (n: string) => new NetDevice(n, host.netns, { ndo_start_xmit: () => 0 });
  const d0 = mk('dummy%d');
  const d1 = mk('dummy%d');
  assert.equal(register_netdevice(d0), 0);
  assert.equal(register_netdevice(d1), 0);
  assert.deepEqual([d0.name, d1.name], ['dummy0', 'dummy1']);
  assert.equal(register_netdevice(mk('dummy0')), -17);
  assert.equal(register_netdevice(mk('a/b')), -22);
  assert.equal(register_netdevice(mk('x'.repeat(16))), -22);
  assert.ok(d1.ifindex > d0.ifindex && d0.ifindex > host.lo.ifindex);
});

test('the receive backlog is bounded by net.core.netdev_max_backlog', async () => {
  const world = new World();
  const a = world.addHost('a');
  const b = world.addHost('b');
  const [da, db] = veth_newlink(a.netns, 'eth0', b.netns, 'eth0') as [NetDevice, NetDevice];
  dev_open(da);
  dev_open(db);
  const rx = collector(b.netns);
  b.sysctl.write('net.core.netdev_max_backlog', 5);
  for (let i = 0; i < 8; i++) dev_queue_xmit(frame(da, [i], null));
  await tick();
  assert.equal(rx.got.length, 5);
  assert.equal(netdev_state(b.netns).softnet.dropped, 3);
  assert.equal(db.stats.rx_dropped, 3);
});

test('clones share the head until unshared', () => {
  const skb = netdev_alloc_skb(16, 2000);
  skb.head.set([1, 2, 3], skb.put(3));
  const c = skb_clone(skb);
  assert.equal(c.head, skb.head);
  assert.ok(c.cloned && skb.cloned);
  const u = skb_unshare(c);
  assert.notEqual(u.head, skb.head);
  u.head[u.data] = 7;
  assert.equal(skb.head[skb.data], 1, 'writing the private copy leaves the original alone');
  assert.deepEqual(Array.from(u.bytes()), [7, 2, 3]);
  kfree_skb(u);
  kfree_skb(skb);
});
