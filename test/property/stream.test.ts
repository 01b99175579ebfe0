// Byte streams under random interleavings of writes, reads (plain, MSG_PEEK, MSG_WAITALL),
// shutdowns, closes and buffer-size changes on non-blocking stream connections: nothing is lost,
// duplicated or reordered, and every call's result follows from the model of what is queued.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  World,
  AF_UNIX,
  SOCK_STREAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  SO_SNDBUF,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_WAITALL,
  POLLIN,
  POLLERR,
  POLLHUP,
  POLLRDHUP,
  type Task,
} from '../../src/index.js';
import { FC_PARAMS, attempt, payload, concat } from './common.js';

/** One end of a connection, as the model sees it. */
interface End {
  fd: number;
  /** Bytes this end's writes put into the connection, in order. */
  sent: Uint8Array[];
  sentLen: number;
  /** Bytes of the peer's `sent` this end has consumed. */
  consumed: number;
  closed: boolean;
  shutRd: boolean;
  shutWr: boolean;
  /** The peer closed while our data sat unread in its queue: one ECONNRESET is due. */
  reset: boolean;
}

const side = fc.nat(1);
const conn = fc.nat(1);
const op = fc.oneof(
  {
    arbitrary: fc.record({
      k: fc.constant('write' as const),
      conn,
      side,
      len: fc.oneof(
        { arbitrary: fc.nat(3000), weight: 5 },
        { arbitrary: fc.integer({ min: 20000, max: 90000 }), weight: 1 },
      ),
      how: fc.nat(3),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('read' as const),
      conn,
      side,
      len: fc.oneof(
        { arbitrary: fc.integer({ min: 1, max: 3000 }), weight: 5 },
        { arbitrary: fc.integer({ min: 1, max: 100000 }), weight: 1 },
      ),
      flags: fc.subarray([MSG_PEEK, MSG_WAITALL]),
      how: fc.nat(3),
    }),
    weight: 6,
  },
  { arbitrary: fc.record({ k: fc.constant('shutdown' as const), conn, side, how: fc.nat(2) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('close' as const), conn, side }), weight: 1 },
  {
    arbitrary: fc.record({
      k: fc.constant('sndbuf' as const),
      conn,
      side,
      val: fc.constantFrom(0, 3000, 10000, 100000),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ k: fc.constant('poll' as const), conn, side }), weight: 2 },
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function newEnd(fd: number): End {
  return { fd, sent: [], sentLen: 0, consumed: 0, closed: false, shutRd: false, shutWr: false, reset: false };
}

async function connections(t: Task): Promise<[End, End][]> {
  const [a, b] = t.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const l = t.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  t.bind(l, { family: AF_UNIX, path: '/tmp/srv' });
  t.listen(l, 1);
  const c = t.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  await t.connect(c, { family: AF_UNIX, path: '/tmp/srv' });
  const { fd: s } = await t.accept4(l, SOCK_NONBLOCK);
  t.close(l);
  return [
    [newEnd(a), newEnd(b)],
    [newEnd(c), newEnd(s)],
  ];
}

async function write(t: Task, fd: number, data: Uint8Array, how: number): Promise<number> {
  const mid = data.length >> 1;
  switch (how) {
    case 0:
      return t.write(fd, data);
    case 1:
      return t.send(fd, data, MSG_DONTWAIT);
    case 2:
      return t.writev(fd, [data.subarray(0, mid), data.subarray(mid)]);
    default:
      return t.sendmsg(fd, { iov: [data.subarray(0, 1), data.subarray(1)] }, MSG_DONTWAIT);
  }
}

async function read(t: Task, fd: number, buf: Uint8Array, flags: number, how: number): Promise<number> {
  // read(2)/readv(2) take no flags: use them only for plain reads.
  if (flags === 0 && how === 0) return t.read(fd, buf);
  if (flags === 0 && how === 1) return t.readv(fd, [buf.subarray(0, 3), buf.subarray(3)]);
  if (how === 2) return (await t.recvmsg(fd, { iov: [buf] }, flags | MSG_DONTWAIT)).n;
  return t.recv(fd, buf, flags | MSG_DONTWAIT);
}

async function runOps(ops: Op[]): Promise<void> {
  const world = new World({ seed: 5 });
  const t = world.addHost('h').spawn();
  const conns = await connections(t);
  let counter = 0;

  const rcvShut = (me: End, peer: End) => me.shutRd || peer.shutWr || peer.closed;
  const sndShut = (me: End, peer: End) => me.shutWr || peer.shutRd || peer.closed;
  const queued = (me: End, peer: End) => peer.sentLen - me.consumed;
  const expect = (peer: End, from: number, n: number) => concat(peer.sent).subarray(from, from + n);

  const doRead = async (me: End, peer: End, len: number, flags: number, how: number): Promise<void> => {
    const buf = new Uint8Array(len);
    const avail = queued(me, peer);
    const r = await attempt('read', ['EAGAIN', 'ECONNRESET'], () => read(t, me.fd, buf, flags, how));
    if (avail > 0) {
      assert.ok(r.ok, `a read with ${avail} bytes queued failed: ${!r.ok && r.code}`);
      assert.equal(r.value, Math.min(len, avail), 'a non-blocking read takes all it can');
      assert.deepEqual(buf.subarray(0, r.value), expect(peer, me.consumed, r.value), 'bytes arrive in order');
      if (!(flags & MSG_PEEK)) me.consumed += r.value;
      // A MSG_WAITALL read that runs dry short of its target meets the pending error, which
      // sock_error() clears while the read returns its bytes (Linux loses the ECONNRESET).
      if (flags & MSG_WAITALL && !(flags & MSG_PEEK) && len > avail) me.reset = false;
    } else if (me.reset) {
      assert.deepEqual(r, { ok: false, code: 'ECONNRESET' });
      me.reset = false;
    } else if (rcvShut(me, peer)) {
      assert.deepEqual(r, { ok: true, value: 0 }, 'end of file');
    } else {
      assert.deepEqual(r, { ok: false, code: 'EAGAIN' });
    }
  };

  for (const o of ops) {
    const pair = conns[o.conn];
    const me = pair[o.side];
    const peer = pair[1 - o.side];
    if (me.closed) continue;
    switch (o.k) {
      case 'write': {
        const data = payload(counter, o.len);
        counter += o.len;
        const inflight = queued(peer, me);
        const r = await attempt('write', ['EAGAIN', 'EPIPE'], () => write(t, me.fd, data, o.how));
        if (sndShut(me, peer)) {
          assert.deepEqual(r, { ok: false, code: 'EPIPE' });
        } else if (!r.ok) {
          assert.equal(r.code, 'EAGAIN');
          assert.ok(inflight > 0 && o.len > 0, 'EAGAIN only while earlier writes sit unread');
        } else {
          assert.ok(r.value <= o.len);
          if (r.value < o.len) assert.ok(r.value > 0 || inflight > 0, 'a short write only on a full buffer');
          me.sent.push(data.subarray(0, r.value));
          me.sentLen += r.value;
        }
        break;
      }
      case 'read':
        await doRead(
          me,
          peer,
          o.len,
          o.flags.reduce((m, f) => m | f, 0),
          o.how,
        );
        break;
      case 'shutdown':
        t.shutdown(me.fd, o.how);
        if (o.how !== 1) me.shutRd = true;
        if (o.how !== 0) me.shutWr = true;
        break;
      case 'close':
        t.close(me.fd);
        me.closed = true;
        if (queued(me, peer) > 0 && !peer.closed) peer.reset = true;
        break;
      case 'sndbuf':
        t.setsockopt(me.fd, SOL_SOCKET, SO_SNDBUF, o.val);
        break;
      case 'poll': {
        const pfd = { fd: me.fd, events: POLLIN | POLLRDHUP, revents: 0 };
        await t.poll([pfd], 0);
        const rd = rcvShut(me, peer);
        const hup = rd && sndShut(me, peer);
        let want = 0;
        if (queued(me, peer) > 0 || rd) want |= POLLIN;
        if (rd) want |= POLLRDHUP;
        if (hup) want |= POLLHUP;
        if (me.reset) want |= POLLERR;
        assert.equal(
          pfd.revents,
          want,
          `poll revents 0x${pfd.revents.toString(16)}, model 0x${want.toString(16)}`,
        );
        break;
      }
    }
  }

  // Drain: every open end gets the rest of what its peer wrote, exactly once, in order.
  for (const pair of conns) {
    for (const s of [0, 1]) {
      const me = pair[s];
      const peer = pair[1 - s];
      if (me.closed) continue;
      for (let guard = 0; queued(me, peer) > 0 && guard < 100; guard++) await doRead(me, peer, 65536, 0, 3);
      assert.equal(me.consumed, peer.sentLen, 'every byte written was read');
    }
  }
}

test('streams: no byte lost, duplicated or reordered; reads, writes and poll follow the model', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40, size: 'max' }), (ops) => runOps(ops)),
    { ...FC_PARAMS, numRuns: 200 },
  );
});
