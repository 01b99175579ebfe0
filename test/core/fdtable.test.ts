import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  World,
  AF_UNIX,
  SOCK_STREAM,
  SOCK_CLOEXEC,
  F_GETFD,
  FD_CLOEXEC,
  RLIMIT_NOFILE,
  F_DUPFD,
} from '../../src/index.js';
import { F_SETFD, F_GETFL, F_SETFL, O_NONBLOCK, O_RDWR, SOCK_DGRAM, POLLIN } from '../../src/index.js';

function task() {
  return new World().addHost('h').spawn();
}

test('fds are the lowest free numbers; close frees them', () => {
  const t = task();
  const a = t.socket(AF_UNIX, SOCK_STREAM, 0);
  const b = t.socket(AF_UNIX, SOCK_STREAM, 0);
  const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
  assert.deepEqual([a, b, c], [0, 1, 2]);
  t.close(b);
  assert.equal(t.socket(AF_UNIX, SOCK_STREAM, 0), 1);
  assert.throws(() => t.close(9), { code: 'EBADF' });
});

test('RLIMIT_NOFILE bounds the table: EMFILE', () => {
  const t = task();
  t.setrlimit(RLIMIT_NOFILE, { cur: 3, max: 3 });
  for (let i = 0; i < 3; i++) t.socket(AF_UNIX, SOCK_STREAM, 0);
  assert.throws(() => t.socket(AF_UNIX, SOCK_STREAM, 0), { code: 'EMFILE' });
  assert.throws(() => t.socketpair(AF_UNIX, SOCK_STREAM, 0), { code: 'EMFILE' });
  assert.throws(() => t.dup2(0, 3), { code: 'EBADF' });
  assert.throws(() => t.setrlimit(RLIMIT_NOFILE, { cur: 5, max: 4 }), { code: 'EINVAL' });
});

test('dup, dup2, dup3, F_DUPFD and close-on-exec', () => {
  const t = task();
  const a = t.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert.equal(t.fcntl(a, F_GETFD), FD_CLOEXEC);
  const d = t.dup(a);
  assert.equal(d, 1);
  assert.equal(t.fcntl(d, F_GETFD), 0, 'dup clears close-on-exec');
  assert.equal(t.dup2(a, 7), 7);
  assert.equal(t.dup2(7, 7), 7);
  assert.throws(() => t.dup3(7, 7, 0), { code: 'EINVAL' });
  assert.throws(() => t.dup3(7, 8, 1), { code: 'EINVAL' });
  assert.equal(t.dup3(a, 8, SOCK_CLOEXEC), 8);
  assert.equal(t.fcntl(8, F_GETFD), FD_CLOEXEC);
  t.fcntl(8, F_SETFD, 0);
  assert.equal(t.fcntl(8, F_GETFD), 0);
  assert.equal(t.fcntl(a, F_DUPFD, 5), 5);
  assert.deepEqual(t.fds(), [0, 1, 5, 7, 8]);
});

test('F_SETFL changes O_NONBLOCK only', () => {
  const t = task();
  const a = t.socket(AF_UNIX, SOCK_STREAM, 0);
  assert.equal(t.fcntl(a, F_GETFL), O_RDWR);
  t.fcntl(a, F_SETFL, O_NONBLOCK | 0o1 /* O_WRONLY is ignored */);
  assert.equal(t.fcntl(a, F_GETFL), O_RDWR | O_NONBLOCK);
});

test('a socket lives until its last fd closes', async () => {
  const t = task();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const a2 = t.dup(a);
  t.close(a);
  await t.write(a2, new Uint8Array([1, 2, 3]));
  const buf = new Uint8Array(8);
  assert.equal(await t.read(b, buf), 3);
  t.close(a2);
  assert.equal(await t.read(b, buf), 0, 'EOF once the last reference is gone');
});

test('ppoll waits the timespec on the world clock; recvmmsg stops at its timeout between messages', async () => {
  const world = new World();
  const t = world.addHost('h').spawn();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  const p = [{ fd: a, events: POLLIN, revents: 0 }];
  const t0 = world.now();
  assert.equal(await t.ppoll(p, { tv_sec: 0, tv_nsec: 7_000_000 }), 0);
  assert.equal(world.now() - t0, 7);
  await assert.rejects(t.ppoll(p, { tv_sec: 0, tv_nsec: 1e9 }), { code: 'EINVAL' });
  for (const x of [1, 2, 3]) await t.send(b, new Uint8Array([x]));
  const got = await t.recvmmsg(a, [{ iov: [new Uint8Array(4)] }, { iov: [new Uint8Array(4)] }], 0, {
    tv_sec: 0,
    tv_nsec: 0,
  });
  assert.equal(got.length, 1, 'an expired timeout ends the batch after the first message');
  const rest = await t.recvmmsg(a, [{ iov: [new Uint8Array(4)] }, { iov: [new Uint8Array(4)] }]);
  assert.deepEqual(
    rest.map((r) => r.n),
    [1, 1],
  );
});
