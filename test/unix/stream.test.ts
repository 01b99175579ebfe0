// SOCK_STREAM data transfer: read/write/readv/writev, recv flags, shutdown, close, flow control.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF_UNIX,
  SOCK_STREAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  SO_RCVTIMEO,
  SO_SNDTIMEO,
  SO_SNDBUF,
  MSG_PEEK,
  MSG_WAITALL,
  MSG_DONTWAIT,
  MSG_TRUNC,
  SHUT_RD,
  SHUT_WR,
  SHUT_RDWR,
  F_SETFL,
  F_GETFL,
  O_NONBLOCK,
  FIONBIO,
  SIOCOUTQ,
  POLLIN,
  POLLOUT,
  POLLERR,
  POLLHUP,
  POLLRDNORM,
  POLLWRNORM,
  POLLWRBAND,
  POLLRDHUP,
} from '../../src/index.js';
import { setup, un, enc, dec, throwsErrno, rejectsErrno, recvStr, tick, track, pollMask } from './helpers.js';

const OUT = POLLOUT | POLLWRNORM | POLLWRBAND;
const IN = POLLIN | POLLRDNORM;

test('write/read and send/recv move bytes both ways; reads coalesce and split writes', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  assert.equal(await t.write(a, enc('abc')), 3);
  assert.equal(await t.send(a, enc('def')), 3);
  assert.equal(await t.write(a, enc('ghi')), 3);
  assert.equal(await recvStr(t, b, 4), 'abcd');
  const buf = new Uint8Array(100);
  const n = await t.read(b, buf);
  assert.equal(dec(buf, n), 'efghi');
  await t.write(b, enc('back'));
  assert.equal(await recvStr(t, a), 'back');
  await rejectsErrno(t.recv(b, buf, MSG_DONTWAIT), 'EAGAIN');
});

test('writev gathers and readv scatters, in order', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  assert.equal(await t.writev(a, [enc('he'), enc(''), enc('llo '), enc('world')]), 11);
  const parts = [new Uint8Array(3), new Uint8Array(0), new Uint8Array(5), new Uint8Array(10)];
  assert.equal(await t.readv(b, parts), 11);
  assert.deepEqual(
    parts.map((p) => dec(p)),
    ['hel', '', 'lo wo', 'rld\0\0\0\0\0\0\0'],
  );
  // sendmsg with several iovecs is one write.
  assert.equal(await t.sendmsg(a, { iov: [enc('x'), enc('yz')] }), 3);
  const r = await t.recvmsg(b, { iov: [new Uint8Array(1), new Uint8Array(1), new Uint8Array(4)] });
  assert.equal(r.n, 3);
  assert.equal(r.flags, 0);
});

test('MSG_PEEK looks without consuming, across several writes', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.send(a, enc('hello'));
  await t.send(a, enc('world'));
  assert.equal(await recvStr(t, b, 3, MSG_PEEK), 'hel');
  assert.equal(await recvStr(t, b, 100, MSG_PEEK), 'helloworld');
  assert.equal(await recvStr(t, b, 7), 'hellowo');
  assert.equal(await recvStr(t, b, 100, MSG_PEEK | MSG_DONTWAIT), 'rld');
  assert.equal(await recvStr(t, b, 100), 'rld');
  await rejectsErrno(t.recv(b, new Uint8Array(4), MSG_PEEK | MSG_DONTWAIT), 'EAGAIN');
});

test('MSG_TRUNC on a stream socket is ignored: the data is copied and counted as usual', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.send(a, enc('0123456789'));
  const r = await t.recvmsg(b, { iov: [new Uint8Array(4)] }, MSG_TRUNC);
  assert.equal(r.n, 4);
  assert.equal(r.flags & MSG_TRUNC, 0);
  assert.equal(await recvStr(t, b), '456789');
});

test('a blocking recv with MSG_WAITALL returns only once every byte arrived, from several writes', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const buf = new Uint8Array(10);
  const r = track(t.recv(b, buf, MSG_WAITALL));
  await t.send(a, enc('abc'));
  await tick();
  assert.equal(r.done(), false);
  await t.send(a, enc('defg'));
  await tick();
  assert.equal(r.done(), false);
  await t.send(a, enc('hijklmn'));
  assert.equal(await r.promise, 10);
  assert.equal(dec(buf), 'abcdefghij');
  assert.equal(await recvStr(t, b, 10, MSG_DONTWAIT), 'klmn');
});

test('without MSG_WAITALL a blocking recv returns what the first write brought', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const buf = new Uint8Array(10);
  const r = t.recv(b, buf);
  await t.send(a, enc('abc'));
  assert.equal(await r, 3);
});

test('MSG_WAITALL stops early at end of file and at SO_RCVTIMEO', async () => {
  const { t, world } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.send(a, enc('abc'));
  t.shutdown(a, SHUT_WR);
  assert.equal(await recvStr(t, b, 10, MSG_WAITALL), 'abc');
  assert.equal(await t.recv(b, new Uint8Array(10), MSG_WAITALL), 0);

  const [c, d] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  t.setsockopt(d, SOL_SOCKET, SO_RCVTIMEO, { tv_sec: 0, tv_usec: 20000 });
  await t.send(c, enc('xyz'));
  const t0 = world.now();
  assert.equal(await recvStr(t, d, 10, MSG_WAITALL), 'xyz');
  assert.equal(world.now() - t0, 20);
  // Nothing at all before the timeout: EAGAIN.
  await rejectsErrno(t.recv(d, new Uint8Array(10), MSG_WAITALL), 'EAGAIN');
  assert.equal(world.now() - t0, 40);
});

test('SO_RCVTIMEO: a blocking read with nothing to read fails with EAGAIN after the timeout', async () => {
  const { t, world } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  t.setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, { tv_sec: 0, tv_usec: 20000 });
  const t0 = world.now();
  await rejectsErrno(t.recv(b, new Uint8Array(10)), 'EAGAIN');
  await rejectsErrno(t.read(b, new Uint8Array(10)), 'EAGAIN');
  assert.equal(world.now() - t0, 40);
  await t.send(a, enc('late'));
  assert.equal(await recvStr(t, b, 10), 'late');
});

test('MSG_DONTWAIT, O_NONBLOCK and FIONBIO make an empty read fail with EAGAIN', async () => {
  const { t, world } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await rejectsErrno(t.recv(b, new Uint8Array(4), MSG_DONTWAIT), 'EAGAIN');
  t.fcntl(b, F_SETFL, O_NONBLOCK);
  await rejectsErrno(t.read(b, new Uint8Array(4)), 'EAGAIN');
  t.fcntl(b, F_SETFL, 0);
  assert.equal(t.fcntl(b, F_GETFL) & O_NONBLOCK, 0);
  t.ioctl(a, FIONBIO, 1);
  assert.equal(t.fcntl(a, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  await rejectsErrno(t.recv(a, new Uint8Array(4)), 'EAGAIN');
  t.ioctl(a, FIONBIO, 0);
  assert.equal(t.fcntl(a, F_GETFL) & O_NONBLOCK, 0);
  assert.equal(world.now(), 0);
});

test('a zero-length write returns 0 and leaves nothing to read', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  assert.equal(await t.send(a, new Uint8Array(0)), 0);
  assert.equal(await t.write(a, new Uint8Array(0)), 0);
  await rejectsErrno(t.recv(b, new Uint8Array(4), MSG_DONTWAIT), 'EAGAIN');
  assert.equal(await pollMask(t, b), OUT);
  // A zero-length read returns 0 at once.
  assert.equal(await t.read(b, new Uint8Array(0)), 0);
});

test('I/O on unconnected and listening stream sockets', async () => {
  const { t } = setup();
  const u = t.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  await rejectsErrno(t.recv(u, new Uint8Array(1)), 'EINVAL');
  await rejectsErrno(t.send(u, enc('x')), 'ENOTCONN');
  await rejectsErrno(t.sendto(u, enc('x'), 0, un('\0l')), 'EOPNOTSUPP');
  const l = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(l, un('\0l'));
  t.listen(l, 2);
  await rejectsErrno(t.recv(l, new Uint8Array(1)), 'EINVAL');
  await rejectsErrno(t.send(l, enc('x')), 'ENOTCONN');
  const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
  await t.connect(c, un('\0l'));
  await rejectsErrno(t.sendto(c, enc('x'), 0, un('\0l')), 'EISCONN');
});

test('recvfrom on a stream: no address from an unnamed peer, the peer name otherwise', async () => {
  const { t } = setup();
  const [x, y] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.send(x, enc('1'));
  const r = await t.recvfrom(y, new Uint8Array(10));
  assert.equal(r.n, 1);
  assert.equal(r.addr, null);

  const l = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(l, un('\0l4'));
  t.listen(l, 5);
  const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(c, un('\0cl4'));
  await t.connect(c, un('\0l4'));
  const { fd } = await t.accept(l);
  await t.send(c, enc('1'));
  assert.deepEqual((await t.recvfrom(fd, new Uint8Array(10))).addr, {
    family: AF_UNIX,
    path: '\0cl4',
    addrlen: 6,
  });
  await t.send(fd, enc('2'));
  assert.deepEqual((await t.recvfrom(c, new Uint8Array(10))).addr, {
    family: AF_UNIX,
    path: '\0l4',
    addrlen: 5,
  });
});

test('SHUT_WR: our writes are EPIPE, the peer reads what was sent then end of file, and polls POLLRDHUP', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.send(a, enc('last words'));
  t.shutdown(a, SHUT_WR);
  await rejectsErrno(t.send(a, enc('x')), 'EPIPE');
  await rejectsErrno(t.write(a, enc('x')), 'EPIPE');
  assert.equal(await pollMask(t, a), OUT);
  assert.equal(await pollMask(t, b), IN | OUT | POLLRDHUP);
  assert.equal(await recvStr(t, b), 'last words');
  assert.equal(await t.recv(b, new Uint8Array(10)), 0);
  assert.equal(await t.recv(b, new Uint8Array(10), MSG_DONTWAIT), 0);
  // The other direction still works.
  await t.send(b, enc('reply'));
  assert.equal(await recvStr(t, a), 'reply');
  t.shutdown(b, SHUT_WR);
  const both = IN | OUT | POLLRDHUP | POLLHUP;
  assert.equal(await pollMask(t, a), both);
  assert.equal(await pollMask(t, b), both);
});

test('SHUT_RD: our reads see end of file at once, the peer writes are EPIPE', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  t.shutdown(a, SHUT_RD);
  assert.equal(await pollMask(t, a), IN | OUT | POLLRDHUP);
  assert.equal(await pollMask(t, b), OUT);
  await rejectsErrno(t.send(b, enc('x')), 'EPIPE');
  assert.equal(await t.recv(a, new Uint8Array(4)), 0);
  // shutdown() with a bad `how` is EINVAL; on an unconnected socket it is allowed.
  throwsErrno(() => t.shutdown(a, 3), 'EINVAL');
  throwsErrno(() => t.shutdown(a, -1), 'EINVAL');
  t.shutdown(t.socket(AF_UNIX, SOCK_STREAM, 0), SHUT_RDWR);
  throwsErrno(() => t.shutdown(77, SHUT_RD), 'EBADF');
});

test('a blocked reader wakes with end of file when the peer shuts down or closes', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const r1 = t.recv(b, new Uint8Array(10));
  t.shutdown(a, SHUT_WR);
  assert.equal(await r1, 0);
  const [c, d] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const r2 = t.recv(d, new Uint8Array(10));
  t.close(c);
  assert.equal(await r2, 0);
});

test('close with nothing unread: the peer reads end of file, writes are EPIPE, polls HUP', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.send(b, enc('for a'));
  t.close(b);
  assert.equal(await pollMask(t, a), IN | OUT | POLLRDHUP | POLLHUP);
  assert.equal(await recvStr(t, a), 'for a');
  assert.equal(await t.recv(a, new Uint8Array(4)), 0);
  await rejectsErrno(t.send(a, enc('x')), 'EPIPE');
});

test('close with unread data: the peer gets ECONNRESET (after its own pending data), then end of file', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.send(a, enc('hello'));
  t.close(b);
  assert.equal(await pollMask(t, a), IN | OUT | POLLERR | POLLRDHUP | POLLHUP);
  await rejectsErrno(t.send(a, enc('x')), 'EPIPE');
  await rejectsErrno(t.recv(a, new Uint8Array(5)), 'ECONNRESET');
  assert.equal(await t.recv(a, new Uint8Array(5)), 0);

  const [c, d] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.send(d, enc('data'));
  await t.send(c, enc('hello'));
  t.close(d);
  assert.equal(await recvStr(t, c, 2), 'da');
  assert.equal(await recvStr(t, c, 5), 'ta');
  await rejectsErrno(t.recv(c, new Uint8Array(5)), 'ECONNRESET');
  assert.equal(await t.recv(c, new Uint8Array(5)), 0);
});

test('poll with a timeout sleeps in virtual time and wakes on data', async () => {
  const { t, world } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const pfd = { fd: b, events: POLLIN, revents: 0 };
  assert.equal(await t.poll([pfd], 250), 0);
  assert.equal(pfd.revents, 0);
  assert.equal(world.now(), 250);
  const p = t.poll([pfd], 1000);
  await t.send(a, enc('x'));
  assert.equal(await p, 1);
  assert.equal(pfd.revents, POLLIN);
  assert.equal(world.now(), 250);
});

// Linux's figures (x86_64, 212992-byte default send buffer): a write is charged its truesize,
// and writes fail once what the peer holds unread reaches the send buffer.
for (const [chunk, writes, total, outq] of [
  [1, 278, 278, 213504],
  [100, 278, 27800, 213504],
  [4096, 44, 180224, 214016],
  [65536, 4, 233152, 238336],
] as const) {
  test(`non-blocking writes of ${chunk} bytes: EAGAIN after ${writes} writes, ${total} bytes`, async () => {
    const { t } = setup();
    const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const data = new Uint8Array(chunk).fill(0x78);
    let n = 0;
    let sum = 0;
    for (;;) {
      try {
        sum += await t.write(a, data);
        n++;
      } catch (err) {
        assert.equal((err as { code: string }).code, 'EAGAIN');
        break;
      }
    }
    assert.equal(n, writes);
    assert.equal(sum, total);
    assert.equal(t.ioctl(a, SIOCOUTQ), outq);
    assert.equal(await pollMask(t, a), 0);
    assert.equal(await pollMask(t, b), IN | OUT);
  });
}

test('a smaller SO_SNDBUF fills sooner; draining the reader makes the writer writable again', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  t.setsockopt(a, SOL_SOCKET, SO_SNDBUF, 10000);
  let sum = 0;
  for (;;) {
    try {
      sum += await t.write(a, new Uint8Array(1000));
    } catch (err) {
      assert.equal((err as { code: string }).code, 'EAGAIN');
      break;
    }
  }
  assert.equal(sum, 9000);
  const buf = new Uint8Array(100000);
  assert.equal(await t.read(b, buf), 9000);
  assert.equal(t.ioctl(a, SIOCOUTQ), 0);
  assert.equal(await pollMask(t, a), OUT);
  assert.equal(await t.write(a, new Uint8Array(1000)), 1000);
});

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

test('a blocking writer of 1 MiB finishes once the reader drains; every byte arrives in order', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const data = pattern(1 << 20, 5);
  const w = track(t.write(a, data));
  await tick();
  assert.equal(w.done(), false);
  const got = new Uint8Array(data.length);
  let off = 0;
  let reads = 0;
  while (off < data.length) {
    const n = await t.read(b, got.subarray(off, Math.min(data.length, off + 7919 * (1 + (reads % 5)))));
    assert.ok(n > 0);
    off += n;
    reads++;
  }
  assert.equal(await w.promise, data.length);
  assert.ok(reads > 1);
  assert.deepEqual(got, data);
});

test('SO_SNDTIMEO: a blocked write returns the partial count, or EAGAIN when nothing went', async () => {
  const { t, world } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  // 50 ms rounds up to 13 jiffies: 52 ms.
  t.setsockopt(a, SOL_SOCKET, SO_SNDTIMEO, { tv_sec: 0, tv_usec: 50000 });
  const t0 = world.now();
  const n = await t.write(a, pattern(1 << 20, 1));
  // Linux queues 219264 bytes of a 1 MiB write into an empty 212992-byte send buffer.
  assert.equal(n, 219264);
  assert.equal(world.now() - t0, 52);
  await rejectsErrno(t.write(a, new Uint8Array(1000)), 'EAGAIN');
  assert.equal(world.now() - t0, 104);
  // What went is intact.
  const got = new Uint8Array(n);
  let off = 0;
  while (off < n) off += await t.read(b, got.subarray(off));
  assert.deepEqual(got, pattern(1 << 20, 1).subarray(0, n));
});

test('a writer blocked on a full buffer returns the bytes it queued when the reader closes', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const w = track(t.write(a, new Uint8Array(1 << 20)));
  await tick();
  assert.equal(w.done(), false);
  t.close(b);
  const n = await w.promise.catch((err: { code: string }) => err.code);
  // Linux returns the bytes already queued when some went (EPIPE only when none did).
  assert.equal(n, 219264);
  await rejectsErrno(t.write(a, enc('x')), 'EPIPE');
});
