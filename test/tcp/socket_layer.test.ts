// The TCP socket layer against Linux's behaviour: a listener's close or SHUT_RD aborts the
// connections nobody accepted (inet_child_forget), getpeername while SYN_SENT, a blocking
// connect's EINPROGRESS / EALREADY after SO_SNDTIMEO, the ephemeral port of a reconnect
// (__inet_hash_connect's table_perturb), TCP_FASTOPEN / TCP_ULP and SO_RCVLOWAT on TCP.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, SyscallError, type Task } from '../../src/index.js';
import {
  AF_INET,
  AF_UNSPEC,
  SHUT_RD,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SOL_TCP,
  SO_RCVBUF,
  SO_RCVLOWAT,
  SO_SNDTIMEO,
  MSG_DONTWAIT,
} from '../../src/uapi/socket.js';
import {
  TCP_FASTOPEN,
  TCP_SAVE_SYN,
  TCP_TIMESTAMP,
  TCP_TX_DELAY,
  TCP_ULP,
  TCP_WINDOW_CLAMP,
} from '../../src/uapi/tcp.js';
import type { SockaddrIn } from '../../src/uapi/in.js';
import { sockfd_lookup, type Socket } from '../../src/net/socket.js';
import { inet_getname } from '../../src/net/ipv4/inet_dgram.js';
import * as E from '../../src/uapi/errno.js';
import { Timer } from '../../src/kernel/time.js';

function setup(): { w: World; t: Task } {
  const w = new World({ seed: 1 });
  const h = w.addHost('h');
  return { w, t: h.spawn({ uid: 0, gid: 0 }) };
}

/** Let `ms` of world time pass (what loopback delivery and the replies need). */
function sleep(w: World, ms: number): Promise<void> {
  return new Promise<void>((resolve) =>
    w.clock.mod_timer(new Timer(() => resolve()), w.clock.now() + ms * 1e6),
  );
}

const lo = (port: number): SockaddrIn => ({ family: AF_INET, addr: '127.0.0.1', port });

function code(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    if (e instanceof SyscallError) return e.code;
    throw e;
  }
}

async function acode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof SyscallError) return e.code;
    throw e;
  }
}

function listener(t: Task, backlog = 16): { fd: number; port: number } {
  const fd = t.socket(AF_INET, SOCK_STREAM, 0);
  t.bind(fd, lo(0));
  t.listen(fd, backlog);
  return { fd, port: (t.getsockname(fd) as SockaddrIn).port };
}

function sock(t: Task, fd: number): Socket {
  const s = sockfd_lookup(t.kernelTask, fd);
  assert.ok(typeof s !== 'number');
  return s;
}

test('closing a listener resets the connections it never accepted', async () => {
  const { w, t } = setup();
  const l = listener(t);
  const c = t.socket(AF_INET, SOCK_STREAM, 0);
  await t.connect(c, lo(l.port));
  t.close(l.fd);
  await sleep(w, 1);
  assert.equal(await acode(t.recv(c, new Uint8Array(8), MSG_DONTWAIT)), 'ECONNRESET');
});

test('SHUT_RD on a listener stops it and resets its queue', async () => {
  const { w, t } = setup();
  const l = listener(t);
  const c = t.socket(AF_INET, SOCK_STREAM, 0);
  await t.connect(c, lo(l.port));
  t.shutdown(l.fd, SHUT_RD);
  assert.equal(await acode(t.accept(l.fd)), 'EINVAL');
  await sleep(w, 1);
  assert.equal(await acode(t.recv(c, new Uint8Array(8), MSG_DONTWAIT)), 'ECONNRESET');
});

test("getpeername while SYN_SENT is ENOTCONN; do_accept's peer = 2 still names the peer", async () => {
  const { t } = setup();
  const l = listener(t, 0);
  const c = t.socket(AF_INET, SOCK_STREAM, 0);
  await t.connect(c, lo(l.port));
  // The accept queue is full: the second connection's SYN is dropped, it stays in SYN_SENT.
  const d = t.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  assert.equal(await acode(t.connect(d, lo(l.port))), 'EINPROGRESS');
  assert.equal(await acode(t.connect(d, lo(l.port))), 'EALREADY');
  assert.equal(
    code(() => t.getpeername(d)),
    'ENOTCONN',
  );
  const buf = new Uint8Array(16);
  assert.equal(inet_getname(sock(t, d), buf, true), -E.ENOTCONN);
  assert.equal(inet_getname(sock(t, d), buf, 2), 16);
  assert.equal((buf[2] << 8) | buf[3], l.port);
});

test('a blocking connect that times out says EINPROGRESS, the next one EALREADY', async () => {
  const { t } = setup();
  const l = listener(t, 0);
  const c = t.socket(AF_INET, SOCK_STREAM, 0);
  await t.connect(c, lo(l.port));
  const d = t.socket(AF_INET, SOCK_STREAM, 0);
  t.setsockopt(d, SOL_SOCKET, SO_SNDTIMEO, { tv_sec: 0, tv_usec: 20000 });
  assert.equal(await acode(t.connect(d, lo(l.port))), 'EINPROGRESS');
  assert.equal(await acode(t.connect(d, lo(l.port))), 'EALREADY');
});

test('a reconnect after AF_UNSPEC gets another ephemeral port', async () => {
  const { t } = setup();
  const l = listener(t);
  const c = t.socket(AF_INET, SOCK_STREAM, 0);
  const ports: number[] = [];
  for (let i = 0; i < 4; i++) {
    await t.connect(c, lo(l.port));
    const { fd } = await t.accept(l.fd);
    ports.push((t.getsockname(c) as SockaddrIn).port);
    const unspec = new Uint8Array(16);
    unspec[0] = AF_UNSPEC;
    await t.connect(c, unspec, 16);
    t.close(fd);
  }
  assert.equal(new Set(ports).size, ports.length, `ports ${ports.join(' ')}`);
  // connect() takes ports of the range's low parity first (32768 is even).
  for (const p of ports) assert.equal(p % 2, 0);
});

test('TCP_FASTOPEN: the listener queue length, capped by somaxconn; refused once connected', async () => {
  const { t } = setup();
  const a = t.socket(AF_INET, SOCK_STREAM, 0);
  assert.equal(t.getsockopt(a, SOL_TCP, TCP_FASTOPEN), 0);
  t.setsockopt(a, SOL_TCP, TCP_FASTOPEN, 5);
  assert.equal(t.getsockopt(a, SOL_TCP, TCP_FASTOPEN), 5);
  assert.equal(
    code(() => t.setsockopt(a, SOL_TCP, TCP_FASTOPEN, -1)),
    'EINVAL',
  );
  t.setsockopt(a, SOL_TCP, TCP_FASTOPEN, 100000);
  assert.equal(t.getsockopt(a, SOL_TCP, TCP_FASTOPEN), 4096);
  t.bind(a, lo(0));
  t.listen(a, 16);
  t.setsockopt(a, SOL_TCP, TCP_FASTOPEN, 7);
  assert.equal(t.getsockopt(a, SOL_TCP, TCP_FASTOPEN), 7);
  const c = t.socket(AF_INET, SOCK_STREAM, 0);
  await t.connect(c, lo((t.getsockname(a) as SockaddrIn).port));
  assert.equal(
    code(() => t.setsockopt(c, SOL_TCP, TCP_FASTOPEN, 1)),
    'EINVAL',
  );
});

test('TCP_ULP: no upper layer attached reads as empty; an unknown name is ENOENT', () => {
  const { t } = setup();
  const a = t.socket(AF_INET, SOCK_STREAM, 0);
  assert.equal(t.getsockoptRaw(a, SOL_TCP, TCP_ULP, 16).length, 0);
  assert.equal(
    code(() => t.setsockopt(a, SOL_TCP, TCP_ULP, new TextEncoder().encode('tls'))),
    'ENOENT',
  );
  assert.equal(
    code(() => t.setsockopt(a, SOL_TCP, TCP_ULP, new Uint8Array(0))),
    'EINVAL',
  );
});

test('SO_RCVLOWAT on TCP: capped at half tcp_rmem[2], and the receive buffer grows to hold it', async () => {
  const { t } = setup();
  const a = t.socket(AF_INET, SOCK_STREAM, 0);
  t.setsockopt(a, SOL_SOCKET, SO_RCVLOWAT, -1);
  assert.equal(t.getsockopt(a, SOL_SOCKET, SO_RCVLOWAT), 16777216);
  assert.equal(t.getsockopt(a, SOL_SOCKET, SO_RCVBUF), 33554432);
  const b = t.socket(AF_INET, SOCK_STREAM, 0);
  t.setsockopt(b, SOL_SOCKET, SO_RCVLOWAT, 65536);
  assert.equal(t.getsockopt(b, SOL_SOCKET, SO_RCVBUF), 131072);
  t.setsockopt(b, SOL_SOCKET, SO_RCVLOWAT, 100000);
  assert.equal(t.getsockopt(b, SOL_SOCKET, SO_RCVBUF), 200000);
  assert.equal(t.getsockopt(b, SOL_TCP, TCP_WINDOW_CLAMP), 0);
  // A locked buffer caps the mark at half of it and does not grow.
  const c = t.socket(AF_INET, SOCK_STREAM, 0);
  t.setsockopt(c, SOL_SOCKET, SO_RCVBUF, 4096);
  t.setsockopt(c, SOL_SOCKET, SO_RCVLOWAT, 100000);
  assert.equal(t.getsockopt(c, SOL_SOCKET, SO_RCVLOWAT), 4096);
  assert.equal(t.getsockopt(c, SOL_SOCKET, SO_RCVBUF), 8192);
  // A window clamp below the mark is raised to it.
  const d = t.socket(AF_INET, SOCK_STREAM, 0);
  t.setsockopt(d, SOL_TCP, TCP_WINDOW_CLAMP, 50000);
  t.setsockopt(d, SOL_SOCKET, SO_RCVLOWAT, 100000);
  assert.equal(t.getsockopt(d, SOL_TCP, TCP_WINDOW_CLAMP), 100000);
});

test('TCP_TX_DELAY below 2^28 (0 clears it), TCP_SAVE_SYN up to 2, TCP_TIMESTAMP needs repair mode', () => {
  const { t } = setup();
  const a = t.socket(AF_INET, SOCK_STREAM, 0);
  t.setsockopt(a, SOL_TCP, TCP_TX_DELAY, 10);
  assert.equal(t.getsockopt(a, SOL_TCP, TCP_TX_DELAY), 10);
  t.setsockopt(a, SOL_TCP, TCP_TX_DELAY, 0);
  assert.equal(t.getsockopt(a, SOL_TCP, TCP_TX_DELAY), 0);
  assert.equal(
    code(() => t.setsockopt(a, SOL_TCP, TCP_TX_DELAY, -1)),
    'EINVAL',
  );
  assert.equal(
    code(() => t.setsockopt(a, SOL_TCP, TCP_TX_DELAY, 1 << 28)),
    'EINVAL',
  );
  t.setsockopt(a, SOL_TCP, TCP_TX_DELAY, (1 << 28) - 1);
  assert.equal(t.getsockopt(a, SOL_TCP, TCP_TX_DELAY), (1 << 28) - 1);
  t.setsockopt(a, SOL_TCP, TCP_SAVE_SYN, 2);
  assert.equal(t.getsockopt(a, SOL_TCP, TCP_SAVE_SYN), 2);
  assert.equal(
    code(() => t.setsockopt(a, SOL_TCP, TCP_SAVE_SYN, 3)),
    'EINVAL',
  );
  assert.equal(
    code(() => t.setsockopt(a, SOL_TCP, TCP_TIMESTAMP, 0)),
    'EPERM',
  );
});
