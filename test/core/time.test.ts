import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timer, VirtualClock } from '../../src/kernel/time.js';

test('timers fire in deadline order, ties in arm order', () => {
  const c = new VirtualClock();
  const fired: string[] = [];
  const mk = (n: string) => new Timer(() => fired.push(n));
  const a = mk('a');
  const b = mk('b');
  const d = mk('d');
  const e = mk('e');
  c.mod_timer(a, 30);
  c.mod_timer(b, 10);
  c.mod_timer(d, 20);
  c.mod_timer(e, 20);
  c.advance(100);
  assert.deepEqual(fired, ['b', 'd', 'e', 'a']);
  assert.equal(c.now(), 100);
});

test('re-arming moves a timer; del_timer cancels it', () => {
  const c = new VirtualClock();
  const fired: number[] = [];
  const t = new Timer(() => fired.push(c.now()));
  const u = new Timer(() => fired.push(-1));
  c.mod_timer(t, 50);
  c.mod_timer(t, 5);
  c.mod_timer(u, 7);
  assert.equal(c.del_timer(u), true);
  assert.equal(c.del_timer(u), false);
  assert.equal(c.timer_pending(t), true);
  c.advance(60);
  assert.deepEqual(fired, [5]);
  assert.equal(c.timer_pending(t), false);
  assert.equal(c.pendingTimers(), 0);
});

test('heap order holds under many random re-arms', () => {
  const c = new VirtualClock();
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) % 1000) + 1;
  const got: number[] = [];
  const timers = Array.from({ length: 200 }, () => new Timer((t) => got.push(t.expires)));
  for (let i = 0; i < 2000; i++) c.mod_timer(timers[i % 200], rnd());
  for (let i = 0; i < 50; i++) c.del_timer(timers[i * 4]);
  c.advance(2000);
  assert.equal(got.length, 150);
  for (let i = 1; i < got.length; i++) assert.ok(got[i - 1] <= got[i]);
});

test('virtual time jumps to the next timer when the event loop is idle', async () => {
  const c = new VirtualClock();
  const at = await new Promise<number>((resolve) => c.mod_timer(new Timer(() => resolve(c.now())), 5e9));
  assert.equal(at, 5e9);
});
