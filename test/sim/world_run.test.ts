// User code in virtual time: world.sleep, world.runFor, world.runUntilIdle and world.run, whose
// stall detection reports a run that waits on something outside the world instead of hanging.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, WorldStalledError } from '../../src/sim/world.js';
import { AF_INET, SOCK_STREAM, SOL_SOCKET, SO_KEEPALIVE } from '../../src/uapi/socket.js';
import { tableLines } from '../tcp/scenario_helpers.js';

function twoHosts(seed: number) {
  const w = new World({ seed });
  const a = w.addHost('a');
  const b = w.addHost('b');
  w.link(a, b, { delay: 10 });
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  b.ip('ip addr add 10.0.0.2/24 dev eth0');
  return { w, a, b };
}

test('sleep moves world time exactly, and timers due meanwhile fire in order', async () => {
  const w = new World({ seed: 1 });
  const order: string[] = [];
  const t0 = w.now();
  await Promise.all([
    w.sleep(300).then(() => order.push(`300@${w.now() - t0}`)),
    w.sleep(100).then(() => order.push(`100@${w.now() - t0}`)),
    w.runFor(200).then(() => order.push(`200@${w.now() - t0}`)),
  ]);
  assert.deepEqual(order, ['100@100', '200@200', '300@300']);
  await assert.rejects(w.sleep(-1), RangeError);
  await assert.rejects(w.sleep(Number.NaN), RangeError);
});

test('run resolves with the function value and passes its errors on', async () => {
  const w = new World({ seed: 2 });
  const v = await w.run(async (world) => {
    await world.sleep(1500);
    return world.now();
  });
  assert.equal(v, 1500);
  await assert.rejects(
    w.run(async () => {
      await w.sleep(10);
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(await w.run(() => 7), 7);
});

test('run reports a function that waits on something outside the world', async () => {
  const w = new World({ seed: 3 });
  await assert.rejects(
    w.run(() => new Promise<void>(() => {}), { stallMs: 200 }),
    (e: unknown) => e instanceof WorldStalledError && /no timer is armed/.test((e as Error).message),
  );
  // A deadlock inside the world is the same: accept() with nobody connecting.
  const { a } = twoHosts(4);
  const t = a.spawn();
  const l = t.socket(AF_INET, SOCK_STREAM, 0);
  t.bind(l, { family: AF_INET, addr: '0.0.0.0', port: 80 });
  t.listen(l, 8);
  await assert.rejects(
    w.run(() => t.accept(l), { stallMs: 200 }),
    (e: unknown) => e instanceof WorldStalledError,
  );
  // A long computation in world time is no stall: timers stay armed all along.
  assert.equal(await w.run(() => w.sleep(600_000).then(() => 'done'), { stallMs: 200 }), 'done');
});

test('runUntilIdle lets TIME_WAIT expire; a keepalive socket never goes idle', async () => {
  const { w, a, b } = twoHosts(5);
  const ta = a.spawn();
  const tb = b.spawn();
  const l = tb.socket(AF_INET, SOCK_STREAM, 0);
  tb.bind(l, { family: AF_INET, addr: '10.0.0.2', port: 7 });
  tb.listen(l, 8);
  const c = ta.socket(AF_INET, SOCK_STREAM, 0);
  const acc = tb.accept(l);
  await ta.connect(c, { family: AF_INET, addr: '10.0.0.2', port: 7 });
  const { fd: s } = await acc;
  const start = w.now();
  ta.close(c);
  tb.close(s);
  await w.runUntilIdle();
  assert.ok(w.now() - start >= 60_000, 'TIME_WAIT lasted its 60 s');
  assert.deepEqual(tableLines(a), []);
  assert.deepEqual(tableLines(b), ['LISTEN 10.0.0.2:7 0.0.0.0:0']);

  const c2 = ta.socket(AF_INET, SOCK_STREAM, 0);
  ta.setsockopt(c2, SOL_SOCKET, SO_KEEPALIVE, 1);
  const acc2 = tb.accept(l);
  await ta.connect(c2, { family: AF_INET, addr: '10.0.0.2', port: 7 });
  await acc2;
  const before = w.now();
  await assert.rejects(w.runUntilIdle(3 * 3_600_000), WorldStalledError);
  assert.ok(w.now() - before <= 3 * 3_600_000);
  w.stop();
});
