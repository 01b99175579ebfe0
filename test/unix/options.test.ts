// SOL_SOCKET options and socket ioctls on AF_UNIX sockets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF_UNIX,
  SOCK_STREAM,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOL_SOCKET,
  SO_TYPE,
  SO_DOMAIN,
  SO_PROTOCOL,
  SO_ACCEPTCONN,
  SO_SNDBUF,
  SO_RCVBUF,
  SO_SNDBUFFORCE,
  SO_RCVBUFFORCE,
  SO_LINGER,
  SO_RCVTIMEO,
  SO_SNDTIMEO,
  SO_PEEK_OFF,
  SO_ERROR,
  SO_RCVLOWAT,
  SO_MARK,
  MSG_PEEK,
  FIONREAD,
  SIOCINQ,
  SIOCOUTQ,
  FIONBIO,
  F_GETFL,
  O_NONBLOCK,
} from '../../src/index.js';
import { setup, un, enc, throwsErrno, rejectsErrno, recvStr } from './helpers.js';

function int(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function timeval(sec: number, usec: number): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigInt64(0, BigInt(sec), true);
  dv.setBigInt64(8, BigInt(usec), true);
  return b;
}

test('SO_TYPE, SO_DOMAIN, SO_PROTOCOL and SO_ACCEPTCONN are read-only (ENOPROTOOPT on set)', () => {
  const { t } = setup();
  const fd = t.socket(AF_UNIX, SOCK_SEQPACKET, 0);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_TYPE), SOCK_SEQPACKET);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_DOMAIN), AF_UNIX);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL), 0);
  for (const opt of [SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ACCEPTCONN]) {
    throwsErrno(() => t.setsockopt(fd, SOL_SOCKET, opt, 1), 'ENOPROTOOPT');
  }
});

test('getsockopt copies at most the caller buffer; setsockopt needs a whole int', () => {
  const { t } = setup();
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  assert.deepEqual(t.getsockoptRaw(fd, SOL_SOCKET, SO_TYPE, 2), Uint8Array.from([1, 0]));
  assert.deepEqual(t.getsockoptRaw(fd, SOL_SOCKET, SO_TYPE, 8), Uint8Array.from([1, 0, 0, 0]));
  throwsErrno(() => t.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, Uint8Array.from([1, 0])), 'EINVAL');
  throwsErrno(() => t.getsockoptRaw(fd, SOL_SOCKET, SO_TYPE, -1), 'EINVAL');
});

test('unknown options are ENOPROTOOPT; options at a level AF_UNIX lacks are EOPNOTSUPP', () => {
  const { t } = setup();
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  throwsErrno(() => t.setsockopt(fd, SOL_SOCKET, 1000, 1), 'ENOPROTOOPT');
  throwsErrno(() => t.getsockopt(fd, SOL_SOCKET, 1000), 'ENOPROTOOPT');
  throwsErrno(() => t.setsockopt(fd, 6, 1, 1), 'EOPNOTSUPP');
  throwsErrno(() => t.getsockopt(fd, 6, 1), 'EOPNOTSUPP');
  throwsErrno(() => t.getsockopt(55, SOL_SOCKET, SO_TYPE), 'EBADF');
  const ep = t.epoll_create1(0);
  throwsErrno(() => t.getsockopt(ep, SOL_SOCKET, SO_TYPE), 'ENOTSOCK');
});

test('SO_SNDBUF/SO_RCVBUF: default 212992, doubled on set, floors of 4608 and 2304', () => {
  const { t } = setup();
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_SNDBUF), 212992);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_RCVBUF), 212992);
  const cases: [number, number, number][] = [
    [0, 4608, 2304],
    [1, 4608, 2304],
    [1000, 4608, 2304],
    [2303, 4608, 4606],
    [2304, 4608, 4608],
    [10000, 20000, 20000],
  ];
  for (const [v, snd, rcv] of cases) {
    t.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, v);
    t.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, v);
    assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_SNDBUF), snd, `SO_SNDBUF ${v}`);
    assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_RCVBUF), rcv, `SO_RCVBUF ${v}`);
  }
});

test('SO_SNDBUF/SO_RCVBUF are clamped to net.core.wmem_max/rmem_max before doubling', () => {
  const { t, host } = setup();
  const fd = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  t.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, 1 << 30);
  t.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, -1);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_SNDBUF), 2 * 212992);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_RCVBUF), 2 * 212992);
  host.sysctl.write('net.core.wmem_max', 1000000);
  host.sysctl.write('net.core.rmem_max', 4194304);
  t.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, 1 << 20);
  t.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, -1);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_SNDBUF), 2000000);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_RCVBUF), 8388608);
  // The defaults come from net.core.[rw]mem_default when the socket is made.
  host.sysctl.write('net.core.wmem_default', 65536);
  const fresh = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  assert.equal(t.getsockopt(fresh, SOL_SOCKET, SO_SNDBUF), 65536);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_SNDBUF), 2000000);
});

test('SO_SNDBUFFORCE/SO_RCVBUFFORCE ignore the maximum, but need CAP_NET_ADMIN', () => {
  const { t, host } = setup();
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, 1000000);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_SNDBUF), 2000000);
  t.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, 1000000);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_RCVBUF), 2000000);
  const user = host.spawn({ uid: 1000 });
  const ufd = user.socket(AF_UNIX, SOCK_STREAM, 0);
  throwsErrno(() => user.setsockopt(ufd, SOL_SOCKET, SO_SNDBUFFORCE, 100000), 'EPERM');
  throwsErrno(() => user.setsockopt(ufd, SOL_SOCKET, SO_RCVBUFFORCE, 100000), 'EPERM');
  throwsErrno(() => user.setsockopt(ufd, SOL_SOCKET, SO_MARK, 1), 'EPERM');
  assert.equal(user.getsockopt(ufd, SOL_SOCKET, SO_SNDBUF), 212992);
});

test('SO_LINGER: l_onoff as set, l_linger in seconds and kept when lingering is turned off', () => {
  const { t } = setup();
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  assert.deepEqual(t.getsockopt(fd, SOL_SOCKET, SO_LINGER), { l_onoff: 0, l_linger: 0 });
  t.setsockopt(fd, SOL_SOCKET, SO_LINGER, { l_onoff: 0, l_linger: 7 });
  assert.deepEqual(t.getsockopt(fd, SOL_SOCKET, SO_LINGER), { l_onoff: 0, l_linger: 0 });
  t.setsockopt(fd, SOL_SOCKET, SO_LINGER, { l_onoff: 1, l_linger: 5 });
  assert.deepEqual(t.getsockopt(fd, SOL_SOCKET, SO_LINGER), { l_onoff: 1, l_linger: 5 });
  t.setsockopt(fd, SOL_SOCKET, SO_LINGER, { l_onoff: 0, l_linger: 9 });
  assert.deepEqual(t.getsockopt(fd, SOL_SOCKET, SO_LINGER), { l_onoff: 0, l_linger: 5 });
  throwsErrno(() => t.setsockopt(fd, SOL_SOCKET, SO_LINGER, int(1)), 'EINVAL');
});

test('SO_RCVTIMEO/SO_SNDTIMEO round up to 4 ms jiffies; out-of-range microseconds are EDOM', () => {
  const { t } = setup();
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  assert.deepEqual(t.getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO), { tv_sec: 0, tv_usec: 0 });
  assert.deepEqual(t.getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO), { tv_sec: 0, tv_usec: 0 });
  const cases: [number, number, number, number][] = [
    [0, 1, 0, 4000],
    [0, 1001, 0, 4000],
    [0, 4000, 0, 4000],
    [0, 4001, 0, 8000],
    [1, 5000, 1, 8000],
    [2, 999999, 3, 0],
    [0, 0, 0, 0],
  ];
  for (const [s, us, es, eus] of cases) {
    t.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, { tv_sec: s, tv_usec: us });
    assert.deepEqual(t.getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO), { tv_sec: es, tv_usec: eus }, `${s}.${us}`);
    t.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, timeval(s, us));
    assert.deepEqual(t.getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO), { tv_sec: es, tv_usec: eus }, `${s}.${us}`);
  }
  throwsErrno(() => t.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, { tv_sec: 0, tv_usec: 1000000 }), 'EDOM');
  throwsErrno(() => t.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, { tv_sec: 0, tv_usec: -1 }), 'EDOM');
  throwsErrno(() => t.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval(1, 0).subarray(0, 8)), 'EINVAL');
});

test('a rounded SO_RCVTIMEO is what a read waits', async () => {
  const { t, world } = setup();
  const [, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  t.setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, { tv_sec: 0, tv_usec: 1001 });
  const t0 = world.now();
  await rejectsErrno(t.recv(b, new Uint8Array(4)), 'EAGAIN');
  assert.equal(world.now() - t0, 4);
});

test('SO_PEEK_OFF on a stream: peeks advance it, reads pull it back', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  assert.equal(t.getsockopt(b, SOL_SOCKET, SO_PEEK_OFF), -1);
  await t.send(a, enc('abcdef'));
  t.setsockopt(b, SOL_SOCKET, SO_PEEK_OFF, 0);
  assert.equal(await recvStr(t, b, 2, MSG_PEEK), 'ab');
  assert.equal(await recvStr(t, b, 2, MSG_PEEK), 'cd');
  assert.equal(t.getsockopt(b, SOL_SOCKET, SO_PEEK_OFF), 4);
  assert.equal(await recvStr(t, b, 3), 'abc');
  assert.equal(t.getsockopt(b, SOL_SOCKET, SO_PEEK_OFF), 1);
  assert.equal(await recvStr(t, b, 10, MSG_PEEK), 'ef');
  assert.equal(t.getsockopt(b, SOL_SOCKET, SO_PEEK_OFF), 3);
});

test('SO_PEEK_OFF on a datagram socket: peeks step through the queue', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  for (const m of ['one', 'two!', 'three']) await t.send(a, enc(m));
  t.setsockopt(b, SOL_SOCKET, SO_PEEK_OFF, 0);
  assert.equal(await recvStr(t, b, 10, MSG_PEEK), 'one');
  assert.equal(t.getsockopt(b, SOL_SOCKET, SO_PEEK_OFF), 3);
  assert.equal(await recvStr(t, b, 10, MSG_PEEK), 'two!');
  assert.equal(t.getsockopt(b, SOL_SOCKET, SO_PEEK_OFF), 7);
  assert.equal(await recvStr(t, b, 10), 'one');
  assert.equal(t.getsockopt(b, SOL_SOCKET, SO_PEEK_OFF), 4);
  assert.equal(await recvStr(t, b, 10, MSG_PEEK), 'three');
  assert.equal(t.getsockopt(b, SOL_SOCKET, SO_PEEK_OFF), 9);
});

test('SO_ERROR reports a pending error once and clears it', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  assert.equal(t.getsockopt(a, SOL_SOCKET, SO_ERROR), 0);
  await t.send(a, enc('x'));
  t.close(b);
  assert.equal(t.getsockopt(a, SOL_SOCKET, SO_ERROR), 104);
  assert.equal(t.getsockopt(a, SOL_SOCKET, SO_ERROR), 0);
  // Consumed: the read now sees plain end of file.
  assert.equal(await t.recv(a, new Uint8Array(1)), 0);
});

test('SO_RCVLOWAT: a read waits for that many bytes, up to SO_RCVTIMEO', async () => {
  const { t, world } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  t.setsockopt(b, SOL_SOCKET, SO_RCVLOWAT, 5);
  assert.equal(t.getsockopt(b, SOL_SOCKET, SO_RCVLOWAT), 5);
  t.setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, { tv_sec: 0, tv_usec: 20000 });
  await t.send(a, enc('abc'));
  const t0 = world.now();
  assert.equal(await recvStr(t, b, 10), 'abc');
  assert.equal(world.now() - t0, 20);
  t.setsockopt(b, SOL_SOCKET, SO_RCVLOWAT, 0);
  assert.equal(t.getsockopt(b, SOL_SOCKET, SO_RCVLOWAT), 1);
});

test('FIONREAD/SIOCINQ: unread bytes of a stream; SIOCOUTQ: what our unread writes are charged', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.send(a, enc('0123456789'));
  await t.send(a, enc('abc'));
  assert.equal(t.ioctl(b, FIONREAD), 13);
  assert.equal(t.ioctl(b, SIOCINQ), 13);
  assert.equal(t.ioctl(a, SIOCOUTQ), 1536);
  assert.equal(t.ioctl(b, SIOCOUTQ), 0);
  await recvStr(t, b, 5);
  assert.equal(t.ioctl(b, FIONREAD), 8);
  await recvStr(t, b, 100);
  assert.equal(t.ioctl(a, SIOCOUTQ), 0);
  for (const [len, charge] of [
    [1, 768],
    [4000, 4864],
    [5000, 6400],
    [100000, 103168],
  ]) {
    await t.send(a, new Uint8Array(len));
    assert.equal(t.ioctl(a, SIOCOUTQ), charge, `SIOCOUTQ after ${len} bytes`);
    assert.equal(t.ioctl(b, FIONREAD), len);
    let left = len;
    while (left) left -= await t.recv(b, new Uint8Array(65536));
  }
});

test('ioctls on a listener and unknown ioctls', () => {
  const { t } = setup();
  const l = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(l, un('\0lis'));
  t.listen(l, 1);
  throwsErrno(() => t.ioctl(l, FIONREAD), 'EINVAL');
  assert.equal(t.ioctl(l, SIOCOUTQ), 0);
  throwsErrno(() => t.ioctl(l, 0x1234), 'ENOTTY');
  throwsErrno(() => t.ioctl(99, FIONREAD), 'EBADF');
  t.ioctl(l, FIONBIO, 1);
  assert.equal(t.fcntl(l, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
});
