import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prandom } from '../../src/kernel/random.js';

test('the same seed gives the same sequence; another seed another', () => {
  const a = new Prandom(42);
  const b = new Prandom(42);
  const c = new Prandom(43);
  const sa = Array.from({ length: 16 }, () => a.get_random_u32());
  const sb = Array.from({ length: 16 }, () => b.get_random_u32());
  const sc = Array.from({ length: 16 }, () => c.get_random_u32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

test('get_random_u32_below stays in range and covers it', () => {
  const r = new Prandom(1);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const v = r.get_random_u32_below(10);
    assert.ok(v >= 0 && v < 10 && Number.isInteger(v));
    seen.add(v);
  }
  assert.equal(seen.size, 10);
});
