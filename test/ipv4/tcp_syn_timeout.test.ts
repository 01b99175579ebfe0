import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, AF_INET, SOCK_STREAM, SOL_TCP, TCP_SYNCNT } from '../../src/index.js';

// A connect() into a black hole, as this machine's kernel (Linux 6.18, tcp_syn_linear_timeouts=4)
// does it, measured in a namespace with a veth whose peer drops everything:
//   TCP_SYNCNT 2: SYNs at 0, 1, 2, 3, 4, 5 s, ETIMEDOUT at 7 s
//   TCP_SYNCNT 1: SYNs at 0, 1, 2 s, ETIMEDOUT at 3 s
// The first SYN retransmissions keep a 1 s timeout (linear), and the connection gives up once
// the time the retries would take with exponential backoff from 1 s, (2^(n+1) - 1) s, is over.
async function blackhole(syncnt: number): Promise<{ syns: number[]; err: string; at: number }> {
  const w = new World({ seed: 9 });
  const a = w.addHost('a');
  const b = w.addHost('b');
  const link = w.link(a, b);
  a.ip('addr add 10.0.0.1/24 dev eth0');
  b.ip('addr add 10.0.0.2/24 dev eth0');
  a.ip('neigh add 10.0.0.2 lladdr 02:00:00:00:00:99 dev eth0 nud permanent');
  const cap = a.capture('eth0');
  const t = a.spawn();
  const s = t.socket(AF_INET, SOCK_STREAM);
  t.setsockopt(s, SOL_TCP, TCP_SYNCNT, syncnt);
  let err = '';
  try {
    await t.connect(s, { family: AF_INET, addr: '10.0.0.2', port: 80 });
  } catch (e) {
    err = (e as { code: string }).code;
  }
  const at = w.clock.now() / 1e9;
  void link;
  const syns = cap.frames
    .filter((f) => f.outgoing && f.data[23] === 6 && (f.data[14 + 20 + 13] & 0x02) !== 0)
    .map((f) => Math.round(f.tsNs / 1e6) / 1e3);
  return { syns, err, at };
}

test('SYN retransmissions to a black hole follow tcp_syn_linear_timeouts and time out as Linux 6.18', async () => {
  const two = await blackhole(2);
  assert.deepEqual(two.syns, [0, 1, 2, 3, 4, 5]);
  assert.equal(two.err, 'ETIMEDOUT');
  assert.equal(two.at, 7);
  const one = await blackhole(1);
  assert.deepEqual(one.syns, [0, 1, 2]);
  assert.equal(one.err, 'ETIMEDOUT');
  assert.equal(one.at, 3);
});
