import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bridged, interopUnavailable, LINUX_ADDR, USERNET_ADDR } from './netns.js';

const skip = interopUnavailable('ping') ?? false;

/** "5 packets transmitted, 5 received, 0% packet loss" out of iputils' summary. */
function summary(out: string): string {
  const m = /(\d+) packets transmitted, (\d+) received, (\d+)% packet loss/.exec(out);
  assert.ok(m, `no ping summary in:\n${out}`);
  return m[0];
}

test(
  'interop: ping Linux -> usernet and usernet -> Linux over the TAP, same statistics',
  { skip },
  async () => {
    const b = await bridged();
    try {
      const linux = await b.ns.run(`ping -c 5 -i 0.05 -W 2 ${USERNET_ADDR}`, { timeoutMs: 20_000 });
      assert.equal(linux.code, 0, linux.stdout + linux.stderr);
      const ours = await b.host.ping(LINUX_ADDR, { count: 5, interval: 0.05 });
      assert.equal(summary(linux.stdout), '5 packets transmitted, 5 received, 0% packet loss', linux.stdout);
      assert.equal(summary(ours.output), summary(linux.stdout), ours.output);
      // Large echoes cross the TAP in fragments both ways.
      const big = await b.ns.run(`ping -c 2 -i 0.05 -s 4000 -W 2 ${USERNET_ADDR}`, { timeoutMs: 20_000 });
      assert.equal(summary(big.stdout), '2 packets transmitted, 2 received, 0% packet loss', big.stdout);
      const ourBig = await b.host.ping(LINUX_ADDR, { count: 2, interval: 0.05, size: 4000 });
      assert.equal(summary(ourBig.output), summary(big.stdout), ourBig.output);
      assert.equal(b.tap.stats.dropped, 0);
    } finally {
      await b.close();
    }
  },
);
