// socket(2) and socketpair(2) for AF_UNIX: types, protocols, flags and their errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF_UNIX,
  AF_MAX,
  SOCK_STREAM,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_RDM,
  SOCK_SEQPACKET,
  SOCK_DCCP,
  SOCK_PACKET,
  SOCK_NONBLOCK,
  SOCK_CLOEXEC,
  SOL_SOCKET,
  SO_TYPE,
  SO_DOMAIN,
  SO_PROTOCOL,
  SO_ACCEPTCONN,
  F_GETFL,
  F_GETFD,
  O_NONBLOCK,
  FD_CLOEXEC,
  POLLOUT,
  POLLWRNORM,
  POLLWRBAND,
  POLLHUP,
  PF_UNIX,
} from '../../src/index.js';
import { setup, socketCount, throwsErrno, rejectsErrno, enc, recvStr, pollMask } from './helpers.js';

test('socket() gives the lowest free fds, one per socket, listed in /proc/net/unix', () => {
  const { host, t } = setup();
  assert.equal(socketCount(host), 0);
  assert.equal(t.socket(AF_UNIX, SOCK_STREAM, 0), 0);
  assert.equal(t.socket(AF_UNIX, SOCK_DGRAM, 0), 1);
  assert.equal(t.socket(AF_UNIX, SOCK_SEQPACKET, 0), 2);
  assert.deepEqual(t.fds(), [0, 1, 2]);
  assert.equal(socketCount(host), 3);
  t.close(1);
  assert.equal(socketCount(host), 2);
  assert.equal(t.socket(AF_UNIX, SOCK_STREAM, 0), 1);
});

test('SO_TYPE, SO_DOMAIN and SO_PROTOCOL report each type; protocol is 0 even when PF_UNIX was asked', () => {
  const { t } = setup();
  for (const type of [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET]) {
    for (const proto of [0, PF_UNIX]) {
      const fd = t.socket(AF_UNIX, type, proto);
      assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_TYPE), type);
      assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_DOMAIN), AF_UNIX);
      assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL), 0);
      assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 0);
    }
  }
});

test('SOCK_RAW becomes SOCK_DGRAM (socket and socketpair) and behaves as one', async () => {
  const { t } = setup();
  const fd = t.socket(AF_UNIX, SOCK_RAW, 0);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
  const [a, b] = t.socketpair(AF_UNIX, SOCK_RAW, 0);
  assert.equal(t.getsockopt(a, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
  assert.equal(t.getsockopt(b, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
  await t.send(a, enc('one'));
  await t.send(a, enc('two'));
  assert.equal(await recvStr(t, b, 2), 'on');
  assert.equal(await recvStr(t, b, 10), 'two');
  // SOCK_RAW with SOCK_NONBLOCK is still accepted.
  const nb = t.socket(AF_UNIX, SOCK_RAW | SOCK_NONBLOCK, 0);
  assert.equal(t.getsockopt(nb, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
});

test('an unknown or out-of-range family is EAFNOSUPPORT', () => {
  const { t } = setup();
  throwsErrno(() => t.socket(AF_MAX, SOCK_STREAM, 0), 'EAFNOSUPPORT');
  throwsErrno(() => t.socket(-1, SOCK_STREAM, 0), 'EAFNOSUPPORT');
  throwsErrno(() => t.socket(1000, SOCK_STREAM, 0), 'EAFNOSUPPORT');
  throwsErrno(() => t.socketpair(AF_MAX, SOCK_STREAM, 0), 'EAFNOSUPPORT');
  assert.deepEqual(t.fds(), []);
});

test('flags other than SOCK_NONBLOCK|SOCK_CLOEXEC in the type, or a type >= SOCK_MAX, are EINVAL', () => {
  const { t } = setup();
  throwsErrno(() => t.socket(AF_UNIX, SOCK_STREAM | 0x100000, 0), 'EINVAL');
  throwsErrno(() => t.socket(AF_UNIX, SOCK_STREAM | 0x10, 0), 'EINVAL');
  throwsErrno(() => t.socket(AF_UNIX, 11, 0), 'EINVAL');
  throwsErrno(() => t.socketpair(AF_UNIX, SOCK_DGRAM | 0x80, 0), 'EINVAL');
  throwsErrno(() => t.socketpair(AF_UNIX, 11, 0), 'EINVAL');
  assert.deepEqual(t.fds(), []);
});

test('a protocol other than 0 or PF_UNIX is EPROTONOSUPPORT', () => {
  const { t } = setup();
  throwsErrno(() => t.socket(AF_UNIX, SOCK_STREAM, 2), 'EPROTONOSUPPORT');
  throwsErrno(() => t.socket(AF_UNIX, SOCK_DGRAM, 5), 'EPROTONOSUPPORT');
  throwsErrno(() => t.socketpair(AF_UNIX, SOCK_SEQPACKET, 5), 'EPROTONOSUPPORT');
  assert.deepEqual(t.fds(), []);
});

test('types AF_UNIX does not implement are ESOCKTNOSUPPORT', () => {
  const { t } = setup();
  for (const type of [0, SOCK_RDM, SOCK_DCCP, 7, 8, 9, SOCK_PACKET]) {
    throwsErrno(() => t.socket(AF_UNIX, type, 0), 'ESOCKTNOSUPPORT');
  }
  throwsErrno(() => t.socketpair(AF_UNIX, SOCK_RDM, 0), 'ESOCKTNOSUPPORT');
  assert.deepEqual(t.fds(), []);
});

test('a failed socket() leaves no socket behind', () => {
  const { host, t } = setup();
  throwsErrno(() => t.socket(AF_UNIX, SOCK_RDM, 0), 'ESOCKTNOSUPPORT');
  throwsErrno(() => t.socketpair(AF_UNIX, SOCK_STREAM, 9), 'EPROTONOSUPPORT');
  assert.equal(socketCount(host), 0);
  assert.equal(t.socket(AF_UNIX, SOCK_STREAM, 0), 0);
});

test('SOCK_NONBLOCK and SOCK_CLOEXEC set O_NONBLOCK and FD_CLOEXEC', async () => {
  const { t } = setup();
  const plain = t.socket(AF_UNIX, SOCK_STREAM, 0);
  assert.equal(t.fcntl(plain, F_GETFL) & O_NONBLOCK, 0);
  assert.equal(t.fcntl(plain, F_GETFD), 0);
  const fd = t.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  assert.equal(t.fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  assert.equal(t.fcntl(fd, F_GETFD), FD_CLOEXEC);
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  for (const x of [a, b]) {
    assert.equal(t.fcntl(x, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    assert.equal(t.fcntl(x, F_GETFD), 0);
  }
  // Non-blocking: an empty read fails at once instead of sleeping.
  await rejectsErrno(t.read(b, new Uint8Array(4)), 'EAGAIN');
  const [c, d] = t.socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert.equal(t.fcntl(c, F_GETFD), FD_CLOEXEC);
  assert.equal(t.fcntl(d, F_GETFD), FD_CLOEXEC);
});

test('socketpair() connects both ends of every type, both unnamed', async () => {
  const { t } = setup();
  for (const type of [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET]) {
    const [a, b] = t.socketpair(AF_UNIX, type, 0);
    assert.deepEqual(t.getsockname(a), { family: AF_UNIX, path: '', addrlen: 2 });
    assert.deepEqual(t.getpeername(a), { family: AF_UNIX, path: '', addrlen: 2 });
    assert.deepEqual(t.getpeername(b), { family: AF_UNIX, path: '', addrlen: 2 });
    await t.send(a, enc(`a->b ${type}`));
    assert.equal(await recvStr(t, b), `a->b ${type}`);
    await t.send(b, enc(`b->a ${type}`));
    assert.equal(await recvStr(t, a), `b->a ${type}`);
  }
});

test('a fresh unconnected socket: stream and seqpacket poll POLLOUT|POLLHUP, dgram POLLOUT', async () => {
  const { t } = setup();
  const out = POLLOUT | POLLWRNORM | POLLWRBAND;
  assert.equal(await pollMask(t, t.socket(AF_UNIX, SOCK_STREAM, 0)), out | POLLHUP);
  assert.equal(await pollMask(t, t.socket(AF_UNIX, SOCK_SEQPACKET, 0)), out | POLLHUP);
  assert.equal(await pollMask(t, t.socket(AF_UNIX, SOCK_DGRAM, 0)), out);
  const [a] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  assert.equal(await pollMask(t, a), out);
});
