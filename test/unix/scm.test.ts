// Ancillary data: SCM_RIGHTS (passing fds, truncation, in-flight sockets and their garbage
// collection), SCM_CREDENTIALS with SO_PASSCRED, and SO_PEERCRED.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF_UNIX,
  SOCK_STREAM,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOL_SOCKET,
  SCM_RIGHTS,
  SCM_CREDENTIALS,
  SO_PASSCRED,
  SO_PEERCRED,
  MSG_CTRUNC,
  MSG_CMSG_CLOEXEC,
  MSG_PEEK,
  MSG_DONTWAIT,
  F_GETFD,
  FD_CLOEXEC,
  CMSG_LEN,
  CMSG_SPACE,
  RLIMIT_NOFILE,
  type Cmsg,
  type Task,
} from '../../src/index.js';
import { setup, un, enc, dec, throwsErrno, rejectsErrno, recvStr, socketCount } from './helpers.js';

function rights(fds: number[]): Cmsg[] {
  return [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds }];
}

async function recvFds(t: Task, fd: number, controllen = 256, flags = 0) {
  const buf = new Uint8Array(64);
  const r = await t.recvmsg(fd, { iov: [buf], controllen }, flags);
  const fds = r.control
    .filter((c) => c.level === SOL_SOCKET && c.type === SCM_RIGHTS)
    .flatMap((c) => c.fds ?? []);
  return { ...r, data: dec(buf, r.n), fds };
}

test('SCM_RIGHTS passes a socket; the received fd is a working copy at the lowest free number', async () => {
  const { t, host } = setup();
  const receiver = host.spawn({ uid: 1000, gid: 1000 });
  // A stream pair between two processes, made by root and handed over via a listener.
  const l = receiver.socket(AF_UNIX, SOCK_STREAM, 0);
  receiver.bind(l, un('/tmp/fdsrv'));
  receiver.listen(l, 1);
  const a = t.socket(AF_UNIX, SOCK_STREAM, 0);
  await t.connect(a, un('/tmp/fdsrv'));
  const b = (await receiver.accept(l)).fd;
  const [x, y] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  assert.equal(await t.sendmsg(a, { iov: [enc('F')], control: rights([x]) }), 1);
  t.close(x);
  const r = await recvFds(receiver, b, CMSG_SPACE(4));
  assert.equal(r.data, 'F');
  assert.equal(r.flags, 0);
  assert.deepEqual(r.fds, [2]);
  assert.deepEqual(receiver.fds(), [0, 1, 2]);
  assert.equal(r.control[0].data?.length, 4);
  // The passed socket talks to y.
  await receiver.send(2, enc('through the passed fd'));
  assert.equal(await recvStr(t, y), 'through the passed fd');
  await t.send(y, enc('back'));
  assert.equal(await recvStr(receiver, 2), 'back');
});

test('several fds in one message, and several messages: each in order', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
  const pairs = [0, 1, 2].map(() => t.socketpair(AF_UNIX, SOCK_STREAM, 0));
  await t.sendmsg(a, { iov: [enc('three')], control: rights(pairs.map((p) => p[0])) });
  await t.sendmsg(a, { iov: [enc('one')], control: rights([pairs[0][1]]) });
  const r1 = await recvFds(t, b);
  assert.equal(r1.data, 'three');
  assert.equal(r1.fds.length, 3);
  const r2 = await recvFds(t, b);
  assert.equal(r2.data, 'one');
  assert.equal(r2.fds.length, 1);
  // Each received fd is the same socket as the one sent.
  for (let i = 0; i < 3; i++) {
    await t.send(r1.fds[i], enc(`p${i}`));
    assert.equal(await recvStr(t, pairs[i][1]), `p${i}`);
  }
  await t.send(r2.fds[0], enc('q'));
  assert.equal(await recvStr(t, pairs[0][0]), 'q');
});

test('MSG_CTRUNC: a control buffer too small keeps the fds that fit and closes the rest', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const pairs = [0, 1, 2].map(() => t.socketpair(AF_UNIX, SOCK_STREAM, 0));
  await t.sendmsg(a, { iov: [enc('G')], control: rights(pairs.map((p) => p[0])) });
  for (const p of pairs) t.close(p[0]);
  const before = t.fds();
  const r = await recvFds(t, b, CMSG_LEN(8));
  assert.equal(r.data, 'G');
  assert.equal(r.flags & MSG_CTRUNC, MSG_CTRUNC);
  assert.equal(r.fds.length, 2);
  const added = t.fds().filter((fd) => !before.includes(fd));
  assert.deepEqual(added.sort(), [...r.fds].sort());
  // The first two sockets live on in the new fds; the third was released: its peer sees EOF.
  await rejectsErrno(t.recv(pairs[0][1], new Uint8Array(1), MSG_DONTWAIT), 'EAGAIN');
  await rejectsErrno(t.recv(pairs[1][1], new Uint8Array(1), MSG_DONTWAIT), 'EAGAIN');
  assert.equal(await t.recv(pairs[2][1], new Uint8Array(1), MSG_DONTWAIT), 0);
});

test('no control buffer at all: MSG_CTRUNC and every passed fd is closed', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const [x, y] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.sendmsg(a, { iov: [enc('H')], control: rights([x]) });
  t.close(x);
  const before = t.fds();
  const r = await t.recvmsg(b, { iov: [new Uint8Array(8)] });
  assert.equal(r.n, 1);
  assert.equal(r.flags & MSG_CTRUNC, MSG_CTRUNC);
  assert.deepEqual(r.control, []);
  assert.deepEqual(t.fds(), before);
  assert.equal(await t.recv(y, new Uint8Array(1), MSG_DONTWAIT), 0);
});

test('MSG_CMSG_CLOEXEC marks received fds close-on-exec', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  const [x] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.sendmsg(a, { iov: [enc('I')], control: rights([x]) });
  await t.sendmsg(a, { iov: [enc('J')], control: rights([x]) });
  const r1 = await recvFds(t, b, 64, MSG_CMSG_CLOEXEC);
  assert.equal(t.fcntl(r1.fds[0], F_GETFD), FD_CLOEXEC);
  const r2 = await recvFds(t, b, 64);
  assert.equal(t.fcntl(r2.fds[0], F_GETFD), 0);
});

test('a stream read stops at a message carrying fds, and after it', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const [x] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.send(a, enc('12'));
  await t.sendmsg(a, { iov: [enc('34')], control: rights([x]) });
  await t.send(a, enc('56'));
  const r1 = await recvFds(t, b, 64, MSG_DONTWAIT);
  assert.equal(r1.data, '1234');
  assert.equal(r1.fds.length, 1);
  const r2 = await recvFds(t, b, 64, MSG_DONTWAIT);
  assert.equal(r2.data, '56');
  assert.equal(r2.fds.length, 0);
  await rejectsErrno(t.recv(b, new Uint8Array(4), MSG_DONTWAIT), 'EAGAIN');
});

test('MSG_PEEK hands out the fds too, and the real read hands them out again', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const [x] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.sendmsg(a, { iov: [enc('K')], control: rights([x]) });
  const p = await recvFds(t, b, 64, MSG_PEEK);
  assert.equal(p.data, 'K');
  assert.equal(p.fds.length, 1);
  const r = await recvFds(t, b, 64);
  assert.equal(r.data, 'K');
  assert.equal(r.fds.length, 1);
  assert.notEqual(p.fds[0], r.fds[0]);
});

test('bad control messages: EBADF for a closed fd, EINVAL for an unknown SOL_SOCKET type; other levels are ignored', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await rejectsErrno(t.sendmsg(a, { iov: [enc('x')], control: rights([999]) }), 'EBADF');
  await rejectsErrno(
    t.sendmsg(a, { iov: [enc('x')], control: [{ level: SOL_SOCKET, type: 77, data: new Uint8Array(8) }] }),
    'EINVAL',
  );
  await rejectsErrno(
    t.sendmsg(a, {
      iov: [enc('x')],
      control: [{ level: SOL_SOCKET, type: SCM_CREDENTIALS, data: new Uint8Array(8) }],
    }),
    'EINVAL',
  );
  assert.equal(
    await t.sendmsg(a, { iov: [enc('ok')], control: [{ level: 6, type: 77, data: new Uint8Array(8) }] }),
    2,
  );
  assert.equal(await recvStr(t, b, 10, MSG_DONTWAIT), 'ok');
});

test('receiving fds with no free fd slot: MSG_CTRUNC, the file is dropped', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const [x, y] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.sendmsg(a, { iov: [enc('F')], control: rights([x]) });
  t.close(x);
  // Fill the hole x left, then allow no more fds than are open.
  t.socket(AF_UNIX, SOCK_STREAM, 0);
  const open = t.fds().length;
  assert.deepEqual(t.fds(), [0, 1, 2, 3]);
  t.setrlimit(RLIMIT_NOFILE, { cur: open, max: 1024 });
  const r = await recvFds(t, b, 64);
  assert.equal(r.data, 'F');
  assert.equal(r.flags & MSG_CTRUNC, MSG_CTRUNC);
  assert.equal(r.fds.length, 0);
  assert.equal(t.fds().length, open);
  assert.equal(await t.recv(y, new Uint8Array(1), MSG_DONTWAIT), 0);
});

test('fds in flight outlive the sender: it closes everything, the receiver still gets a working socket', async () => {
  const { t, host } = setup();
  const sender = host.spawn();
  const [a, b] = sender.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  // b goes to `t` first, so that the test task holds the receiving end.
  const l = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(l, un('\0handoff'));
  t.listen(l, 1);
  const c = sender.socket(AF_UNIX, SOCK_STREAM, 0);
  await sender.connect(c, un('\0handoff'));
  const acc = (await t.accept(l)).fd;
  const [, y] = sender.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await sender.sendmsg(c, { iov: [enc('b')], control: rights([b, y]) });
  await sender.sendmsg(a, { iov: [enc('queued for b')] });
  sender.exit();
  assert.deepEqual(sender.fds(), []);
  const r = await recvFds(t, acc, 64);
  assert.equal(r.fds.length, 2);
  // b still holds the datagram a sent before the sender exited; y's peer closed with the
  // sender, so y reads end of file.
  assert.equal(await recvStr(t, r.fds[0]), 'queued for b');
  assert.equal(await t.recv(r.fds[1], new Uint8Array(4)), 0);
  // Left: the listener, the accepted socket, and b and y now owned by `t`.
  assert.equal(socketCount(host), 4);
});

test('garbage collection frees an unreachable cycle of in-flight sockets when another socket closes', async () => {
  const { t, host } = setup();
  const base = socketCount(host);
  const [p, q] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  // p travels to q's queue and q to p's: each holds the other.
  await t.sendmsg(p, { iov: [enc('c')], control: rights([p]) });
  await t.sendmsg(q, { iov: [enc('c')], control: rights([q]) });
  assert.equal(socketCount(host), base + 2);
  t.close(p);
  t.close(q);
  // Nothing has run the collector yet: the cycle is still there.
  assert.equal(socketCount(host), base + 2);
  const o = t.socket(AF_UNIX, SOCK_STREAM, 0);
  assert.equal(socketCount(host), base + 3);
  t.close(o);
  assert.equal(socketCount(host), base);
});

test('garbage collection frees a socket sitting in its own queue once its peer closes', async () => {
  const { t, host } = setup();
  const base = socketCount(host);
  const [p, q] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.sendmsg(p, { iov: [enc('c')], control: rights([q]) });
  t.close(q);
  assert.equal(socketCount(host), base + 2);
  t.close(p);
  assert.equal(socketCount(host), base);
});

test('garbage collection leaves a reachable in-flight socket alone', async () => {
  const { t, host } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const [x, y] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.sendmsg(a, { iov: [enc('F')], control: rights([x]) });
  t.close(x);
  const n = socketCount(host);
  t.close(t.socket(AF_UNIX, SOCK_STREAM, 0));
  assert.equal(socketCount(host), n);
  const r = await recvFds(t, b, 64);
  await t.write(r.fds[0], enc('hey'));
  assert.equal(await recvStr(t, y), 'hey');
});

test('SO_PASSCRED: every message carries the sender pid, uid and gid', async () => {
  const { t, host } = setup();
  const user = host.spawn({ uid: 1000, gid: 1001 });
  const r = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  t.bind(r, un('\0creds'));
  t.setsockopt(r, SOL_SOCKET, SO_PASSCRED, 1);
  assert.equal(t.getsockopt(r, SOL_SOCKET, SO_PASSCRED), 1);
  await user.sendto(user.socket(AF_UNIX, SOCK_DGRAM, 0), enc('hi'), 0, un('\0creds'));
  const got = await t.recvmsg(r, { iov: [new Uint8Array(8)], controllen: 64 });
  assert.equal(got.control.length, 1);
  assert.equal(got.control[0].level, SOL_SOCKET);
  assert.equal(got.control[0].type, SCM_CREDENTIALS);
  assert.deepEqual(got.control[0].cred, { pid: user.pid, uid: 1000, gid: 1001 });
  // No control buffer: the credentials do not fit, MSG_CTRUNC.
  await user.sendto(user.socket(AF_UNIX, SOCK_DGRAM, 0), enc('hi'), 0, un('\0creds'));
  const got2 = await t.recvmsg(r, { iov: [new Uint8Array(8)] });
  assert.equal(got2.flags & MSG_CTRUNC, MSG_CTRUNC);
  // Without SO_PASSCRED there are none.
  t.setsockopt(r, SOL_SOCKET, SO_PASSCRED, 0);
  await user.sendto(user.socket(AF_UNIX, SOCK_DGRAM, 0), enc('hi'), 0, un('\0creds'));
  const got3 = await t.recvmsg(r, { iov: [new Uint8Array(8)], controllen: 64 });
  assert.deepEqual(got3.control, []);
  assert.equal(got3.flags, 0);
});

test('SO_PASSCRED on a stream: credentials on each read, data of different senders never glued', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  t.setsockopt(b, SOL_SOCKET, SO_PASSCRED, 1);
  await t.send(a, enc('hi'));
  const r1 = await t.recvmsg(b, { iov: [new Uint8Array(10)], controllen: 64 });
  assert.deepEqual(r1.control[0].cred, { pid: t.pid, uid: 0, gid: 0 });
  // Root may claim another uid; the stream keeps that data apart from the next write.
  await t.sendmsg(a, {
    iov: [enc('xx')],
    control: [{ level: SOL_SOCKET, type: SCM_CREDENTIALS, cred: { pid: t.pid, uid: 5, gid: 6 } }],
  });
  await t.send(a, enc('yy'));
  const r2 = await t.recvmsg(b, { iov: [new Uint8Array(10)], controllen: 64 });
  assert.equal(r2.n, 2);
  assert.deepEqual(r2.control[0].cred, { pid: t.pid, uid: 5, gid: 6 });
  const r3 = await t.recvmsg(b, { iov: [new Uint8Array(10)], controllen: 64 });
  assert.equal(r3.n, 2);
  assert.deepEqual(r3.control[0].cred, { pid: t.pid, uid: 0, gid: 0 });
});

test('SCM_CREDENTIALS: an unprivileged sender may only claim its own identity (else EPERM)', async () => {
  const { host } = setup();
  const user = host.spawn({ uid: 1000, gid: 1000 });
  const [a, b] = user.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const claim = (pid: number, uid: number, gid: number) =>
    user.sendmsg(a, {
      iov: [enc('xx')],
      control: [{ level: SOL_SOCKET, type: SCM_CREDENTIALS, cred: { pid, uid, gid } }],
    });
  await rejectsErrno(claim(user.pid, 0, 1000), 'EPERM');
  await rejectsErrno(claim(user.pid, 1000, 0), 'EPERM');
  await rejectsErrno(claim(1, 1000, 1000), 'EPERM');
  assert.equal(await claim(user.pid, 1000, 1000), 2);
  user.setsockopt(b, SOL_SOCKET, SO_PASSCRED, 1);
  const r = await user.recvmsg(b, { iov: [new Uint8Array(10)], controllen: 64 });
  assert.deepEqual(r.control[0].cred, { pid: user.pid, uid: 1000, gid: 1000 });
});

test('SO_PASSCRED is inherited by accepted sockets', async () => {
  const { t } = setup();
  const l = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(l, un('\0L'));
  t.listen(l, 4);
  t.setsockopt(l, SOL_SOCKET, SO_PASSCRED, 1);
  await t.connect(t.socket(AF_UNIX, SOCK_STREAM, 0), un('\0L'));
  const { fd } = await t.accept(l);
  assert.equal(t.getsockopt(fd, SOL_SOCKET, SO_PASSCRED), 1);
});

test('SO_PEERCRED: socketpair, connect and accept each see the right process', async () => {
  const { host } = setup();
  const srv = host.spawn({ uid: 1000, gid: 1000 });
  const cli = host.spawn({ uid: 2000, gid: 2001 });
  const [a, b] = cli.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const me = { pid: cli.pid, uid: 2000, gid: 2001 };
  assert.deepEqual(cli.getsockopt(a, SOL_SOCKET, SO_PEERCRED), me);
  assert.deepEqual(cli.getsockopt(b, SOL_SOCKET, SO_PEERCRED), me);
  // Unconnected: pid 0, uid and gid -1.
  assert.deepEqual(cli.getsockopt(cli.socket(AF_UNIX, SOCK_STREAM, 0), SOL_SOCKET, SO_PEERCRED), {
    pid: 0,
    uid: -1,
    gid: -1,
  });
  const l = srv.socket(AF_UNIX, SOCK_STREAM, 0);
  srv.bind(l, un('\0peer'));
  srv.listen(l, 4);
  // The listener reports whoever called listen().
  assert.deepEqual(srv.getsockopt(l, SOL_SOCKET, SO_PEERCRED), { pid: srv.pid, uid: 1000, gid: 1000 });
  const c = cli.socket(AF_UNIX, SOCK_STREAM, 0);
  await cli.connect(c, un('\0peer'));
  assert.deepEqual(cli.getsockopt(c, SOL_SOCKET, SO_PEERCRED), { pid: srv.pid, uid: 1000, gid: 1000 });
  const { fd } = await srv.accept(l);
  assert.deepEqual(srv.getsockopt(fd, SOL_SOCKET, SO_PEERCRED), me);
  const raw = srv.getsockoptRaw(fd, SOL_SOCKET, SO_PEERCRED, 64);
  assert.equal(raw.length, 12);
});

test('dup of a passed socket and the original are the same socket: closing one keeps it alive', async () => {
  const { t } = setup();
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const [x, y] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
  await t.sendmsg(a, { iov: [enc('F')], control: rights([x]) });
  const r = await recvFds(t, b, 64);
  t.close(x);
  await t.send(y, enc('still here'));
  assert.equal(await recvStr(t, r.fds[0]), 'still here');
  t.close(r.fds[0]);
  assert.equal(await t.recv(y, new Uint8Array(4)), 0);
  throwsErrno(() => t.close(r.fds[0]), 'EBADF');
});

test('garbage collection frees a listener whose fd waits in a connection not yet accepted', async () => {
  const { t, host } = setup();
  const base = socketCount(host);
  const l = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(l, un('\0gc-listener'));
  t.listen(l, 4);
  const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
  await t.connect(c, un('\0gc-listener'));
  // The client sends the listener's own fd: it sits in the embryo's queue, which only the
  // listener reaches.
  await t.sendmsg(c, { iov: [enc('x')], control: rights([l]) });
  assert.equal(socketCount(host), base + 3);
  t.close(c);
  t.close(l);
  t.close(t.socket(AF_UNIX, SOCK_STREAM, 0));
  assert.equal(socketCount(host), base);
});
