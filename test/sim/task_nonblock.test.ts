// readNonblock / writeNonblock: the task API's calls for poll-driven event loops — an answer
// now, a negative errno instead of an exception, never a sleep.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World } from '../../src/sim/world.js';
import { AF_UNIX, AF_INET, SOCK_STREAM } from '../../src/uapi/socket.js';
import { EAGAIN, EBADF, ENOTCONN, EPIPE } from '../../src/uapi/errno.js';

test('readNonblock and writeNonblock answer at once with a count or -errno', () => {
  const w = new World({ seed: 1 });
  const t = w.addHost('h').spawn();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0); // blocking fds: still no sleep
  const buf = new Uint8Array(8);
  assert.equal(t.readNonblock(a, buf), -EAGAIN);
  assert.equal(t.writeNonblock(b, new TextEncoder().encode('hello')), 5);
  assert.equal(t.readNonblock(a, buf), 5);
  assert.equal(new TextDecoder().decode(buf.subarray(0, 5)), 'hello');
  let total = 0;
  const chunk = new Uint8Array(65536);
  for (let i = 0; i < 1000; i++) {
    const n = t.writeNonblock(b, chunk);
    if (n === -EAGAIN) break;
    assert.ok(n > 0);
    total += n;
  }
  assert.ok(total > 0 && total < 1000 * 65536, 'the send buffer fills, then -EAGAIN');
  t.close(b);
  let drained = 0;
  for (let n; (n = t.readNonblock(a, chunk)) > 0;) drained += n;
  assert.equal(drained, total);
  assert.equal(t.readNonblock(a, chunk), 0, 'end of file');
  assert.equal(t.writeNonblock(a, buf), -EPIPE);
  assert.equal(t.readNonblock(99, buf), -EBADF);
  const s = t.socket(AF_INET, SOCK_STREAM, 0);
  assert.equal(t.readNonblock(s, buf), -ENOTCONN);
});
