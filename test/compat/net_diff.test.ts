// Every check of net_checks.ts, run against real node:net over the kernel's 127.0.0.1 and
// against usernet's node:net (one host over lo, and two hosts over a link): the observations
// must be the same. Node is the oracle.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checks, resolverChecks, sanity } from './net_checks.js';
import { nodeEnv, runIn, usernetLinkEnv, usernetLoopbackEnv } from './net_env.js';
import { offlineNode, offlineNodeAvailable, offlineSkip } from './offline_node.js';

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

const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v) ?? 'null');

for (const [name, check] of Object.entries(resolverChecks)) {
  test(name, { skip: offlineNodeAvailable() ? false : offlineSkip }, async () => {
    const expected = await offlineNode(
      `import { resolverChecks } from ${JSON.stringify(new URL('./net_checks.js', import.meta.url).href)};\n` +
        `import { nodeEnv } from ${JSON.stringify(new URL('./net_env.js', import.meta.url).href)};\n` +
        `const env = nodeEnv();\n` +
        `const r = await resolverChecks[${JSON.stringify(name)}](env);\n` +
        `env.dispose();\n` +
        `console.log(JSON.stringify(r));\n`,
    );
    for (const make of [usernetLoopbackEnv, usernetLinkEnv]) {
      const env = make();
      const got = json(await runIn(env, check));
      assert.deepEqual(got, expected, `${env.name} differs from node:net`);
    }
  });
}
