// The fd table as sockets see it: lowest free fd, dup/dup2/dup3/fcntl, RLIMIT_NOFILE, EBADF,
// file lifetime across dups, closes during a blocked call, and process exit.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF_UNIX,
  SOCK_STREAM,
  SOCK_DGRAM,
  SOCK_CLOEXEC,
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GETFD,
  F_SETFD,
  F_GETFL,
  F_SETFL,
  FD_CLOEXEC,
  O_CLOEXEC,
  O_NONBLOCK,
  RLIMIT_NOFILE,
  MSG_DONTWAIT,
  POLLOUT,
  POLLWRNORM,
  POLLWRBAND,
} from '../../src/index.js';
import {
  setup,
  un,
  enc,
  dec,
  throwsErrno,
  rejectsErrno,
  recvStr,
  socketCount,
  tick,
  track,
  pollMask,
} from './helpers.js';

test('new fds take the lowest free number', () => {
  const { t } = setup();
  const fds = [0, 1, 2, 3, 4].map(() => t.socket(AF_UNIX, SOCK_STREAM, 0));
  assert.deepEqual(fds, [0, 1, 2, 3, 4]);
  t.close(1);
  t.close(3);
  assert.deepEqual(t.socketpair(AF_UNIX, SOCK_STREAM, 0), [1, 3]);
  assert.equal(t.socket(AF_UNIX, SOCK_DGRAM, 0), 5);
  t.close(0);
  assert.equal(t.dup(4), 0);
});

test('dup, F_DUPFD and F_DUPFD_CLOEXEC share the file; only F_DUPFD_CLOEXEC sets FD_CLOEXEC', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const d = t.dup(b);
  assert.equal(d, 2);
  assert.equal(t.fcntl(b, F_GETFD), FD_CLOEXEC);
  assert.equal(t.fcntl(d, F_GETFD), 0);
  assert.equal(t.fcntl(b, F_DUPFD, 10), 10);
  assert.equal(t.fcntl(b, F_DUPFD, 10), 11);
  assert.equal(t.fcntl(b, F_DUPFD_CLOEXEC, 5), 5);
  assert.equal(t.fcntl(5, F_GETFD), FD_CLOEXEC);
  // The status flags live in the shared file: O_NONBLOCK set through one fd shows in all.
  t.fcntl(d, F_SETFL, O_NONBLOCK);
  for (const fd of [b, d, 10, 11, 5]) assert.equal(t.fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  await rejectsErrno(t.recv(10, new Uint8Array(1)), 'EAGAIN');
  // F_SETFD is per fd.
  t.fcntl(b, F_SETFD, 0);
  assert.equal(t.fcntl(b, F_GETFD), 0);
  t.fcntl(11, F_SETFD, FD_CLOEXEC);
  assert.equal(t.fcntl(11, F_GETFD), FD_CLOEXEC);
  assert.equal(t.fcntl(10, F_GETFD), 0);
  // All of them are the one socket.
  await t.send(a, enc('x'));
  assert.equal(await recvStr(t, 11), 'x');
});

test('dup2 and dup3: replacing a target fd closes what was there', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const [c, d] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  assert.equal(t.dup2(a, d), d);
  // d's old socket was closed: c sees end of file.
  assert.equal(await t.recv(c, new Uint8Array(1)), 0);
  await t.send(d, enc('via d'));
  assert.equal(await recvStr(t, b), 'via d');
  // dup2 onto itself is a no-op for a valid fd.
  assert.equal(t.dup2(a, a), a);
  assert.equal(t.dup3(a, 20, O_CLOEXEC), 20);
  assert.equal(t.fcntl(20, F_GETFD), FD_CLOEXEC);
  assert.equal(t.dup3(a, 21, 0), 21);
  assert.equal(t.fcntl(21, F_GETFD), 0);
  throwsErrno(() => t.dup3(a, a, 0), 'EINVAL');
  throwsErrno(() => t.dup3(a, 22, 1), 'EINVAL');
  throwsErrno(() => t.dup2(50, 22), 'EBADF');
  throwsErrno(() => t.dup2(50, 50), 'EBADF');
  throwsErrno(() => t.dup3(50, 22, 0), 'EBADF');
});

test('fcntl: EBADF on a closed fd, EINVAL on an unknown command or a negative F_DUPFD start', () => {
  const { t } = setup();
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  throwsErrno(() => t.fcntl(9, F_GETFD), 'EBADF');
  throwsErrno(() => t.fcntl(fd, 9999), 'EINVAL');
  throwsErrno(() => t.fcntl(fd, F_DUPFD, -1), 'EINVAL');
});

test('RLIMIT_NOFILE: EMFILE once the table is full; dup2/F_DUPFD beyond the limit', () => {
  const { t } = setup();
  t.setrlimit(RLIMIT_NOFILE, { cur: 4, max: 1024 });
  assert.deepEqual(t.getrlimit(RLIMIT_NOFILE), { cur: 4, max: 1024 });
  for (let i = 0; i < 3; i++) t.socket(AF_UNIX, SOCK_STREAM, 0);
  // One slot left: a socketpair needs two.
  throwsErrno(() => t.socketpair(AF_UNIX, SOCK_STREAM, 0), 'EMFILE');
  assert.deepEqual(t.fds(), [0, 1, 2]);
  assert.equal(t.socket(AF_UNIX, SOCK_STREAM, 0), 3);
  throwsErrno(() => t.socket(AF_UNIX, SOCK_STREAM, 0), 'EMFILE');
  throwsErrno(() => t.dup(0), 'EMFILE');
  throwsErrno(() => t.dup2(0, 4), 'EBADF');
  throwsErrno(() => t.fcntl(0, F_DUPFD, 4), 'EINVAL');
  t.close(2);
  assert.equal(t.dup(0), 2);
  // The limits themselves.
  throwsErrno(() => t.setrlimit(RLIMIT_NOFILE, { cur: 10, max: 5 }), 'EINVAL');
  const user = setup().host.spawn({ uid: 1000 });
  user.setrlimit(RLIMIT_NOFILE, { cur: 10, max: 100 });
  throwsErrno(() => user.setrlimit(RLIMIT_NOFILE, { cur: 10, max: 200 }), 'EPERM');
});

test('EMFILE leaves no socket behind', () => {
  const { t, host } = setup();
  t.setrlimit(RLIMIT_NOFILE, { cur: 1, max: 1024 });
  t.socket(AF_UNIX, SOCK_STREAM, 0);
  throwsErrno(() => t.socket(AF_UNIX, SOCK_STREAM, 0), 'EMFILE');
  throwsErrno(() => t.socketpair(AF_UNIX, SOCK_DGRAM, 0), 'EMFILE');
  assert.equal(socketCount(host), 1);
});

test('EBADF for closed or never-opened fds; ENOTSOCK for fds that are not sockets', async () => {
  const { t } = setup();
  throwsErrno(() => t.close(-1), 'EBADF');
  throwsErrno(() => t.close(99), 'EBADF');
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.close(fd);
  throwsErrno(() => t.close(fd), 'EBADF');
  await rejectsErrno(t.read(fd, new Uint8Array(1)), 'EBADF');
  await rejectsErrno(t.write(fd, enc('x')), 'EBADF');
  await rejectsErrno(t.recv(fd, new Uint8Array(1)), 'EBADF');
  await rejectsErrno(t.send(fd, enc('x')), 'EBADF');
  throwsErrno(() => t.bind(fd, un('/tmp/x')), 'EBADF');
  throwsErrno(() => t.listen(fd, 1), 'EBADF');
  throwsErrno(() => t.getsockname(fd), 'EBADF');
  throwsErrno(() => t.dup(fd), 'EBADF');
  const ep = t.epoll_create1(0);
  throwsErrno(() => t.bind(ep, un('/tmp/x')), 'ENOTSOCK');
  throwsErrno(() => t.getsockname(ep), 'ENOTSOCK');
  await rejectsErrno(t.recv(ep, new Uint8Array(1)), 'ENOTSOCK');
  await rejectsErrno(t.read(ep, new Uint8Array(1)), 'EINVAL');
});

test('a socket stays open while a dup of its fd remains', async () => {
  const { t, host } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const d = t.dup(b);
  t.close(b);
  assert.equal(socketCount(host), 2);
  await t.send(a, enc('q'));
  assert.equal(await recvStr(t, d), 'q');
  await rejectsErrno(t.recv(a, new Uint8Array(1), MSG_DONTWAIT), 'EAGAIN');
  t.close(d);
  assert.equal(socketCount(host), 1);
  assert.equal(await t.recv(a, new Uint8Array(1)), 0);
});

test('closing the fd of a blocked recv: the call keeps the socket and still gets the data', async () => {
  const { t, host } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const buf = new Uint8Array(100);
  const r = track(t.recv(b, buf));
  await tick();
  t.close(b);
  assert.deepEqual(t.fds(), [a]);
  // The peer sees no end of file: the socket is alive while the call holds it.
  await rejectsErrno(t.recv(a, new Uint8Array(1), MSG_DONTWAIT), 'EAGAIN');
  assert.equal(await pollMask(t, a), POLLOUT | POLLWRNORM | POLLWRBAND);
  assert.equal(socketCount(host), 2);
  assert.equal(r.done(), false);
  assert.equal(await t.send(a, enc('data')), 4);
  const n = await r.promise;
  assert.equal(dec(buf, n), 'data');
  // Once the call returned, the last reference is gone.
  assert.equal(socketCount(host), 1);
  assert.equal(await t.recv(a, new Uint8Array(1)), 0);
  await rejectsErrno(t.send(a, enc('x')), 'EPIPE');
});

test('exit closes every fd: peers see end of file, /proc/net/unix empties', async () => {
  const { t, host } = setup();
  const child = host.spawn({ uid: 1000 });
  const l = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(l, un('\0exit'));
  t.listen(l, 4);
  const c = child.socket(AF_UNIX, SOCK_STREAM, 0);
  await child.connect(c, un('\0exit'));
  child.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  child.dup(c);
  const { fd } = await t.accept(l);
  assert.equal(socketCount(host), 5);
  child.exit();
  assert.deepEqual(child.fds(), []);
  assert.equal(socketCount(host), 2);
  assert.equal(await t.recv(fd, new Uint8Array(1)), 0);
});
