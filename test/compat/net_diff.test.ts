// Every check of net_checks.ts, run against real node:net over the kernel's 127.0.0.1 and
// against usernet's node:net (one host over lo, and two hosts over a link): the observations
// must be the same. Node is the oracle.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checks, sanity } from './net_checks.js';
import { nodeEnv, runIn, usernetLinkEnv, usernetLoopbackEnv } from './net_env.js';

test('there are at least 40 checks', () => sanity());

for (const [name, check] of Object.entries(checks)) {
  test(name, async () => {
    const expected = await runIn(nodeEnv(), check);
    for (const make of [usernetLoopbackEnv, usernetLinkEnv]) {
      const env = make();
      const got = await runIn(env, check);
      assert.deepEqual(got, expected, `${env.name} differs from node:net`);
    }
  });
}
