import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World } from '../../src/index.js';
import { NET_XMIT_DROP, NET_XMIT_SUCCESS } from '../../src/net/core/netdevice.js';
import { dev_queue_xmit } from '../../src/net/core/dev.js';
import { FifoQdisc, PfifoFastQdisc, dev_graft_qdisc } from '../../src/net/sched/sch_generic.js';
import { netem_create, netem_default_qopt, type NetemSchedData } from '../../src/net/sched/sch_netem.js';
import { collect, frame, sleep, MS } from './helpers.js';

function setup() {
  const world = new World({ seed: 9 });
  const a = world.addHost('a');
  const b = world.addHost('b');
  const link = world.link(a, b);
  return { world, link, got: collect(b.netns) };
}

test('pfifo_fast: bands by priority, FIFO within a band, limit = tx_queue_len', () => {
  const { link } = setup();
  const dev = link.a;
  dev.tx_queue_len = 4;
  const q = new PfifoFastQdisc(dev);
  // TC_PRIO_BESTEFFORT (0) → band 1, TC_PRIO_BULK (2) → band 2, TC_PRIO_INTERACTIVE (6) → band 0.
  const prios = [0, 2, 6, 0];
  const rcs = prios.map((p, i) => {
    const skb = frame(dev, i);
    skb.priority = p;
    return q.enqueue(skb);
  });
  assert.deepEqual(rcs, [0, 0, 0, 0]);
  assert.equal(q.enqueue(frame(dev, 9)), NET_XMIT_DROP);
  assert.equal(q.stats.drops, 1);
  assert.equal(q.qlen, 4);
  const order: number[] = [];
  for (let skb = q.dequeue(); skb; skb = q.dequeue()) order.push(skb.bytes()[14 + 3]);
  assert.deepEqual(order, [2, 0, 3, 1]);
  assert.equal(q.stats.packets, 4);
  assert.equal(q.stats.backlog, 0);
});

test('pfifo and bfifo tail-drop at their limits; reset empties them', () => {
  const { link } = setup();
  const p = new FifoQdisc(link.a, 'pfifo', 2);
  assert.equal(p.enqueue(frame(link.a, 1)), NET_XMIT_SUCCESS);
  assert.equal(p.enqueue(frame(link.a, 2)), NET_XMIT_SUCCESS);
  assert.equal(p.enqueue(frame(link.a, 3)), NET_XMIT_DROP);
  p.reset();
  assert.equal(p.qlen, 0);
  const b = new FifoQdisc(link.a, 'bfifo', 150);
  assert.equal(b.enqueue(frame(link.a, 1, 100)), NET_XMIT_SUCCESS);
  assert.equal(b.enqueue(frame(link.a, 2, 100)), NET_XMIT_DROP);
  assert.equal(b.enqueue(frame(link.a, 3, 50)), NET_XMIT_SUCCESS);
  assert.equal(b.stats.backlog, 150);
  // Defaults follow the device: tx_queue_len packets.
  assert.equal(new FifoQdisc(link.a, 'pfifo').limit, link.a.tx_queue_len);
});

test('a qdisc on a device: dev_queue_xmit goes through it and qdisc_run sends at once', async () => {
  const { world, link, got } = setup();
  const q = new PfifoFastQdisc(link.a);
  assert.equal(dev_graft_qdisc(link.a, q), null);
  dev_queue_xmit(frame(link.a, 5));
  await sleep(world, MS);
  assert.deepEqual(
    got.map((x) => x.seq),
    [5],
  );
  assert.equal(q.stats.packets, 1);
});

test('grafting a new qdisc resets the old one: what it held is dropped, its timer cancelled', async () => {
  const { world, link, got } = setup();
  const opt = netem_default_qopt();
  opt.latency = 10 * MS;
  const nq = netem_create(link.a, opt) as NetemSchedData;
  dev_graft_qdisc(link.a, nq);
  dev_queue_xmit(frame(link.a, 1));
  assert.equal(nq.qlen, 1);
  assert.equal(world.clock.timer_pending((nq as unknown as { watchdog: never }).watchdog), true);
  dev_graft_qdisc(link.a, null);
  assert.equal(nq.qlen, 0);
  await sleep(world, 50 * MS);
  assert.equal(got.length, 0);
  // netem refuses nonsense.
  const bad = netem_default_qopt();
  bad.latency = -1;
  assert.equal(netem_create(link.a, bad), -22);
});

test('a device brought down drops its queue', async () => {
  const { world, link, got } = setup();
  link.set({ delay: '10ms' });
  dev_queue_xmit(frame(link.a, 1));
  const { dev_close } = await import('../../src/net/core/dev.js');
  dev_close(link.a);
  await sleep(world, 50 * MS);
  assert.equal(got.length, 0);
  assert.equal(link.stats('a->b')!.qlen, 0);
});
