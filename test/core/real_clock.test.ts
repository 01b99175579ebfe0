import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, AF_UNIX, SOCK_DGRAM, SOL_SOCKET, SO_RCVTIMEO } from '../../src/index.js';

test('a real-clock world follows wall time: timeouts and link delays take as long as they say', async () => {
  const world = new World({ clock: 'real' });
  const t = world.addHost('h').spawn();
  const [a] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  t.setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, { tv_sec: 0, tv_usec: 40_000 });
  const w0 = performance.now();
  const v0 = world.now();
  await assert.rejects(t.recv(a, new Uint8Array(4)), { code: 'EAGAIN' });
  const wall = performance.now() - w0;
  const virt = world.now() - v0;
  assert.ok(wall >= 39, `waited ${wall} ms of wall time`);
  assert.ok(virt >= 39 && virt < wall + 5, `the world clock moved ${virt} ms`);

  const b = world.addHost('b');
  const c = world.addHost('c');
  world.link(b, c, { delay: '15ms' });
  b.ip('addr add 10.9.0.1/24 dev eth0');
  c.ip('addr add 10.9.0.2/24 dev eth0');
  const w1 = performance.now();
  const r = await b.ping('10.9.0.2', { count: 1 });
  assert.match(r.output, /1 received/);
  assert.ok(performance.now() - w1 >= 2 * 2 * 15 - 2, 'ARP and the echo each cross the link twice');
});
