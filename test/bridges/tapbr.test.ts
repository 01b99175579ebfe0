import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, tapUnavailable } from '../../src/index.js';
import { tapbr_newlink, tapbr_rx } from '../../src/drivers/net/tapbr.js';
import { dev_open } from '../../src/net/core/dev.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';

function device(): { world: World; dev: NetDevice; sent: Uint8Array[] } {
  const world = new World({ seed: 2 });
  const h = world.addHost('h');
  const sent: Uint8Array[] = [];
  const dev = tapbr_newlink(h.netns, 'eth%d', { xmit: (f) => sent.push(f.slice()) });
  assert.ok(typeof dev !== 'number');
  dev_open(dev);
  h.ip(`addr add 10.1.0.2/24 dev ${dev.name}`);
  return { world, dev, sent };
}

test('tapbr: runts, oversized frames and garbage from the pipe are counted and dropped, never thrown', async () => {
  const { world, dev } = device();
  assert.equal(tapbr_rx(dev, new Uint8Array(0)), -22);
  assert.equal(tapbr_rx(dev, new Uint8Array(13)), -22);
  assert.equal(tapbr_rx(dev, new Uint8Array(14 + 1500 + 5)), -22);
  assert.equal(dev.stats.rx_length_errors, 3);
  assert.equal(dev.stats.rx_errors, 3);
  // Random bytes of every length up to 200: accepted as frames or refused, never an exception.
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let n = 14; n < 200; n++) {
    const f = new Uint8Array(n);
    for (let i = 0; i < n; i++) f[i] = rnd();
    assert.ok(tapbr_rx(dev, f) <= 0);
  }
  await world.runFor(10);
  assert.equal(dev.stats.rx_packets, 200 - 14);
});

test('tapbr: an ARP request from the pipe is answered through the pipe', async () => {
  const { world, dev, sent } = device();
  const req = Uint8Array.from([
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ...[0x02, 0, 0, 0, 0, 1],
    ...[0x08, 0x06],
    ...[0, 1, 0x08, 0, 6, 4, 0, 1],
    ...[0x02, 0, 0, 0, 0, 1, 10, 1, 0, 1],
    ...[0, 0, 0, 0, 0, 0, 10, 1, 0, 2],
  ]);
  assert.equal(tapbr_rx(dev, req), 0);
  await world.runFor(10);
  assert.equal(sent.length, 1);
  const reply = sent[0]!;
  assert.deepEqual([...reply.subarray(0, 6)], [0x02, 0, 0, 0, 0, 1]);
  assert.equal((reply[20]! << 8) | reply[21]!, 2, 'an ARP reply');
  assert.deepEqual([...reply.subarray(28, 32)], [10, 1, 0, 2]);
});

test('tap bridge: clear errors where it cannot run (virtual clock, missing socat)', async () => {
  const w = new World();
  await assert.rejects(w.tap(w.addHost('h'), { netns: 'none' }), /clock: 'real'/);
  const why = tapUnavailable('/nonexistent/socat');
  assert.ok(why);
  if (process.getuid?.() === 0) assert.equal(why.code, 'ENOENT');
  else assert.equal(why.code, 'EPERM');
  const r = new World({ clock: 'real' });
  await assert.rejects(r.tap(r.addHost('h'), { netns: 'none', socat: '/nonexistent/socat' }), (e: Error) =>
    /socat not found|needs root/.test(e.message),
  );
  r.stop();
});
