// Message boundaries under random interleavings on datagram and seqpacket sockets: each
// received message is the next one sent (a prefix of it when the buffer is short, with
// MSG_TRUNC), in order, never merged, never duplicated; senders see EMSGSIZE and EAGAIN exactly
// when the model says the message cannot fit.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  World,
  AF_UNIX,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  SO_SNDBUF,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_TRUNC,
  FIONREAD,
  POLLIN,
  type Sockaddr,
  type Task,
} from '../../src/index.js';
import { FC_PARAMS, attempt, payload } from './common.js';

interface Msg {
  data: Uint8Array;
  /** The sender's name, for recvfrom (null: unnamed). */
  from: string | null;
}

/** A socket of the scenario: what it may send to, and the messages queued for it. */
interface Sock {
  fd: number;
  name: string | null;
  /** Where its sends go: an index into the scenario's sockets. */
  dest: number;
  /** Address passed to sendto (unconnected senders), or none. */
  to: Sockaddr | null;
  queue: Msg[];
}

type Kind = 'dgram-pair' | 'seqpacket-pair' | 'seqpacket-accept' | 'dgram-named';

async function scenario(t: Task, kind: Kind): Promise<Sock[]> {
  const mk = (fd: number, name: string | null, dest: number, to: Sockaddr | null = null): Sock => ({
    fd,
    name,
    dest,
    to,
    queue: [],
  });
  switch (kind) {
    case 'dgram-pair':
    case 'seqpacket-pair': {
      const type = kind === 'dgram-pair' ? SOCK_DGRAM : SOCK_SEQPACKET;
      const [a, b] = t.socketpair(AF_UNIX, type | SOCK_NONBLOCK, 0);
      return [mk(a, null, 1), mk(b, null, 0)];
    }
    case 'seqpacket-accept': {
      const l = t.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
      t.bind(l, { family: AF_UNIX, path: '\0sq' });
      t.listen(l, 1);
      const c = t.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
      await t.connect(c, { family: AF_UNIX, path: '\0sq' });
      const { fd } = await t.accept4(l, SOCK_NONBLOCK);
      return [mk(c, null, 1), mk(fd, null, 0)];
    }
    case 'dgram-named': {
      // A bound receiver and three unconnected senders: two named, one not.
      const r = t.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      t.bind(r, { family: AF_UNIX, path: '/tmp/rcv' });
      const to: Sockaddr = { family: AF_UNIX, path: '/tmp/rcv' };
      const socks = [mk(r, null, -1)];
      for (const name of ['\0s1', '/tmp/s2', null]) {
        const fd = t.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (name) t.bind(fd, { family: AF_UNIX, path: name });
        socks.push(mk(fd, name, 0, to));
      }
      return socks;
    }
  }
}

const op = fc.oneof(
  {
    arbitrary: fc.record({
      k: fc.constant('send' as const),
      who: fc.nat(3),
      len: fc.oneof(
        { arbitrary: fc.nat(300), weight: 8 },
        { arbitrary: fc.integer({ min: 4000, max: 6000 }), weight: 1 },
      ),
      how: fc.nat(2),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('recv' as const),
      who: fc.nat(3),
      len: fc.nat(350),
      flags: fc.subarray([MSG_PEEK, MSG_TRUNC]),
      how: fc.nat(2),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('sndbuf' as const),
      who: fc.nat(3),
      val: fc.constantFrom(0, 2500, 100000),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ k: fc.constant('probe' as const), who: fc.nat(3) }), weight: 2 },
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** The receiver's queue limit, net.unix.max_dgram_qlen (default 10). */
const MAX_DGRAM_QLEN = 10;

async function runOps(kind: Kind, ops: Op[]): Promise<void> {
  const world = new World({ seed: 9 });
  const t = world.addHost('h').spawn();
  const socks = await scenario(t, kind);
  let counter = 0;

  const doRecv = async (me: Sock, len: number, flags: number, how: number): Promise<void> => {
    const buf = new Uint8Array(len);
    const r = await attempt('recv', ['EAGAIN'], async () => {
      if (how === 0) {
        const m = await t.recvmsg(me.fd, { iov: [buf] }, flags | MSG_DONTWAIT);
        return { n: m.n, flags: m.flags, addr: m.addr };
      }
      const m = await t.recvfrom(me.fd, buf, flags | MSG_DONTWAIT);
      return { n: m.n, flags: -1, addr: m.addr };
    });
    const head = me.queue[0];
    if (!head) {
      assert.deepEqual(r, { ok: false, code: 'EAGAIN' }, 'nothing queued');
      return;
    }
    assert.ok(r.ok, 'a message is queued');
    const size = head.data.length;
    const copied = Math.min(len, size);
    assert.equal(r.value.n, flags & MSG_TRUNC ? size : copied);
    assert.deepEqual(buf.subarray(0, copied), head.data.subarray(0, copied), 'the next message, in order');
    if (r.value.flags >= 0) assert.equal(r.value.flags & MSG_TRUNC, len < size ? MSG_TRUNC : 0);
    if (kind === 'dgram-named') {
      const addr = r.value.addr;
      assert.deepEqual(addr && 'path' in addr ? addr.path : null, head.from, 'the sender address');
    }
    if (!(flags & MSG_PEEK)) me.queue.shift();
  };

  for (const o of ops) {
    const me = socks[o.who % socks.length];
    switch (o.k) {
      case 'send': {
        if (me.dest < 0) break;
        const dst = socks[me.dest];
        const data = payload(counter, o.len);
        counter += o.len;
        const sndbuf = t.getsockopt(me.fd, SOL_SOCKET, SO_SNDBUF) as number;
        const qlen = dst.queue.length;
        const mine = dst.queue.some((m) => m.from === me.name) || dst === me;
        const r = await attempt('send', ['EAGAIN', 'EMSGSIZE'], () => {
          if (me.to) return t.sendto(me.fd, data, MSG_DONTWAIT, me.to);
          if (o.how === 0) return t.send(me.fd, data, MSG_DONTWAIT);
          if (o.how === 1) return t.write(me.fd, data);
          return t.sendmsg(me.fd, { iov: [data.subarray(0, 7), data.subarray(7)] }, MSG_DONTWAIT);
        });
        if (o.len > sndbuf - 32) {
          assert.deepEqual(r, { ok: false, code: 'EMSGSIZE' });
        } else if (me.to && qlen > MAX_DGRAM_QLEN) {
          assert.deepEqual(r, { ok: false, code: 'EAGAIN' }, 'the receiver queue is full');
        } else if (!r.ok) {
          assert.equal(r.code, 'EAGAIN');
          // Out of send buffer: our own earlier messages must be what fills it.
          assert.ok(mine || dst.queue.length > 0, 'EAGAIN with nothing of ours queued');
        } else {
          assert.equal(r.value, o.len, 'a message goes whole or not at all');
          dst.queue.push({ data, from: me.name });
        }
        break;
      }
      case 'recv':
        if (me.to) break;
        await doRecv(
          me,
          o.len,
          o.flags.reduce((m, f) => m | f, 0),
          o.how,
        );
        break;
      case 'sndbuf':
        t.setsockopt(me.fd, SOL_SOCKET, SO_SNDBUF, o.val);
        break;
      case 'probe': {
        const pfd = { fd: me.fd, events: POLLIN, revents: 0 };
        await t.poll([pfd], 0);
        assert.equal(pfd.revents, me.queue.length ? POLLIN : 0);
        const inq = t.ioctl(me.fd, FIONREAD);
        const total = me.queue.reduce((n, m) => n + m.data.length, 0);
        // FIONREAD: the whole queue on a seqpacket socket, the head message on a datagram one.
        if (kind.startsWith('seqpacket')) assert.equal(inq, total);
        else assert.equal(inq, me.queue.length ? me.queue[0].data.length : 0);
        break;
      }
    }
  }

  for (const me of socks) {
    if (me.to) continue;
    while (me.queue.length) await doRecv(me, 7000, 0, 0);
    await doRecv(me, 10, 0, 0);
  }
}

const kinds: Kind[] = ['dgram-pair', 'seqpacket-pair', 'seqpacket-accept', 'dgram-named'];
for (const [i, kind] of kinds.entries()) {
  test(`${kind}: messages keep their boundaries and order`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40, size: 'max' }), (ops) =>
        runOps(kind, ops),
      ),
      { ...FC_PARAMS, seed: FC_PARAMS.seed + 10 + i },
    );
  });
}
