// SOCK_DGRAM: addressing, message boundaries, connect/disconnect, dead peers, queue limits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF_UNIX,
  AF_UNSPEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  SO_SNDTIMEO,
  SO_RCVTIMEO,
  SO_SNDBUF,
  MSG_PEEK,
  MSG_TRUNC,
  MSG_DONTWAIT,
  MSG_OOB,
  MSG_WAITFORONE,
  SHUT_RD,
  SHUT_WR,
  FIONREAD,
  POLLIN,
  POLLOUT,
  POLLRDNORM,
  POLLWRNORM,
  POLLWRBAND,
  POLLRDHUP,
} from '../../src/index.js';
import { setup, un, enc, dec, throwsErrno, rejectsErrno, recvStr, tick, track, pollMask } from './helpers.js';
import type { Task } from '../../src/index.js';

const OUT = POLLOUT | POLLWRNORM | POLLWRBAND;

function bound(t: Task, path: string, flags = 0): number {
  const fd = t.socket(AF_UNIX, SOCK_DGRAM | flags, 0);
  t.bind(fd, un(path));
  return fd;
}

test('sendto/recvfrom: the receiver learns a named sender; an unnamed one gives no address', async () => {
  const { t } = setup();
  const r = bound(t, '/tmp/r');
  const s = bound(t, '\0sender');
  assert.equal(await t.sendto(s, enc('from named'), 0, un('/tmp/r')), 10);
  const got = await t.recvfrom(r, new Uint8Array(64));
  assert.equal(got.n, 10);
  assert.deepEqual(got.addr, { family: AF_UNIX, path: '\0sender', addrlen: 9 });
  const anon = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  await t.sendto(anon, enc('from anon'), 0, un('/tmp/r'));
  const got2 = await t.recvfrom(r, new Uint8Array(64));
  assert.equal(got2.addr, null);
  // The reply goes back to the named sender.
  await t.sendto(r, enc('reply'), 0, un('\0sender'));
  const back = await t.recvfrom(s, new Uint8Array(64));
  assert.deepEqual(back.addr, { family: AF_UNIX, path: '/tmp/r', addrlen: 9 });
});

test('message boundaries are kept: each recv takes one datagram', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  for (const m of ['one', 'two', 'three']) await t.send(a, enc(m));
  assert.equal(await recvStr(t, b, 100), 'one');
  assert.equal(await recvStr(t, b, 100), 'two');
  assert.equal(await recvStr(t, b, 100), 'three');
  await rejectsErrno(t.recv(b, new Uint8Array(4), MSG_DONTWAIT), 'EAGAIN');
});

test('a short buffer truncates the datagram: MSG_TRUNC in flags, the rest is lost; MSG_TRUNC as a flag returns the real length', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  await t.send(a, enc('0123456789'));
  await t.send(a, enc('abcdef'));
  await t.send(a, enc('XYZ'));
  const r1 = await t.recvmsg(b, { iov: [new Uint8Array(4)] });
  assert.equal(r1.n, 4);
  assert.equal(r1.flags & MSG_TRUNC, MSG_TRUNC);
  const buf = new Uint8Array(2);
  assert.equal(await t.recv(b, buf, MSG_TRUNC), 6);
  assert.equal(dec(buf), 'ab');
  const r3 = await t.recvmsg(b, { iov: [new Uint8Array(2)] }, MSG_TRUNC | MSG_PEEK);
  assert.equal(r3.n, 3);
  assert.equal(r3.flags & MSG_TRUNC, MSG_TRUNC);
  const r4 = await t.recvmsg(b, { iov: [new Uint8Array(100)] });
  assert.equal(r4.n, 3);
  assert.equal(r4.flags & MSG_TRUNC, 0);
});

test('an empty datagram is a message of its own', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  assert.equal(await t.send(a, new Uint8Array(0)), 0);
  await t.send(a, enc('next'));
  assert.equal(t.ioctl(b, FIONREAD), 0);
  assert.equal(await pollMask(t, b), POLLIN | POLLRDNORM | OUT);
  assert.equal(await t.recv(b, new Uint8Array(10)), 0);
  assert.equal(await recvStr(t, b), 'next');
});

test('MSG_PEEK returns the first datagram and leaves it queued; FIONREAD is its size', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  await t.send(a, enc('0123456789'));
  await t.send(a, enc('abc'));
  assert.equal(t.ioctl(b, FIONREAD), 10);
  assert.equal(await recvStr(t, b, 100, MSG_PEEK), '0123456789');
  assert.equal(await recvStr(t, b, 100, MSG_PEEK), '0123456789');
  assert.equal(await recvStr(t, b, 100), '0123456789');
  assert.equal(t.ioctl(b, FIONREAD), 3);
});

test('a blocking recv sleeps until a datagram comes; SO_RCVTIMEO bounds the sleep', async () => {
  const { t, world } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  const r = track(t.recv(b, new Uint8Array(10)));
  await tick();
  assert.equal(r.done(), false);
  await t.send(a, enc('wake'));
  assert.equal(await r.promise, 4);
  t.setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, { tv_sec: 0, tv_usec: 30000 });
  const t0 = world.now();
  await rejectsErrno(t.recv(b, new Uint8Array(10)), 'EAGAIN');
  assert.equal(world.now() - t0, 32);
});

test('connect sets the default destination, sendto may still name another; getpeername reports it', async () => {
  const { t } = setup();
  const r = bound(t, '/tmp/dst');
  const other = bound(t, '/tmp/other');
  const c = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  await rejectsErrno(t.send(c, enc('x')), 'ENOTCONN');
  throwsErrno(() => t.getpeername(c), 'ENOTCONN');
  await t.connect(c, un('/tmp/dst'));
  assert.deepEqual(t.getpeername(c), { family: AF_UNIX, path: '/tmp/dst', addrlen: 11 });
  await t.send(c, enc('to dst'));
  assert.equal(await recvStr(t, r), 'to dst');
  // sendto with an address still goes where it says.
  await t.sendto(c, enc('to other'), 0, un('/tmp/other'));
  assert.equal(await recvStr(t, other), 'to other');
  await rejectsErrno(t.sendto(c, enc('y'), 0, un('\0nobody')), 'ECONNREFUSED');
});

test('connect to AF_UNSPEC dissolves the association', async () => {
  const { t } = setup();
  bound(t, '\0dgs2');
  const c = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  await t.connect(c, un('\0dgs2'));
  await t.connect(c, Uint8Array.from([AF_UNSPEC, 0, ...new Array(14).fill(0)]));
  throwsErrno(() => t.getpeername(c), 'ENOTCONN');
  await rejectsErrno(t.send(c, enc('x')), 'ENOTCONN');
  // The two-byte form works too; a one-byte address is EINVAL.
  await t.connect(c, un('\0dgs2'));
  await t.connect(c, Uint8Array.from([AF_UNSPEC, 0]));
  throwsErrno(() => t.getpeername(c), 'ENOTCONN');
  await rejectsErrno(t.connect(c, Uint8Array.from([AF_UNSPEC])), 'EINVAL');
  // Disconnecting an unconnected socket is fine.
  await t.connect(c, Uint8Array.from([AF_UNSPEC, 0]));
});

test('a connected peer that closed: the next send is ECONNREFUSED, then ENOTCONN', async () => {
  const { t } = setup();
  const srv = bound(t, '/tmp/dgs');
  const c = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  await t.connect(c, un('/tmp/dgs'));
  await t.send(c, enc('1'));
  t.close(srv);
  assert.equal(await pollMask(t, c), OUT);
  await rejectsErrno(t.send(c, enc('x')), 'ECONNREFUSED');
  await rejectsErrno(t.send(c, enc('x')), 'ENOTCONN');
  throwsErrno(() => t.getpeername(c), 'ENOTCONN');
  // The same for a socketpair end.
  const [a, b] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  t.close(b);
  await rejectsErrno(t.send(a, enc('x')), 'ECONNREFUSED');
  await rejectsErrno(t.send(a, enc('x')), 'ENOTCONN');
});

test('sendto a path whose socket is gone is ECONNREFUSED; a missing path ENOENT; a missing abstract name ECONNREFUSED', async () => {
  const { t } = setup();
  const g = bound(t, '/tmp/gone');
  t.close(g);
  const s = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  await rejectsErrno(t.sendto(s, enc('x'), 0, un('/tmp/gone')), 'ECONNREFUSED');
  await rejectsErrno(t.sendto(s, enc('x'), 0, un('/tmp/never')), 'ENOENT');
  await rejectsErrno(t.sendto(s, enc('x'), 0, un('\0never')), 'ECONNREFUSED');
  await rejectsErrno(t.sendto(s, enc('x'), 0, Uint8Array.from([2, 0, 0x61])), 'EINVAL');
});

test('a socket connected elsewhere refuses others: EPERM on sendto and connect', async () => {
  const { t } = setup();
  const r = bound(t, '\0r1');
  bound(t, '\0o1');
  await t.connect(r, un('\0o1'));
  const s = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  await rejectsErrno(t.sendto(s, enc('x'), 0, un('\0r1')), 'EPERM');
  await rejectsErrno(t.connect(s, un('\0r1')), 'EPERM');
});

test('a socket connected to itself talks to itself', async () => {
  const { t } = setup();
  const s = bound(t, '\0self');
  await t.connect(s, un('\0self'));
  await t.send(s, enc('me'));
  const r = await t.recvfrom(s, new Uint8Array(10));
  assert.equal(r.n, 2);
  assert.deepEqual(r.addr, { family: AF_UNIX, path: '\0self', addrlen: 7 });
});

test('reconnecting elsewhere drops what the old peer sent; that peer learns ECONNRESET, then EPERM', async () => {
  const { t } = setup();
  const r = bound(t, '\0r2', SOCK_NONBLOCK);
  const s = bound(t, '\0s2');
  bound(t, '\0o2');
  await t.connect(r, un('\0s2'));
  await t.connect(s, un('\0r2'));
  await t.send(s, enc('queued'));
  await t.connect(r, un('\0o2'));
  await rejectsErrno(t.recv(r, new Uint8Array(10)), 'EAGAIN');
  await rejectsErrno(t.send(s, enc('x')), 'ECONNRESET');
  await rejectsErrno(t.send(s, enc('x')), 'EPERM');
});

test('net.unix.max_dgram_qlen bounds the receive queue for unconnected senders', async () => {
  const { t, host, world } = setup();
  host.sysctl.write('net.unix.max_dgram_qlen', 2);
  const r = bound(t, '\0q');
  const s = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  const res: (number | string)[] = [];
  for (let i = 0; i < 5; i++) {
    try {
      res.push(await t.sendto(s, enc(`m${i}`), MSG_DONTWAIT, un('\0q')));
    } catch (err) {
      res.push((err as { code: string }).code);
    }
  }
  assert.deepEqual(res, [2, 2, 2, 'EAGAIN', 'EAGAIN']);
  // An unconnected sender still polls writable; a connected one waits for the receiver.
  assert.equal(await pollMask(t, s), OUT);
  await t.connect(s, un('\0q'));
  assert.equal(await pollMask(t, s), 0);
  assert.equal(await recvStr(t, r), 'm0');
  assert.equal(await pollMask(t, s), OUT);
  assert.equal(await t.send(s, enc('z'), MSG_DONTWAIT), 1);
  await rejectsErrno(t.send(s, enc('z'), MSG_DONTWAIT), 'EAGAIN');
  // A blocking send with SO_SNDTIMEO gives up after the timeout (50 ms -> 13 jiffies).
  t.setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, { tv_sec: 0, tv_usec: 50000 });
  const t0 = world.now();
  await rejectsErrno(t.send(s, enc('z')), 'EAGAIN');
  assert.equal(world.now() - t0, 52);
  // Without a timeout it waits until the receiver takes a message.
  t.setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, { tv_sec: 0, tv_usec: 0 });
  const w = track(t.send(s, enc('late')));
  await tick();
  assert.equal(w.done(), false);
  assert.equal(await recvStr(t, r), 'm1');
  assert.equal(await w.promise, 4);
  const rest = [];
  for (let i = 0; i < 3; i++) rest.push(await recvStr(t, r));
  assert.deepEqual(rest, ['m2', 'z', 'late']);
});

test('the queue limit is taken when the socket is created', async () => {
  const { t, host } = setup();
  bound(t, '\0before');
  host.sysctl.write('net.unix.max_dgram_qlen', 0);
  const s = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  for (let i = 0; i < 11; i++) await t.sendto(s, enc('x'), MSG_DONTWAIT, un('\0before'));
  await rejectsErrno(t.sendto(s, enc('x'), MSG_DONTWAIT, un('\0before')), 'EAGAIN');
  bound(t, '\0after');
  await t.sendto(s, enc('x'), MSG_DONTWAIT, un('\0after'));
  await rejectsErrno(t.sendto(s, enc('x'), MSG_DONTWAIT, un('\0after')), 'EAGAIN');
});

test('a socketpair has no queue-length limit, only the send buffer', async () => {
  const { t, host } = setup();
  host.sysctl.write('net.unix.max_dgram_qlen', 2);
  const [a] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  for (let i = 0; i < 20; i++) await t.send(a, enc('x'), MSG_DONTWAIT);
});

test('a datagram larger than the send buffer less 32 bytes is EMSGSIZE', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  await rejectsErrno(t.send(a, new Uint8Array(212992)), 'EMSGSIZE');
  await rejectsErrno(t.send(a, new Uint8Array(212992 - 31)), 'EMSGSIZE');
  assert.equal(await t.send(a, new Uint8Array(212992 - 32)), 212960);
  assert.equal(await t.recv(b, new Uint8Array(300000)), 212960);
  t.setsockopt(a, SOL_SOCKET, SO_SNDBUF, 0);
  assert.equal(t.getsockopt(a, SOL_SOCKET, SO_SNDBUF), 4608);
  assert.equal(await t.send(a, new Uint8Array(4576)), 4576);
  await rejectsErrno(t.send(a, new Uint8Array(4577)), 'EMSGSIZE');
});

test('MSG_OOB is EOPNOTSUPP on datagram sockets', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  await rejectsErrno(t.send(a, enc('x'), MSG_OOB), 'EOPNOTSUPP');
  await rejectsErrno(t.recv(b, new Uint8Array(1), MSG_OOB), 'EOPNOTSUPP');
});

test('shutdown(SHUT_WR) on a datagram socket: our sends are EPIPE; the peer sees no end of file', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  t.shutdown(a, SHUT_WR);
  assert.equal(await pollMask(t, a), OUT);
  assert.equal(await pollMask(t, b), OUT);
  await rejectsErrno(t.send(a, enc('x')), 'EPIPE');
  assert.equal(await t.send(b, enc('x')), 1);
  await rejectsErrno(t.recv(b, new Uint8Array(5), MSG_DONTWAIT), 'EAGAIN');
  assert.equal(await recvStr(t, a), 'x');
});

test('shutdown(SHUT_RD) on a datagram socket: a blocking recv returns 0, a non-blocking one EAGAIN', async () => {
  const { t } = setup();
  const [a] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  t.shutdown(a, SHUT_RD);
  assert.equal(await pollMask(t, a), POLLIN | POLLRDNORM | POLLRDHUP | OUT);
  assert.equal(await t.recv(a, new Uint8Array(5)), 0);
  await rejectsErrno(t.recv(a, new Uint8Array(5), MSG_DONTWAIT), 'EAGAIN');
});

test('sendmmsg and recvmmsg move several datagrams in one call', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  assert.equal(
    await t.sendmmsg(a, [{ iov: [enc('one')] }, { iov: [enc('two'), enc('!')] }, { iov: [enc('3')] }]),
    3,
  );
  const rs = await t.recvmmsg(b, [{ iov: [new Uint8Array(8)] }, { iov: [new Uint8Array(8)] }], 0);
  assert.deepEqual(
    rs.map((r) => r.n),
    [3, 4],
  );
  const rest = await t.recvmmsg(
    b,
    [{ iov: [new Uint8Array(8)] }, { iov: [new Uint8Array(8)] }],
    MSG_WAITFORONE,
  );
  assert.deepEqual(
    rest.map((r) => r.n),
    [1],
  );
});
