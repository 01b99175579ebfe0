// Several hosts in one world: each has its own filesystem, abstract namespace, fd numbers and
// sockets. And determinism: the same seed gives the same run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOCK_NONBLOCK } from '../../src/index.js';
import { un, enc, throwsErrno, rejectsErrno, recvStr, socketCount } from './helpers.js';

function twoHosts() {
  const world = new World({ seed: 7 });
  const h1 = world.addHost('h1');
  const h2 = world.addHost('h2');
  return { world, h1, h2, t1: h1.spawn(), t2: h2.spawn() };
}

test('the same path binds on two hosts without colliding', async () => {
  const { t1, t2 } = twoHosts();
  const a = t1.socket(AF_UNIX, SOCK_STREAM, 0);
  const b = t2.socket(AF_UNIX, SOCK_STREAM, 0);
  t1.bind(a, un('/tmp/svc.sock'));
  t2.bind(b, un('/tmp/svc.sock'));
  t1.listen(a, 4);
  t2.listen(b, 4);
  // Each client reaches the listener of its own host.
  const c1 = t1.socket(AF_UNIX, SOCK_STREAM, 0);
  const c2 = t2.socket(AF_UNIX, SOCK_STREAM, 0);
  await t1.connect(c1, un('/tmp/svc.sock'));
  await t2.connect(c2, un('/tmp/svc.sock'));
  const s1 = (await t1.accept(a)).fd;
  const s2 = (await t2.accept(b)).fd;
  await t1.send(c1, enc('on h1'));
  await t2.send(c2, enc('on h2'));
  assert.equal(await recvStr(t1, s1), 'on h1');
  assert.equal(await recvStr(t2, s2), 'on h2');
});

test('the same abstract name binds on two hosts without colliding', async () => {
  const { t1, t2 } = twoHosts();
  const a = t1.socket(AF_UNIX, SOCK_DGRAM, 0);
  const b = t2.socket(AF_UNIX, SOCK_DGRAM, 0);
  t1.bind(a, un('\0name'));
  t2.bind(b, un('\0name'));
  await t1.sendto(t1.socket(AF_UNIX, SOCK_DGRAM, 0), enc('1'), 0, un('\0name'));
  await t2.sendto(t2.socket(AF_UNIX, SOCK_DGRAM, 0), enc('2'), 0, un('\0name'));
  assert.equal(await recvStr(t1, a), '1');
  assert.equal(await recvStr(t2, b), '2');
  await rejectsErrno(t1.recv(a, new Uint8Array(4), 0x40), 'EAGAIN');
});

test('a name bound on one host cannot be reached from another', async () => {
  const { t1, t2 } = twoHosts();
  const l = t1.socket(AF_UNIX, SOCK_STREAM, 0);
  t1.bind(l, un('/tmp/only-on-h1'));
  t1.listen(l, 4);
  const al = t1.socket(AF_UNIX, SOCK_STREAM, 0);
  t1.bind(al, un('\0only-on-h1'));
  t1.listen(al, 4);
  await rejectsErrno(t2.connect(t2.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/only-on-h1')), 'ENOENT');
  await rejectsErrno(t2.connect(t2.socket(AF_UNIX, SOCK_STREAM, 0), un('\0only-on-h1')), 'ECONNREFUSED');
  // h2's filesystem does not have the node: binding there is fine.
  t2.bind(t2.socket(AF_UNIX, SOCK_STREAM, 0), un('/tmp/only-on-h1'));
});

test('fd numbers, sockets and sysctls are per host', () => {
  const { h1, h2, t1, t2 } = twoHosts();
  assert.equal(t1.socket(AF_UNIX, SOCK_STREAM, 0), 0);
  assert.equal(t1.socket(AF_UNIX, SOCK_STREAM, 0), 1);
  assert.equal(t2.socket(AF_UNIX, SOCK_STREAM, 0), 0);
  assert.equal(socketCount(h1), 2);
  assert.equal(socketCount(h2), 1);
  h1.sysctl.write('net.unix.max_dgram_qlen', 3);
  assert.equal(h1.sysctl.read('net.unix.max_dgram_qlen'), 3);
  assert.equal(h2.sysctl.read('net.unix.max_dgram_qlen'), 10);
  throwsErrno(() => h1.sysctl.write('net.unix.max_dgram_qlen', -1), 'EINVAL');
  throwsErrno(() => h1.sysctl.write('net.unix.no_such_knob', 1), 'ENOENT');
});

test('two tasks on one host share the filesystem but not fds', async () => {
  const world = new World({ seed: 3 });
  const h = world.addHost('h');
  const a = h.spawn();
  const b = h.spawn({ uid: 1000 });
  assert.notEqual(a.pid, b.pid);
  const la = a.socket(AF_UNIX, SOCK_STREAM, 0);
  a.bind(la, un('/tmp/shared'));
  a.chmod('/tmp/shared', 0o777);
  a.listen(la, 1);
  const cb = b.socket(AF_UNIX, SOCK_STREAM, 0);
  assert.equal(cb, 0);
  await b.connect(cb, un('/tmp/shared'));
  const { fd } = await a.accept(la);
  await b.send(cb, enc('hello'));
  assert.equal(await recvStr(a, fd), 'hello');
  throwsErrno(() => b.close(1), 'EBADF');
});

async function autobindNames(seed: number): Promise<string[]> {
  const world = new World({ seed });
  const out: string[] = [];
  for (const name of ['a', 'b']) {
    const t = world.addHost(name).spawn();
    for (let i = 0; i < 5; i++) {
      const fd = t.socket(AF_UNIX, i % 2 ? SOCK_DGRAM : SOCK_STREAM | SOCK_NONBLOCK, 0);
      t.bind(fd, Uint8Array.from([AF_UNIX, 0]));
      out.push((t.getsockname(fd) as { path: string }).path);
    }
  }
  return out;
}

test('determinism: the same seed gives the same autobind names; another seed other names', async () => {
  const a = await autobindNames(1234);
  const b = await autobindNames(1234);
  assert.deepEqual(a, b);
  for (const n of a) assert.match(n, /^\0[0-9a-f]{5}$/);
  const c = await autobindNames(4321);
  assert.notDeepEqual(a, c);
});

test('determinism: a blocking exchange ends at the same virtual time with the same result', async () => {
  async function run(): Promise<[number, string]> {
    const world = new World({ seed: 99 });
    const t = world.addHost('h').spawn();
    const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM, 0);
    const out: string[] = [];
    const reader = (async () => {
      for (let i = 0; i < 3; i++) out.push(await recvStr(t, b, 64));
    })();
    for (const s of ['x', 'yy', 'zzz']) {
      await t.poll([{ fd: a, events: 0, revents: 0 }], 5);
      await t.send(a, enc(s));
    }
    await reader;
    return [world.now(), out.join('|')];
  }
  const r1 = await run();
  const r2 = await run();
  assert.deepEqual(r1, r2);
  assert.equal(r1[0], 15);
  assert.equal(r1[1], 'x|yy|zzz');
});
