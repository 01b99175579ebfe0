// listen(2), accept(2)/accept4(2) and connect(2) for stream and seqpacket sockets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF_UNIX,
  AF_INET,
  SOCK_STREAM,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_NONBLOCK,
  SOCK_CLOEXEC,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_RCVTIMEO,
  SO_SNDTIMEO,
  SHUT_RD,
  SHUT_RDWR,
  F_GETFL,
  F_GETFD,
  F_SETFL,
  O_NONBLOCK,
  FD_CLOEXEC,
  POLLIN,
  POLLRDNORM,
  POLLOUT,
  POLLWRNORM,
  POLLWRBAND,
  POLLHUP,
  POLLRDHUP,
  RLIMIT_NOFILE,
  MSG_DONTWAIT,
} from '../../src/index.js';
import {
  setup,
  un,
  enc,
  throwsErrno,
  rejectsErrno,
  recvStr,
  socketCount,
  tick,
  track,
  pollMask,
} from './helpers.js';
import type { Task } from '../../src/index.js';

function listener(t: Task, path: string, backlog = 16, type = SOCK_STREAM): number {
  const fd = t.socket(AF_UNIX, type, 0);
  t.bind(fd, un(path));
  t.listen(fd, backlog);
  return fd;
}

test('listen: EINVAL unbound or connected, EOPNOTSUPP on a datagram socket; SO_ACCEPTCONN', async () => {
  const { t } = setup();
  throwsErrno(() => t.listen(t.socket(AF_UNIX, SOCK_STREAM, 0), 5), 'EINVAL');
  throwsErrno(() => t.listen(t.socket(AF_UNIX, SOCK_SEQPACKET, 0), 5), 'EINVAL');
  const d = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  t.bind(d, un('\0d'));
  throwsErrno(() => t.listen(d, 5), 'EOPNOTSUPP');
  const [a] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  throwsErrno(() => t.listen(a, 5), 'EINVAL');
  const l = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(l, un('/tmp/l'));
  assert.equal(t.getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN), 0);
  t.listen(l, 5);
  assert.equal(t.getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN), 1);
  // listen() again is allowed (it changes the backlog).
  t.listen(l, 10);
  throwsErrno(() => t.listen(99, 5), 'EBADF');
});

test('accept: EINVAL when not listening, EOPNOTSUPP on datagram sockets, EINVAL for bad accept4 flags', async () => {
  const { t } = setup();
  const s = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(s, un('/tmp/notlistening'));
  await rejectsErrno(t.accept(s), 'EINVAL');
  await rejectsErrno(t.accept(t.socket(AF_UNIX, SOCK_DGRAM, 0)), 'EOPNOTSUPP');
  const l = listener(t, '/tmp/l');
  await rejectsErrno(t.accept(l, 0x10), 'EINVAL');
  await rejectsErrno(t.accept(42), 'EBADF');
});

test('connect errors: ENOENT, ECONNREFUSED, EPROTOTYPE, EINVAL, EISCONN', async () => {
  const { t } = setup();
  const sock = (type = SOCK_STREAM) => t.socket(AF_UNIX, type, 0);
  await rejectsErrno(t.connect(sock(), un('/tmp/nothere')), 'ENOENT');
  await rejectsErrno(t.connect(sock(), un('\0nothere')), 'ECONNREFUSED');
  // Bound but not listening.
  const nl = sock();
  t.bind(nl, un('/tmp/nl'));
  await rejectsErrno(t.connect(sock(), un('/tmp/nl')), 'ECONNREFUSED');
  // A directory is not a socket.
  await rejectsErrno(t.connect(sock(), un('/tmp')), 'ECONNREFUSED');
  // Type mismatches through the filesystem are EPROTOTYPE.
  listener(t, '/tmp/stream');
  const dg = sock(SOCK_DGRAM);
  t.bind(dg, un('/tmp/dgram'));
  await rejectsErrno(t.connect(sock(SOCK_DGRAM), un('/tmp/stream')), 'EPROTOTYPE');
  await rejectsErrno(t.connect(sock(SOCK_SEQPACKET), un('/tmp/stream')), 'EPROTOTYPE');
  await rejectsErrno(t.connect(sock(), un('/tmp/dgram')), 'EPROTOTYPE');
  await rejectsErrno(t.sendto(sock(SOCK_DGRAM), enc('x'), 0, un('/tmp/stream')), 'EPROTOTYPE');
  // ... but abstract names are looked up per type: there is simply nothing there.
  listener(t, '\0stream');
  await rejectsErrno(t.connect(sock(SOCK_SEQPACKET), un('\0stream')), 'ECONNREFUSED');
  // Malformed addresses.
  await rejectsErrno(t.connect(sock(), Uint8Array.from([AF_INET, 0, 0x2f, 0x78, 0])), 'EINVAL');
  await rejectsErrno(t.connect(sock(), Uint8Array.from([AF_UNIX, 0])), 'EINVAL');
  await rejectsErrno(t.connect(sock(), Uint8Array.from([AF_UNIX])), 'EINVAL');
  // Connected already.
  const c = sock();
  await t.connect(c, un('/tmp/stream'));
  await rejectsErrno(t.connect(c, un('/tmp/stream')), 'EISCONN');
  const [p] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await rejectsErrno(t.connect(p, un('/tmp/stream')), 'EISCONN');
  // A listening socket cannot connect.
  const l2 = listener(t, '/tmp/l2');
  await rejectsErrno(t.connect(l2, un('/tmp/stream')), 'EINVAL');
  // Not a socket at all.
  const ep = t.epoll_create1(0);
  await rejectsErrno(t.connect(ep, un('/tmp/stream')), 'ENOTSOCK');
});

test('accept returns the peer address; names on both ends match', async () => {
  const { t } = setup();
  const l = listener(t, '/tmp/srv');
  const anon = t.socket(AF_UNIX, SOCK_STREAM, 0);
  await t.connect(anon, un('/tmp/srv'));
  const named = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(named, un('\0client'));
  await t.connect(named, un('/tmp/srv'));

  const r1 = await t.accept(l);
  assert.deepEqual(r1.addr, { family: AF_UNIX, path: '', addrlen: 2 });
  const r2 = await t.accept(l);
  assert.deepEqual(r2.addr, { family: AF_UNIX, path: '\0client', addrlen: 9 });

  const srv = { family: AF_UNIX, path: '/tmp/srv', addrlen: 11 };
  assert.deepEqual(t.getpeername(anon), srv);
  assert.deepEqual(t.getpeername(named), srv);
  // The accepted socket carries the listener's name.
  assert.deepEqual(t.getsockname(r1.fd), srv);
  assert.deepEqual(t.getpeername(r1.fd), { family: AF_UNIX, path: '', addrlen: 2 });
  assert.deepEqual(t.getpeername(r2.fd), { family: AF_UNIX, path: '\0client', addrlen: 9 });
  // Unconnected: ENOTCONN.
  throwsErrno(() => t.getpeername(l), 'ENOTCONN');
  throwsErrno(() => t.getpeername(t.socket(AF_UNIX, SOCK_STREAM, 0)), 'ENOTCONN');
});

test('connections are accepted in the order they were made', async () => {
  const { t } = setup();
  const l = listener(t, '\0fifo');
  for (let i = 0; i < 3; i++) {
    const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
    t.bind(c, un(`\0c${i}`));
    await t.connect(c, un('\0fifo'));
  }
  const names = [];
  for (let i = 0; i < 3; i++) names.push((await t.accept(l)).addr);
  assert.deepEqual(
    names.map((a) => ('path' in a ? a.path : '?')),
    ['\0c0', '\0c1', '\0c2'],
  );
});

test('data sent before accept is there after it; a client that closed first gives data then EOF', async () => {
  const { t } = setup();
  const l = listener(t, '\0early');
  const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
  await t.connect(c, un('\0early'));
  await t.send(c, enc('early'));
  t.close(c);
  const { fd } = await t.accept(l);
  assert.equal(await recvStr(t, fd, 10), 'early');
  assert.equal(await t.recv(fd, new Uint8Array(10)), 0);
});

test('accept4 SOCK_NONBLOCK|SOCK_CLOEXEC mark the new fd only', async () => {
  const { t } = setup();
  const l = listener(t, '\0a4');
  await t.connect(t.socket(AF_UNIX, SOCK_STREAM, 0), un('\0a4'));
  await t.connect(t.socket(AF_UNIX, SOCK_STREAM, 0), un('\0a4'));
  const plain = await t.accept(l);
  assert.equal(t.fcntl(plain.fd, F_GETFL) & O_NONBLOCK, 0);
  assert.equal(t.fcntl(plain.fd, F_GETFD), 0);
  const flagged = await t.accept4(l, SOCK_NONBLOCK | SOCK_CLOEXEC);
  assert.equal(t.fcntl(flagged.fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  assert.equal(t.fcntl(flagged.fd, F_GETFD), FD_CLOEXEC);
  assert.equal(t.fcntl(l, F_GETFL) & O_NONBLOCK, 0);
  await rejectsErrno(t.recv(flagged.fd, new Uint8Array(4)), 'EAGAIN');
});

test('a blocking accept sleeps until a client connects', async () => {
  const { t, host } = setup();
  const l = listener(t, '/tmp/wait');
  const pending = track(t.accept(l));
  await tick();
  assert.equal(pending.done(), false);
  const client = host.spawn({ uid: 0 });
  const c = client.socket(AF_UNIX, SOCK_STREAM, 0);
  await client.connect(c, un('/tmp/wait'));
  const { fd } = await pending.promise;
  await client.send(c, enc('ping'));
  assert.equal(await recvStr(t, fd), 'ping');
});

test('a non-blocking listener with nothing queued: accept is EAGAIN; poll shows POLLIN when a client waits', async () => {
  const { t } = setup();
  const l = listener(t, '\0nb');
  t.fcntl(l, F_SETFL, O_NONBLOCK);
  await rejectsErrno(t.accept(l), 'EAGAIN');
  assert.equal(await pollMask(t, l), 0);
  const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
  await t.connect(c, un('\0nb'));
  assert.equal(await pollMask(t, l), POLLIN | POLLRDNORM);
  // The client is connected and writable before it is accepted.
  assert.equal(await pollMask(t, c), POLLOUT | POLLWRNORM | POLLWRBAND);
  await t.accept(l);
  assert.equal(await pollMask(t, l), 0);
});

test('backlog: a queue of backlog+1 connections; then a non-blocking connect is EAGAIN', async () => {
  const { t } = setup();
  listener(t, '/tmp/bl', 1);
  const results: string[] = [];
  for (let i = 0; i < 4; i++) {
    const c = t.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    try {
      await t.connect(c, un('/tmp/bl'));
      results.push('ok');
    } catch (err) {
      results.push((err as { code: string }).code);
    }
  }
  assert.deepEqual(results, ['ok', 'ok', 'EAGAIN', 'EAGAIN']);
  const l0 = listener(t, '/tmp/bl0', 0);
  const r0: string[] = [];
  for (let i = 0; i < 2; i++) {
    try {
      await t.connect(t.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0), un('/tmp/bl0'));
      r0.push('ok');
    } catch (err) {
      r0.push((err as { code: string }).code);
    }
  }
  assert.deepEqual(r0, ['ok', 'EAGAIN']);
  // A bigger backlog lets the next one in.
  t.listen(l0, 5);
  await t.connect(t.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0), un('/tmp/bl0'));
});

test('backlog: a blocking connect waits for accept to drain the queue, then completes', async () => {
  const { t, world } = setup();
  const l = listener(t, '/tmp/bl', 1);
  await t.connect(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/bl'));
  await t.connect(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/bl'));
  const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
  const pending = track(t.connect(c, un('/tmp/bl')));
  await tick();
  await tick();
  assert.equal(pending.done(), false);
  throwsErrno(() => t.getpeername(c), 'ENOTCONN');
  const t0 = world.now();
  await t.accept(l);
  await pending.promise;
  assert.equal(world.now(), t0);
  assert.deepEqual(t.getpeername(c), { family: AF_UNIX, path: '/tmp/bl', addrlen: 10 });
  // It is the third connection in the queue.
  await t.accept(l);
  const third = await t.accept(l);
  await t.send(c, enc('third'));
  assert.equal(await recvStr(t, third.fd), 'third');
});

test('SO_RCVTIMEO on a listener: accept fails with EAGAIN once the virtual timeout passes', async () => {
  const { t, world } = setup();
  const l = listener(t, '/tmp/to');
  t.setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, { tv_sec: 0, tv_usec: 100000 });
  const t0 = world.now();
  await rejectsErrno(t.accept(l), 'EAGAIN');
  assert.equal(world.now() - t0, 100);
  // A client arriving within the timeout is accepted.
  t.setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, { tv_sec: 1, tv_usec: 0 });
  const pending = t.accept(l);
  await t.poll([], 30);
  await t.connect(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/to'));
  const r = await pending;
  assert.ok(r.fd >= 0);
  assert.equal(world.now() - t0, 130);
});

test('SO_SNDTIMEO on a client: a connect to a full backlog fails with EAGAIN after the timeout', async () => {
  const { t, world } = setup();
  listener(t, '\0full', 0);
  await t.connect(t.socket(AF_UNIX, SOCK_STREAM, 0), un('\0full'));
  const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
  // 60 ms = 15 jiffies of 4 ms.
  t.setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, { tv_sec: 0, tv_usec: 60000 });
  const t0 = world.now();
  await rejectsErrno(t.connect(c, un('\0full')), 'EAGAIN');
  assert.equal(world.now() - t0, 60);
});

test('a listener shut down for reading refuses connections', async () => {
  const { t } = setup();
  const l = listener(t, '\0shut');
  t.shutdown(l, SHUT_RD);
  await rejectsErrno(t.connect(t.socket(AF_UNIX, SOCK_STREAM, 0), un('\0shut')), 'ECONNREFUSED');
  // A blocking accept has nothing to wait for: EINVAL.
  await rejectsErrno(t.accept(l), 'EINVAL');
});

test('accept on a shut-down listener: EAGAIN when the listener is non-blocking', async () => {
  const { t } = setup();
  const l = listener(t, '\0shut-nb');
  t.shutdown(l, SHUT_RD);
  t.fcntl(l, F_SETFL, O_NONBLOCK);
  await rejectsErrno(t.accept(l), 'EAGAIN');
});

test('a listener shut down both ways polls POLLIN|POLLRDNORM|POLLRDHUP|POLLHUP', async () => {
  const { t } = setup();
  const l = listener(t, '\0shut2');
  assert.equal(await pollMask(t, l), 0);
  t.shutdown(l, SHUT_RDWR);
  assert.equal(await pollMask(t, l), POLLIN | POLLRDNORM | POLLRDHUP | POLLHUP);
});

test('closing a listener resets the connections still in its queue', async () => {
  const { t, host } = setup();
  const l = listener(t, '\0reset');
  const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
  await t.connect(c, un('\0reset'));
  await t.send(c, enc('hi'));
  assert.equal(socketCount(host), 3);
  t.close(l);
  // The embryo went with the listener.
  assert.equal(socketCount(host), 1);
  await rejectsErrno(t.recv(c, new Uint8Array(10)), 'ECONNRESET');
  assert.equal(await t.recv(c, new Uint8Array(10)), 0);
  await rejectsErrno(t.send(c, enc('x')), 'EPIPE');
});

test('accept with no free fd is EMFILE and the connection stays queued', async () => {
  const { t } = setup();
  const l = listener(t, '\0emfile');
  const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
  await t.connect(c, un('\0emfile'));
  t.setrlimit(RLIMIT_NOFILE, { cur: 2, max: 1024 });
  await rejectsErrno(t.accept(l), 'EMFILE');
  t.setrlimit(RLIMIT_NOFILE, { cur: 3, max: 1024 });
  const { fd } = await t.accept(l);
  assert.equal(fd, 2);
  await t.send(c, enc('x'));
  assert.equal(await recvStr(t, fd, 4, MSG_DONTWAIT), 'x');
});

test('seqpacket sockets listen, connect and accept like stream sockets', async () => {
  const { t } = setup();
  const l = listener(t, '\0sq', 2, SOCK_SEQPACKET);
  const c = t.socket(AF_UNIX, SOCK_SEQPACKET, 0);
  await t.connect(c, un('\0sq'));
  const { fd, addr } = await t.accept(l);
  assert.deepEqual(addr, { family: AF_UNIX, path: '', addrlen: 2 });
  assert.deepEqual(t.getsockname(fd), { family: AF_UNIX, path: '\0sq', addrlen: 5 });
  await t.send(c, enc('one'));
  await t.send(c, enc('two'));
  assert.equal(await recvStr(t, fd, 100), 'one');
  assert.equal(await recvStr(t, fd, 100), 'two');
});

test('connected sockets and the embryos of accept are listed in /proc/net/unix and freed on close', async () => {
  const { t, host } = setup();
  const l = listener(t, '/tmp/proc');
  const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
  await t.connect(c, un('/tmp/proc'));
  assert.equal(socketCount(host), 3);
  const { fd } = await t.accept(l);
  assert.equal(socketCount(host), 3);
  assert.equal(
    host
      .procNetUnix()
      .split('\n')
      .filter((s) => s.endsWith(' /tmp/proc')).length,
    2,
  );
  t.close(fd);
  t.close(c);
  t.close(l);
  assert.equal(socketCount(host), 0);
  // A closed fd polls POLLNVAL.
  assert.equal(await pollMask(t, l), 0x20);
});

test('a client connecting to a listener of another user succeeds when the node is writable', async () => {
  const { t, host } = setup();
  const srv = host.spawn({ uid: 1000, gid: 1000 });
  const l = srv.socket(AF_UNIX, SOCK_STREAM, 0);
  srv.bind(l, un('/tmp/user-srv'));
  srv.listen(l, 4);
  // Root bypasses the permission check.
  await t.connect(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/user-srv'));
  const other = host.spawn({ uid: 2000, gid: 2000 });
  await rejectsErrno(other.connect(other.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/user-srv')), 'EACCES');
  srv.chmod('/tmp/user-srv', 0o757);
  await other.connect(other.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/user-srv'));
  assert.equal(srv.getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN), 1);
});
