// bind(2) for AF_UNIX: filesystem paths, abstract names, autobind, and their errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF_UNIX,
  AF_INET,
  SOCK_STREAM,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOL_SOCKET,
  SO_PASSCRED,
  SOCK_NONBLOCK,
  F_SETFL,
  O_NONBLOCK,
} from '../../src/index.js';
import { setup, un, enc, throwsErrno, rejectsErrno, recvStr, socketCount } from './helpers.js';

const AUTOBIND = /^\0[0-9a-f]{5}$/;

function raw(bytes: number[] | string): Uint8Array {
  if (typeof bytes === 'string') return enc(bytes);
  return Uint8Array.from(bytes);
}

/** sockaddr_un bytes: family AF_UNIX then `path` as given (no terminator added). */
function sun(path: string | Uint8Array): Uint8Array {
  const p = typeof path === 'string' ? enc(path) : path;
  const b = new Uint8Array(2 + p.length);
  b[0] = AF_UNIX;
  b.set(p, 2);
  return b;
}

test('bind to a path: getsockname gives it back, addrlen counting the terminating NUL', () => {
  const { t } = setup();
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(fd, un('/tmp/server.sock'));
  assert.deepEqual(t.getsockname(fd), { family: AF_UNIX, path: '/tmp/server.sock', addrlen: 2 + 16 + 1 });
});

test('a path given without its NUL, or with bytes after the NUL, is cut at the NUL', () => {
  const { t } = setup();
  const a = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(a, sun('/tmp/r'));
  assert.deepEqual(t.getsockname(a), { family: AF_UNIX, path: '/tmp/r', addrlen: 2 + 6 + 1 });
  const b = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(b, sun(Uint8Array.from([...enc('/tmp/q'), 0, ...enc('garbage')])));
  assert.deepEqual(t.getsockname(b), { family: AF_UNIX, path: '/tmp/q', addrlen: 2 + 6 + 1 });
});

test('a 108-byte path without NUL is accepted and reported with addrlen 111', () => {
  const { t } = setup();
  const path = ('/tmp/' + 'b'.repeat(200)).slice(0, 108);
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(fd, sun(path));
  assert.deepEqual(t.getsockname(fd), { family: AF_UNIX, path, addrlen: 111 });
});

test('bind to an abstract name: every byte counts, including embedded NULs', () => {
  const { t } = setup();
  const a = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(a, un('\0abc'));
  assert.deepEqual(t.getsockname(a), { family: AF_UNIX, path: '\0abc', addrlen: 6 });
  const b = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(b, sun(Uint8Array.from([0, 0x61, 0, 0x62])));
  assert.deepEqual(t.getsockname(b), { family: AF_UNIX, path: '\0a\0b', addrlen: 6 });
  // A name that differs only in length is a different name.
  const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(c, un('\0ab'));
  assert.equal(t.getsockname(c).addrlen, 5);
});

test('autobind (addrlen == sizeof(sa_family_t)) gives "\\0" + five hex digits, addrlen 8', () => {
  const { t, host } = setup();
  const fd = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  t.bind(fd, raw([AF_UNIX, 0]));
  const name = t.getsockname(fd);
  assert.ok('path' in name);
  assert.match(name.path, AUTOBIND);
  assert.equal(name.addrlen, 8);
  // Binding with addrlen 2 again keeps the name (no error).
  t.bind(fd, raw([AF_UNIX, 0]));
  assert.deepEqual(t.getsockname(fd), name);
  // But a real name is refused: the socket is bound.
  throwsErrno(() => t.bind(fd, un('/tmp/late')), 'EINVAL');
  assert.ok(host.procNetUnix().includes(' @' + name.path.slice(1)));
});

test('autobind names are distinct', () => {
  const { t } = setup();
  const names = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
    t.bind(fd, raw([AF_UNIX, 0]));
    const n = t.getsockname(fd);
    assert.ok('path' in n);
    assert.match(n.path, AUTOBIND);
    names.add(n.path);
  }
  assert.equal(names.size, 50);
});

test('an unbound socket is named "" with addrlen 2', () => {
  const { t } = setup();
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  assert.deepEqual(t.getsockname(fd), { family: AF_UNIX, path: '', addrlen: 2 });
});

test('SO_PASSCRED autobinds on connect (stream) and on send (dgram)', async () => {
  const { t } = setup();
  const l = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(l, un('\0listener'));
  t.listen(l, 4);
  const c = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.setsockopt(c, SOL_SOCKET, SO_PASSCRED, 1);
  await t.connect(c, un('\0listener'));
  const cn = t.getsockname(c);
  assert.ok('path' in cn);
  assert.match(cn.path, AUTOBIND);
  const { addr } = await t.accept(l);
  assert.deepEqual(addr, cn);

  const r = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  t.bind(r, un('\0rcv'));
  const s = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  t.setsockopt(s, SOL_SOCKET, SO_PASSCRED, 1);
  await t.sendto(s, enc('q'), 0, un('\0rcv'));
  const sn = t.getsockname(s);
  assert.ok('path' in sn);
  assert.match(sn.path, AUTOBIND);
  const got = await t.recvfrom(r, new Uint8Array(8));
  assert.deepEqual(got.addr, sn);
});

test('binding a path that exists is EADDRINUSE, even after the owner closed', () => {
  const { t } = setup();
  const a = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(a, un('/tmp/x'));
  const b = t.socket(AF_UNIX, SOCK_STREAM, 0);
  throwsErrno(() => t.bind(b, un('/tmp/x')), 'EADDRINUSE');
  // The type does not matter for a filesystem name.
  const d = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  throwsErrno(() => t.bind(d, un('/tmp/x')), 'EADDRINUSE');
  t.close(a);
  throwsErrno(() => t.bind(b, un('/tmp/x')), 'EADDRINUSE');
  // So is a directory.
  throwsErrno(() => t.bind(b, un('/tmp')), 'EADDRINUSE');
});

test('unlink then rebind: the new socket takes the name, the old one keeps reporting it', async () => {
  const { t } = setup();
  const old = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(old, un('/tmp/svc'));
  t.listen(old, 4);
  t.unlink('/tmp/svc');
  // Nobody can reach the old socket now.
  await rejectsErrno(t.connect(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/svc')), 'ENOENT');
  const fresh = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(fresh, un('/tmp/svc'));
  t.listen(fresh, 4);
  assert.deepEqual(t.getsockname(old), { family: AF_UNIX, path: '/tmp/svc', addrlen: 11 });
  const c = t.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  await t.connect(c, un('/tmp/svc'));
  const { fd } = await t.accept(fresh);
  await t.send(c, enc('to the new one'));
  assert.equal(await recvStr(t, fd), 'to the new one');
  t.fcntl(old, F_SETFL, O_NONBLOCK);
  await rejectsErrno(t.accept(old), 'EAGAIN');
  // A second unlink finds nothing.
  t.unlink('/tmp/svc');
  throwsErrno(() => t.unlink('/tmp/svc'), 'ENOENT');
});

test('abstract names: EADDRINUSE within a type, free again once the socket closes', () => {
  const { t } = setup();
  const a = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(a, un('\0same'));
  throwsErrno(() => t.bind(t.socket(AF_UNIX, SOCK_STREAM, 0), un('\0same')), 'EADDRINUSE');
  t.close(a);
  t.bind(t.socket(AF_UNIX, SOCK_STREAM, 0), un('\0same'));
});

test('abstract names are per socket type: a dgram socket may take a stream socket name', async () => {
  const { t } = setup();
  const s = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(s, un('\0shared'));
  t.listen(s, 1);
  const d = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  t.bind(d, un('\0shared'));
  // A seqpacket connect does not find the stream listener under that name.
  await rejectsErrno(t.connect(t.socket(AF_UNIX, SOCK_SEQPACKET, 0), un('\0shared')), 'ECONNREFUSED');
  // Each type reaches its own socket.
  const c = t.socket(AF_UNIX, SOCK_DGRAM, 0);
  await t.sendto(c, enc('dgram'), 0, un('\0shared'));
  assert.equal(await recvStr(t, d), 'dgram');
});

test('binding a bound socket again is EINVAL, and leaves no node behind', () => {
  const { t } = setup();
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(fd, un('/tmp/b1'));
  throwsErrno(() => t.bind(fd, un('/tmp/b2')), 'EINVAL');
  // /tmp/b2 was not left in the filesystem.
  t.bind(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/b2'));
  throwsErrno(() => t.bind(fd, un('\0abs')), 'EINVAL');
  // Its own path exists, so that is EADDRINUSE first.
  throwsErrno(() => t.bind(fd, un('/tmp/b1')), 'EADDRINUSE');
  const g = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(g, un('\0g'));
  throwsErrno(() => t.bind(g, un('\0h')), 'EINVAL');
});

test('malformed addresses are EINVAL', () => {
  const { t } = setup();
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  throwsErrno(() => t.bind(fd, raw([AF_UNIX])), 'EINVAL');
  throwsErrno(() => t.bind(fd, raw([AF_INET, 0, 0x2f, 0x78, 0])), 'EINVAL');
  throwsErrno(() => t.bind(fd, sun('a'.repeat(109))), 'EINVAL');
  throwsErrno(() => t.bind(fd, new Uint8Array(0)), 'EINVAL');
  // Still unbound.
  assert.deepEqual(t.getsockname(fd), { family: AF_UNIX, path: '', addrlen: 2 });
});

test('a missing directory is ENOENT, a socket used as a directory is ENOTDIR', async () => {
  const { t } = setup();
  throwsErrno(() => t.bind(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/nonexistent/x')), 'ENOENT');
  throwsErrno(() => t.bind(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/no/such/dir/x')), 'ENOENT');
  t.bind(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/sock'));
  throwsErrno(() => t.bind(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/sock/x')), 'ENOTDIR');
  await rejectsErrno(t.connect(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/sock/x')), 'ENOTDIR');
});

test('relative paths resolve from the working directory (/)', () => {
  const { t } = setup();
  const fd = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(fd, un('tmp/rel'));
  assert.ok('path' in t.getsockname(fd));
  assert.equal((t.getsockname(fd) as { path: string }).path, 'tmp/rel');
  throwsErrno(() => t.bind(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/rel')), 'EADDRINUSE');
});

test('a non-root task cannot bind in a directory it may not write (EACCES); /tmp is open to all', () => {
  const { host, t } = setup();
  t.mkdir('/srv', 0o755);
  const user = host.spawn({ uid: 1000, gid: 1000 });
  throwsErrno(() => user.bind(user.socket(AF_UNIX, SOCK_STREAM, 0), un('/srv/s')), 'EACCES');
  user.bind(user.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/user.sock'));
  // Root may, thanks to CAP_DAC_OVERRIDE.
  t.bind(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/srv/s'));
  // Search permission on a directory on the way is needed too.
  t.mkdir('/srv/private', 0o700);
  t.chmod('/srv/private', 0o776);
  throwsErrno(() => user.bind(user.socket(AF_UNIX, SOCK_STREAM, 0), un('/srv/private/x')), 'EACCES');
  t.chmod('/srv/private', 0o777);
  user.bind(user.socket(AF_UNIX, SOCK_STREAM, 0), un('/srv/private/x'));
});

test('the socket node takes 0777 & ~umask: another user needs write permission to connect', async () => {
  const { host, t } = setup();
  const l = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(l, un('/tmp/root.sock'));
  t.listen(l, 4);
  const user = host.spawn({ uid: 1000, gid: 1000 });
  await rejectsErrno(user.connect(user.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/root.sock')), 'EACCES');
  t.chmod('/tmp/root.sock', 0o777);
  await user.connect(user.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/root.sock'));
  // With umask 0 the node is created writable by everyone.
  t.umask(0);
  const l2 = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(l2, un('/tmp/open.sock'));
  t.listen(l2, 4);
  await user.connect(user.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/open.sock'));
});

test('closing a bound socket frees its abstract name and its /proc/net/unix line, not its path', () => {
  const { host, t } = setup();
  const a = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(a, un('/tmp/p'));
  const b = t.socket(AF_UNIX, SOCK_STREAM, 0);
  t.bind(b, un('\0abstract'));
  const text = host.procNetUnix();
  assert.ok(text.includes(' /tmp/p\n'));
  assert.ok(text.includes(' @abstract\n'));
  t.close(a);
  t.close(b);
  assert.equal(socketCount(host), 0);
  throwsErrno(() => t.bind(t.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/p')), 'EADDRINUSE');
  t.bind(t.socket(AF_UNIX, SOCK_STREAM, 0), un('\0abstract'));
});
