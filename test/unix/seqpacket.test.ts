// SOCK_SEQPACKET: connection-oriented, with datagram boundaries.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF_UNIX,
  SOCK_SEQPACKET,
  SOCK_NONBLOCK,
  MSG_TRUNC,
  MSG_DONTWAIT,
  MSG_PEEK,
  SHUT_WR,
  FIONREAD,
  POLLIN,
  POLLOUT,
  POLLHUP,
  POLLERR,
  POLLRDNORM,
  POLLWRNORM,
  POLLWRBAND,
  POLLRDHUP,
} from '../../src/index.js';
import { setup, un, enc, dec, rejectsErrno, recvStr, pollMask } from './helpers.js';

const OUT = POLLOUT | POLLWRNORM | POLLWRBAND;

test('each send is one record; a short buffer truncates it and the rest is dropped', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
  await t.send(a, enc('0123456789'));
  await t.send(a, enc('abcdef'));
  await t.send(a, new Uint8Array(0));
  await t.send(a, enc('end'));
  const r1 = await t.recvmsg(b, { iov: [new Uint8Array(4)] });
  assert.equal(r1.n, 4);
  assert.equal(r1.flags & MSG_TRUNC, MSG_TRUNC);
  const buf = new Uint8Array(2);
  const r2 = await t.recvmsg(b, { iov: [buf] }, MSG_TRUNC);
  assert.equal(r2.n, 6);
  assert.equal(dec(buf), 'ab');
  assert.equal(r2.flags & MSG_TRUNC, MSG_TRUNC);
  const r3 = await t.recvmsg(b, { iov: [new Uint8Array(10)] });
  assert.equal(r3.n, 0);
  assert.equal(r3.flags, 0);
  assert.equal(await recvStr(t, b, 10), 'end');
});

test('records from several writes are never merged, even with a large buffer', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
  const msgs = ['a', 'bb', 'ccc', 'dddd'];
  for (const m of msgs) await t.send(a, enc(m));
  for (const m of msgs) assert.equal(await recvStr(t, b, 1000), m);
  // writev of several buffers is one record.
  await t.writev(a, [enc('x'), enc('y'), enc('z')]);
  await t.send(a, enc('w'));
  assert.equal(await recvStr(t, b, 1000), 'xyz');
  assert.equal(await recvStr(t, b, 1000), 'w');
});

test('MSG_PEEK returns the head record without consuming it', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
  await t.send(a, enc('first'));
  await t.send(a, enc('second'));
  assert.equal(await recvStr(t, b, 100, MSG_PEEK), 'first');
  assert.equal(await recvStr(t, b, 100), 'first');
  assert.equal(await recvStr(t, b, 100), 'second');
});

test('FIONREAD on a seqpacket socket counts every queued byte, as on a stream', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
  await t.send(a, enc('0123456789'));
  await t.send(a, enc('abc'));
  assert.equal(t.ioctl(b, FIONREAD), 13);
});

test('unconnected seqpacket sockets: recv and send are ENOTCONN', async () => {
  const { t } = setup();
  const s = t.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
  await rejectsErrno(t.recv(s, new Uint8Array(1)), 'ENOTCONN');
  await rejectsErrno(t.send(s, enc('1')), 'ENOTCONN');
  await rejectsErrno(t.sendto(s, enc('1'), 0, un('\0nobody')), 'ENOTCONN');
});

test('on a connected seqpacket socket a destination address is ignored', async () => {
  const { t } = setup();
  const l = t.socket(AF_UNIX, SOCK_SEQPACKET, 0);
  t.bind(l, un('\0sq'));
  t.listen(l, 2);
  const c = t.socket(AF_UNIX, SOCK_SEQPACKET, 0);
  await t.connect(c, un('\0sq'));
  const { fd } = await t.accept(l);
  assert.equal(await t.sendto(c, enc('x'), 0, un('\0nonexistent')), 1);
  assert.equal(await recvStr(t, fd), 'x');
});

test('peer SHUT_WR: reads give 0 once the queue is empty, blocking or not', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
  await t.send(b, enc('bye'));
  t.shutdown(b, SHUT_WR);
  assert.equal(await recvStr(t, a), 'bye');
  assert.equal(await t.recv(a, new Uint8Array(10), MSG_DONTWAIT), 0);
  assert.equal(await t.recv(a, new Uint8Array(10)), 0);
  await rejectsErrno(t.send(b, enc('x')), 'EPIPE');
});

test('peer closed: end of file, EPIPE on send, POLLHUP', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
  assert.equal(await pollMask(t, a), OUT);
  t.close(b);
  assert.equal(await pollMask(t, a), POLLIN | POLLRDNORM | POLLRDHUP | POLLHUP | OUT);
  assert.equal(await t.recv(a, new Uint8Array(4)), 0);
  await rejectsErrno(t.send(a, enc('x')), 'EPIPE');
});

test('peer closed with records unread: ECONNRESET once, then end of file', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
  await t.send(a, enc('hello'));
  t.close(b);
  assert.equal((await pollMask(t, a)) & POLLERR, POLLERR);
  await rejectsErrno(t.recv(a, new Uint8Array(5)), 'ECONNRESET');
  assert.equal(await t.recv(a, new Uint8Array(5)), 0);
  await rejectsErrno(t.send(a, enc('x')), 'EPIPE');
});

test('a blocked seqpacket reader wakes on a record and on the peer closing', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
  const r = t.recv(b, new Uint8Array(10));
  await t.send(a, enc('rec'));
  assert.equal(await r, 3);
  const r2 = t.recv(b, new Uint8Array(10));
  t.close(a);
  assert.equal(await r2, 0);
});
