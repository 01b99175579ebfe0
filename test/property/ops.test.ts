// Random sequences of socket calls on random fds — valid, closed, never opened, of the wrong
// type — checking that usernet fails only with SyscallErrors carrying Linux errnos the call can
// return, that fd numbers follow the lowest-free rule, and that nothing leaks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  World,
  AF_UNIX,
  AF_INET,
  SOCK_STREAM,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_RAW,
  SOCK_RDM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  SCM_RIGHTS,
  SO_TYPE,
  SO_ERROR,
  SO_PEERCRED,
  SO_ACCEPTCONN,
  SO_SNDBUF,
  SO_RCVBUF,
  SO_PASSCRED,
  SO_PEEK_OFF,
  SO_RCVLOWAT,
  SO_LINGER,
  SO_RCVTIMEO,
  SO_MARK,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_TRUNC,
  MSG_WAITALL,
  FIONREAD,
  SIOCOUTQ,
  POLLNVAL,
  type Sockaddr,
  type Task,
} from '../../src/index.js';
import { FC_PARAMS, attempt, payload } from './common.js';

const NAMES: (Sockaddr | Uint8Array)[] = [
  { family: AF_UNIX, path: '\0a' },
  { family: AF_UNIX, path: '\0b' },
  { family: AF_UNIX, path: '/tmp/a' },
  { family: AF_UNIX, path: '/tmp/b' },
  { family: AF_UNIX, path: '/nonexistent/x' },
  Uint8Array.from([AF_UNIX, 0]),
  Uint8Array.from([AF_INET, 0, 1, 2, 3, 4]),
];

const TYPES = [
  SOCK_STREAM,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_RAW,
  SOCK_RDM,
  0,
  11,
];
const SETOPTS = [
  SO_SNDBUF,
  SO_RCVBUF,
  SO_PASSCRED,
  SO_PEEK_OFF,
  SO_RCVLOWAT,
  SO_LINGER,
  SO_MARK,
  SO_TYPE,
  1000,
];
const GETOPTS = [SO_TYPE, SO_ERROR, SO_PEERCRED, SO_ACCEPTCONN, SO_SNDBUF, SO_PEEK_OFF, SO_RCVTIMEO, 1000];

// An fd operand: usually one of the caller's open fds, sometimes one that is not open.
const fdRef = fc.record({ bad: fc.nat(9).map((n) => n === 0), idx: fc.nat(1000) });
/** Names `server` and `client` use: mostly the abstract name "a" and /tmp/a, so that clients find servers. */
const name = fc.nat(9).map((n) => [0, 0, 0, 2, 2, 2, 1, 3, 5, 6][n]);
/** Types `server` and `client` use: mostly connection-oriented ones. */
const CONN_TYPES = [
  SOCK_STREAM,
  SOCK_STREAM,
  SOCK_STREAM,
  SOCK_STREAM,
  SOCK_SEQPACKET,
  SOCK_SEQPACKET,
  SOCK_DGRAM,
];
const who = fc.nat(1);
const op = fc.oneof(
  {
    arbitrary: fc.record({
      k: fc.constant('socket' as const),
      who,
      type: fc.nat(TYPES.length - 1),
      proto: fc.nat(6),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ k: fc.constant('socketpair' as const), who, type: fc.nat(TYPES.length - 1) }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('server' as const),
      who,
      type: fc.nat(CONN_TYPES.length - 1),
      name,
      backlog: fc.nat(2),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('client' as const),
      who,
      type: fc.nat(CONN_TYPES.length - 1),
      name,
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({ k: fc.constant('bind' as const), who, fd: fdRef, name: fc.nat(NAMES.length - 1) }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('connect' as const),
      who,
      fd: fdRef,
      name: fc.nat(NAMES.length - 1),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ k: fc.constant('listen' as const), who, fd: fdRef, backlog: fc.nat(3) }),
    weight: 1,
  },
  { arbitrary: fc.record({ k: fc.constant('accept' as const), who, fd: fdRef }), weight: 3 },
  {
    arbitrary: fc.record({
      k: fc.constant('send' as const),
      who,
      fd: fdRef,
      len: fc.nat(300),
      name: fc.option(fc.nat(NAMES.length - 1), { freq: 4 }),
    }),
    weight: 6,
  },
  { arbitrary: fc.record({ k: fc.constant('sendfd' as const), who, fd: fdRef, pass: fdRef }), weight: 4 },
  {
    arbitrary: fc.record({
      k: fc.constant('recv' as const),
      who,
      fd: fdRef,
      len: fc.nat(400),
      flags: fc.subarray([MSG_PEEK, MSG_TRUNC, MSG_WAITALL]),
      ctl: fc.constantFrom(0, 20, 64),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({ k: fc.constant('shutdown' as const), who, fd: fdRef, how: fc.nat(3) }),
    weight: 1,
  },
  { arbitrary: fc.record({ k: fc.constant('close' as const), who, fd: fdRef }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant('dup' as const), who, fd: fdRef }), weight: 1 },
  {
    arbitrary: fc.record({
      k: fc.constant('setsockopt' as const),
      who,
      fd: fdRef,
      opt: fc.nat(SETOPTS.length - 1),
      val: fc.integer({ min: -2, max: 70000 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('getsockopt' as const),
      who,
      fd: fdRef,
      opt: fc.nat(GETOPTS.length - 1),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('poll' as const),
      who,
      fds: fc.array(fdRef, { minLength: 1, maxLength: 3 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('ioctl' as const),
      who,
      fd: fdRef,
      cmd: fc.constantFrom(FIONREAD, SIOCOUTQ, 0x1234),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ k: fc.constant('getname' as const), who, fd: fdRef, peer: fc.boolean() }),
    weight: 1,
  },
);

const FDERR = ['EBADF', 'ENOTSOCK'];
const PATHERR = ['ENOENT', 'EACCES', 'ENOTDIR'];
// The errnos Linux's socket layer and AF_UNIX can return for each call, given the arguments
// used here (every fd is non-blocking; far fewer fds are ever in flight than RLIMIT_NOFILE).
const ALLOWED = {
  socket: ['EINVAL', 'EAFNOSUPPORT', 'EPROTONOSUPPORT', 'ESOCKTNOSUPPORT', 'EMFILE'],
  bind: [...FDERR, ...PATHERR, 'EINVAL', 'EADDRINUSE'],
  connect: [...FDERR, ...PATHERR, 'EINVAL', 'ECONNREFUSED', 'EPROTOTYPE', 'EISCONN', 'EAGAIN', 'EPERM'],
  listen: [...FDERR, 'EINVAL', 'EOPNOTSUPP'],
  accept: [...FDERR, 'EINVAL', 'EOPNOTSUPP', 'EAGAIN', 'EMFILE'],
  send: [
    ...FDERR,
    ...PATHERR,
    'EINVAL',
    'ENOTCONN',
    'EPIPE',
    'EAGAIN',
    'ECONNREFUSED',
    'ECONNRESET',
    'EPERM',
    'EISCONN',
    'EOPNOTSUPP',
    'EMSGSIZE',
    'EPROTOTYPE',
  ],
  recv: [...FDERR, 'EINVAL', 'ENOTCONN', 'EAGAIN', 'ECONNRESET'],
  shutdown: [...FDERR, 'EINVAL'],
  close: ['EBADF'],
  dup: ['EBADF', 'EMFILE'],
  setsockopt: [...FDERR, 'EINVAL', 'ENOPROTOOPT', 'EDOM', 'EPERM', 'EOPNOTSUPP'],
  getsockopt: [...FDERR, 'EINVAL', 'ENOPROTOOPT', 'EOPNOTSUPP'],
  ioctl: ['EBADF', 'ENOTTY', 'EINVAL'],
  getsockname: FDERR,
  getpeername: [...FDERR, 'ENOTCONN'],
} as const;

type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function socketCount(procNetUnix: string): number {
  return procNetUnix.trimEnd().split('\n').length - 1;
}

interface Proc {
  t: Task;
  open: Set<number>;
  lastClosed: number;
}

function lowestFree(open: Set<number>, after = -1): number {
  let i = after + 1;
  while (open.has(i)) i++;
  return i;
}

async function runOps(ops: Op[], nprocs: number, checkLeaks: boolean): Promise<void> {
  const world = new World({ seed: 11 });
  const host = world.addHost('h');
  const procs: Proc[] = [host.spawn(), host.spawn({ uid: 1000, gid: 1000 })]
    .slice(0, nprocs)
    .map((t) => ({ t, open: new Set<number>(), lastClosed: 7 }));
  let counter = 0;

  for (const o of ops) {
    const p = procs[o.who % procs.length];
    const { t, open } = p;
    const resolve = (ref: { bad: boolean; idx: number }): number => {
      const fds = [...open].sort((a, b) => a - b);
      if (ref.bad || fds.length === 0) return [-1, 1000, p.lastClosed][ref.idx % 3];
      return fds[ref.idx % fds.length];
    };
    const newFd = (fd: number): void => {
      assert.equal(fd, lowestFree(open), 'a new fd is the lowest free one');
      open.add(fd);
    };
    const socket = async (type: number, proto = 0): Promise<number | null> => {
      const r = await attempt('socket', ALLOWED.socket, () => t.socket(AF_UNIX, type | SOCK_NONBLOCK, proto));
      if (!r.ok) return null;
      newFd(r.value);
      return r.value;
    };

    switch (o.k) {
      case 'socket':
        await socket(TYPES[o.type], [0, 0, 0, 0, 0, 1, 2][o.proto]);
        break;
      case 'socketpair': {
        const r = await attempt('socketpair', ALLOWED.socket, () =>
          t.socketpair(AF_UNIX, TYPES[o.type] | SOCK_NONBLOCK, 0),
        );
        if (r.ok) {
          const [a, b] = r.value;
          assert.equal(a, lowestFree(open));
          assert.equal(b, lowestFree(open, a));
          open.add(a);
          open.add(b);
        }
        break;
      }
      case 'server': {
        const fd = await socket(CONN_TYPES[o.type]);
        if (fd === null) break;
        await attempt('bind', ALLOWED.bind, () => t.bind(fd, NAMES[o.name]));
        await attempt('listen', ALLOWED.listen, () => t.listen(fd, o.backlog));
        break;
      }
      case 'client': {
        const fd = await socket(CONN_TYPES[o.type]);
        if (fd === null) break;
        await attempt('connect', ALLOWED.connect, () => t.connect(fd, NAMES[o.name]));
        break;
      }
      case 'bind':
        await attempt('bind', ALLOWED.bind, () => t.bind(resolve(o.fd), NAMES[o.name]));
        break;
      case 'connect':
        await attempt('connect', ALLOWED.connect, () => t.connect(resolve(o.fd), NAMES[o.name]));
        break;
      case 'listen':
        await attempt('listen', ALLOWED.listen, () => t.listen(resolve(o.fd), o.backlog));
        break;
      case 'accept': {
        const r = await attempt('accept', ALLOWED.accept, () => t.accept4(resolve(o.fd), SOCK_NONBLOCK));
        if (r.ok) newFd(r.value.fd);
        break;
      }
      case 'send': {
        const data = payload(counter, o.len);
        counter += o.len;
        const fd = resolve(o.fd);
        const r = await attempt('send', ALLOWED.send, () =>
          o.name === null ? t.send(fd, data, MSG_DONTWAIT) : t.sendto(fd, data, MSG_DONTWAIT, NAMES[o.name]),
        );
        if (r.ok) assert.ok(r.value >= 0 && r.value <= o.len);
        break;
      }
      case 'sendfd': {
        const fd = resolve(o.fd);
        const pass = resolve(o.pass);
        const control = [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [pass] }];
        await attempt('sendmsg', ALLOWED.send, () =>
          t.sendmsg(fd, { iov: [payload(counter++, 1)], control }, MSG_DONTWAIT),
        );
        break;
      }
      case 'recv': {
        const fd = resolve(o.fd);
        const flags = o.flags.reduce((m, f) => m | f, MSG_DONTWAIT);
        const r = await attempt('recvmsg', ALLOWED.recv, () =>
          t.recvmsg(fd, { iov: [new Uint8Array(o.len)], controllen: o.ctl }, flags),
        );
        if (r.ok) {
          if (!(flags & MSG_TRUNC)) assert.ok(r.value.n <= o.len);
          assert.ok(r.value.n >= 0);
          let after = -1;
          for (const c of r.value.control) {
            for (const got of c.fds ?? []) {
              assert.equal(got, lowestFree(open, after), 'received fds take the lowest free numbers');
              after = got;
            }
          }
          for (const c of r.value.control) for (const got of c.fds ?? []) open.add(got);
        }
        break;
      }
      case 'shutdown':
        await attempt('shutdown', ALLOWED.shutdown, () => t.shutdown(resolve(o.fd), o.how));
        break;
      case 'close': {
        const fd = resolve(o.fd);
        const r = await attempt('close', ALLOWED.close, () => t.close(fd));
        assert.equal(r.ok, open.has(fd), `close(${fd}) succeeds exactly when it is open`);
        if (r.ok) {
          open.delete(fd);
          p.lastClosed = fd;
        }
        break;
      }
      case 'dup': {
        const fd = resolve(o.fd);
        const r = await attempt('dup', ALLOWED.dup, () => t.dup(fd));
        assert.equal(r.ok, open.has(fd));
        if (r.ok) newFd(r.value);
        break;
      }
      case 'setsockopt': {
        const opt = SETOPTS[o.opt];
        const v = opt === SO_LINGER ? { l_onoff: o.val & 1, l_linger: o.val } : o.val;
        await attempt('setsockopt', ALLOWED.setsockopt, () =>
          t.setsockopt(resolve(o.fd), SOL_SOCKET, opt, v),
        );
        break;
      }
      case 'getsockopt': {
        const opt = GETOPTS[o.opt];
        const r = await attempt('getsockopt', ALLOWED.getsockopt, () =>
          t.getsockopt(resolve(o.fd), SOL_SOCKET, opt),
        );
        if (r.ok && opt === SO_TYPE)
          assert.ok([SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET].includes(r.value as number));
        break;
      }
      case 'poll': {
        const pfds = o.fds.map((ref) => ({ fd: resolve(ref), events: 0xffff, revents: 0 }));
        const r = await attempt('poll', [], () => t.poll(pfds, 0));
        let ready = 0;
        for (const pfd of pfds) {
          if (pfd.fd < 0) assert.equal(pfd.revents, 0);
          else assert.equal((pfd.revents & POLLNVAL) !== 0, !open.has(pfd.fd), `POLLNVAL for fd ${pfd.fd}`);
          if (pfd.revents) ready++;
        }
        assert.ok(r.ok);
        assert.equal(r.value, ready);
        break;
      }
      case 'ioctl':
        await attempt('ioctl', ALLOWED.ioctl, () => t.ioctl(resolve(o.fd), o.cmd));
        break;
      case 'getname': {
        const fd = resolve(o.fd);
        if (o.peer) await attempt('getpeername', ALLOWED.getpeername, () => t.getpeername(fd));
        else await attempt('getsockname', ALLOWED.getsockname, () => t.getsockname(fd));
        break;
      }
    }
    for (const q of procs)
      assert.deepEqual(
        q.t.fds(),
        [...q.open].sort((a, b) => a - b),
        `fd table after ${o.k}`,
      );
  }

  // Close everything: every close succeeds.
  for (const q of procs) {
    for (const fd of [...q.open]) q.t.close(fd);
    assert.deepEqual(q.t.fds(), []);
  }
  if (!checkLeaks) return;
  // Once the collector has run (any unix socket release runs it) no socket is left, not even
  // those that were in flight.
  const t0 = procs[0].t;
  t0.close(t0.socket(AF_UNIX, SOCK_DGRAM, 0));
  assert.equal(socketCount(host.procNetUnix()), 0, `sockets left:\n${host.procNetUnix()}`);
}

const sequence = fc.array(op, { minLength: 15, maxLength: 40, size: 'max' });

test('random call sequences in one process: only valid errnos, lowest-free fds', async () => {
  await fc.assert(
    fc.asyncProperty(sequence, (ops) => runOps(ops, 1, false)),
    FC_PARAMS,
  );
});

test('random call sequences across a root and an unprivileged process: only valid errnos, lowest-free fds', async () => {
  await fc.assert(
    fc.asyncProperty(sequence, (ops) => runOps(ops, 2, false)),
    { ...FC_PARAMS, seed: FC_PARAMS.seed + 1 },
  );
});

test('random call sequences: once every fd is closed and the collector ran, no socket is left', async () => {
  await fc.assert(
    fc.asyncProperty(sequence, fc.integer({ min: 1, max: 2 }), (ops, n) => runOps(ops, n, true)),
    { ...FC_PARAMS, seed: FC_PARAMS.seed + 2, numRuns: 200 },
  );
});
