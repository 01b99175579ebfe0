// Properties of an impaired link over random configurations, traffic and mid-run changes:
// every frame is accounted for (delivered = sent + duplicated − lost − tail-dropped −
// partitioned), the counters agree, the queue drains and nothing throws.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { World } from '../../src/index.js';
import type { Impairments } from '../../src/sim/link.js';
import { send, sleep, US, SEC } from './helpers.js';

const prob = fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true }));

const impairments: fc.Arbitrary<Impairments> = fc
  .record({
    delay: fc.integer({ min: 0, max: 30 }),
    jitter: fc.integer({ min: 0, max: 10 }),
    loss: fc.oneof(
      prob,
      fc.record({ gemodel: fc.record({ p: prob, r: prob }) }),
      fc.record({ state: fc.record({ p13: fc.double({ min: 0, max: 0.5, noNaN: true }), p31: prob }) }),
    ),
    duplicate: prob,
    reorder: prob,
    corrupt: prob,
    rate: fc.oneof(fc.constant(null), fc.integer({ min: 100_000, max: 100_000_000 })),
    limit: fc.integer({ min: 1, max: 200 }),
    partition: fc.boolean(),
    distribution: fc.constantFrom('uniform' as const, 'normal' as const, 'pareto' as const),
  })
  .map((o) => (o.delay === 0 ? { ...o, reorder: 0 } : o));

test('an impaired link accounts for every frame and drains', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 0xffff }),
      impairments,
      impairments,
      fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 60, max: 1514 })), {
        minLength: 1,
        maxLength: 30,
      }),
      async (seed, first, second, bursts) => {
        const world = new World({ seed });
        const a = world.addHost('a');
        const b = world.addHost('b');
        const link = world.link(a, b, first);
        let seen = 0;
        link.b.taps.push(() => void seen++);
        let sent = 0;
        for (let k = 0; k < bursts.length; k++) {
          const [n, size] = bursts[k];
          if (k === bursts.length >> 1) link.set(second);
          for (let i = 0; i < n; i++) send(link.a, sent++, size);
          await sleep(world, 500 * US);
        }
        link.set({ partition: false });
        await sleep(world, 20 * SEC);
        const st = link.stats('a->b')!;
        assert.equal(st.qlen, 0);
        assert.equal(st.backlog, 0);
        const x = st.netem;
        assert.equal(seen, sent + x.duplicated - x.loss - x.limit - x.partition);
        assert.equal(st.packets, seen);
        assert.equal(st.drops, x.loss + x.limit + x.partition);
        assert.ok(world.clock.now() < 30 * SEC);
      },
    ),
    { seed: 424242, numRuns: 60 },
  );
});
