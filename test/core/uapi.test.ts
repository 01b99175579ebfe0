import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  errnoCode,
  strerror,
  errnoByName,
  EAGAIN,
  EWOULDBLOCK,
  ECONNREFUSED,
  EHWPOISON,
} from '../../src/index.js';
import { encodeSockaddr, decodeSockaddr, AF_UNIX } from '../../src/index.js';

test('errno table has Linux values, names and texts', () => {
  assert.equal(EAGAIN, 11);
  assert.equal(EWOULDBLOCK, EAGAIN);
  assert.equal(ECONNREFUSED, 111);
  assert.equal(EHWPOISON, 133);
  assert.equal(errnoCode(11), 'EAGAIN');
  assert.equal(strerror(111), 'Connection refused');
  assert.equal(errnoByName('ENOTSOCK'), 88);
});

test('sockaddr_un encoding: paths count their NUL, abstract names do not', () => {
  const p = encodeSockaddr({ family: AF_UNIX, path: '/tmp/x' });
  assert.equal(p.length, 2 + 6 + 1);
  assert.deepEqual(decodeSockaddr(p, p.length), { family: AF_UNIX, path: '/tmp/x', addrlen: 9 });
  const a = encodeSockaddr({ family: AF_UNIX, path: '\0abc' });
  assert.equal(a.length, 6);
  assert.equal((decodeSockaddr(a, a.length) as { path: string }).path, '\0abc');
});
