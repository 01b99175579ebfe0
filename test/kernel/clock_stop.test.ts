import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timer } from '../../src/kernel/time.js';
import { World } from '../../src/index.js';

test('World.stop(): a stopped world fires no more timers, however many are armed', async () => {
  const w = new World({ seed: 1 });
  let fired = 0;
  // A timer that re-arms itself forever, as a keepalive on an idle connection does.
  const t = new Timer(() => {
    fired++;
    w.clock.mod_timer(t, w.clock.now() + 7200e9);
  });
  w.clock.mod_timer(t, w.clock.now() + 1e9);
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.ok(fired >= 3, `virtual time runs on by itself while timers are armed (${fired})`);
  w.stop();
  const at = fired;
  const now = w.now();
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.equal(fired, at);
  assert.equal(w.now(), now);
  assert.ok(w.clock.timer_pending(t), 'the timer stays armed, it just never fires');
});
