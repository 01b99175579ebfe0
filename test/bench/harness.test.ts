// The benchmark harness's bookkeeping (never a timing): per-benchmark rounds, what samples report
// beyond their figure (virtual time charged, remarks), and how targets and goals are shown.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBenchmark, table, type Benchmark } from '../../bench/harness.js';

function bench(over: Partial<Benchmark>): Benchmark {
  let u = 0;
  return {
    name: 'toy',
    unit: 'bytes/socket',
    higherIsBetter: false,
    target: null,
    describe: 'a toy',
    usernet: {
      name: 'usernet',
      sample: () => Promise.resolve({ value: 1000 + u++, waitedMs: 5, note: 'u' }),
    },
    reference: {
      name: 'kernel',
      sample: () => Promise.resolve({ value: NaN, note: 'not measured: no root' }),
    },
    ...over,
  };
}

const opts = { rounds: 3, warmup: 1, sampleTimeoutMs: 1000, progress: null, only: null } as const;

test('virtual time charged and remarks are carried to the result and printed under the table', async () => {
  const r = await runBenchmark(bench({}), opts);
  // One warm-up and three rounds, 5 ms each.
  assert.equal(r.waitedMs, 20);
  assert.deepEqual(r.notes, ['usernet: u', 'kernel: not measured: no root']);
  assert.equal(r.usernet.median, 1002);
  assert.ok(Number.isNaN(r.reference.median));
  assert.ok(Number.isNaN(r.ratio.median));
  assert.equal(r.dropped, undefined);
  const t = table([r]);
  assert.match(t, /toy: usernet's virtual clock advanced 20\.00 ms/);
  assert.match(t, /toy: kernel: not measured: no root/);
});

test('an absolute goal is judged on usernet median; no ratio target shows as such', async () => {
  const met = await runBenchmark(bench({ goal: { max: 2048 } }), opts);
  assert.deepEqual(met.goal, { max: 2048 });
  assert.match(table([met]), /usernet <= 2048 \(met\)/);
  const missed = await runBenchmark(bench({ goal: { max: 512 } }), opts);
  assert.match(table([missed]), /usernet <= 512 \(not met\)/);
  const none = await runBenchmark(bench({}), opts);
  assert.equal(none.target, null);
  const row = table([none]).split('\n')[2];
  assert.match(row, /\s-$/);
});

test('a ratio target is judged on the median ratio, oriented so above 1 is usernet better', async () => {
  const r = await runBenchmark(
    bench({
      higherIsBetter: true,
      target: 1.5,
      usernet: { name: 'usernet', sample: () => Promise.resolve(30) },
      reference: { name: 'ref', sample: () => Promise.resolve(10) },
    }),
    opts,
  );
  assert.equal(r.ratio.median, 3);
  assert.match(table([r]), /1\.5 \(met\)/);
});
