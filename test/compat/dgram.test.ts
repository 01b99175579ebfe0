// node:dgram on a simulated host: echo across a link, connect/disconnect, broadcast on a switch,
// bind errors, close, IP fragmentation, loss; and the same small scenarios against the real
// node:dgram over 127.0.0.1, whose transcripts must match.

import test from 'node:test';
import assert from 'node:assert/strict';
import { once, type EventEmitter } from 'node:events';
import realDgram from 'node:dgram';
import { World, type Host } from '../../src/index.js';
import { Timer } from '../../src/kernel/time.js';
import { snmp_get } from '../../src/net/ipv4/snmp.js';
import type { LinkOptions } from '../../src/sim/link.js';
import { createDgram, type DgramSocket, type RemoteInfo } from '../../src/compat/node/dgram.js';

// ——— helpers ————————————————————————————————————————————————————————————————————

/** Two hosts on a link: a = 10.0.0.1/24, b = 10.0.0.2/24. */
function pair(seed = 1, opts?: LinkOptions): { w: World; a: Host; b: Host } {
  const w = new World({ seed });
  const a = w.addHost('a');
  const b = w.addHost('b');
  w.link(a, b, opts);
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  b.ip('ip addr add 10.0.0.2/24 dev eth0');
  return { w, a, b };
}

/** Resolve after `ms` of the world's (virtual) time. */
function sleep(w: World, ms: number): Promise<void> {
  return new Promise((resolve) => w.clock.mod_timer(new Timer(() => resolve()), w.clock.now() + ms * 1e6));
}

/** Wait for `event`, failing after `ms` of virtual time (a lost datagram must not hang a test). */
async function within<T extends unknown[]>(
  w: World,
  ms: number,
  em: EventEmitter,
  event: string,
): Promise<T> {
  const ac = new AbortController();
  const timer = new Timer(() => ac.abort());
  w.clock.mod_timer(timer, w.clock.now() + ms * 1e6);
  try {
    return (await once(em, event, { signal: ac.signal })) as T;
  } finally {
    w.clock.del_timer(timer);
  }
}

/** Collect every 'message' of a socket. */
function collect(s: DgramSocket): { msg: Buffer; rinfo: RemoteInfo }[] {
  const got: { msg: Buffer; rinfo: RemoteInfo }[] = [];
  s.on('message', (msg: Buffer, rinfo: RemoteInfo) => got.push({ msg, rinfo }));
  return got;
}

function sendP(s: DgramSocket, msg: Buffer | string, port: number, address: string): Promise<number> {
  return new Promise((resolve, reject) =>
    s.send(msg, port, address, (err, n) => (err ? reject(err) : resolve(n ?? -1))),
  );
}

async function listening(s: DgramSocket, port = 0, address?: string): Promise<number> {
  s.bind(port, address);
  await once(s, 'listening');
  return s.address().port;
}

/** A deterministic payload: seq in the first 4 bytes, then bytes derived from it. */
function payload(seq: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(seq, 0);
  for (let i = 4; i < size; i++) b[i] = (seq * 31 + i * 7) & 0xff;
  return b;
}

function intact(b: Buffer, size: number): boolean {
  return b.length === size && payload(b.readUInt32BE(0), size).equals(b);
}

// ——— between hosts ——————————————————————————————————————————————————————————————

test('echo between two hosts: listening, address(), message rinfo, send callback, implicit bind', async () => {
  const { w, a, b } = pair(1, { delay: '5ms' });
  try {
    const da = createDgram(a);
    const db = createDgram(b);
    const server = db.createSocket('udp4');
    const events: string[] = [];
    server.on('listening', () => events.push('listening'));
    server.bind(7, () => events.push('bind cb'));
    assert.deepEqual(events, [], "'listening' comes after bind() returns");
    await once(server, 'listening');
    assert.deepEqual(events, ['listening', 'bind cb']);
    assert.deepEqual(server.address(), { address: '0.0.0.0', family: 'IPv4', port: 7 });
    server.on('message', (msg: Buffer, rinfo: RemoteInfo) => server.send(msg, rinfo.port, rinfo.address));

    const client = da.createSocket('udp4');
    const got = collect(client);
    // Never bound: send() binds it to an ephemeral port first.
    const sent = await sendP(client, 'hello', 7, '10.0.0.2');
    assert.equal(sent, 5);
    const port = client.address().port;
    assert.ok(port >= 32768 && port <= 60999, `ephemeral port ${port}`);
    const [msg, rinfo] = await within<[Buffer, RemoteInfo]>(w, 1000, client, 'message');
    assert.equal(msg.toString(), 'hello');
    assert.deepEqual(rinfo, { address: '10.0.0.2', family: 'IPv4', port: 7, size: 5 });
    assert.ok(Buffer.isBuffer(msg));

    // Every message form: array of parts, Uint8Array, offset/length, empty.
    client.send(['ab', Buffer.from('cd'), new Uint8Array([0x65])], 7, '10.0.0.2');
    client.send(new Uint8Array([0x66, 0x67]), 7, '10.0.0.2');
    client.send(Buffer.from('xxhiyy'), 2, 2, 7, '10.0.0.2');
    client.send('', 7, '10.0.0.2');
    await sleep(w, 100);
    assert.deepEqual(
      got.map((g) => [g.msg.toString(), g.rinfo.size]),
      [
        ['hello', 5],
        ['abcde', 5],
        ['fg', 2],
        ['hi', 2],
        ['', 0],
      ],
    );
    // The host's view: the server's socket belongs to the "node" process.
    assert.match(b.ss('-uanp'), /0\.0\.0\.0:7 .*"node"/);
    client.close();
    server.close();
  } finally {
    w.stop();
  }
});

test('connect/disconnect: remoteAddress, send without address, peer filtering, ECONNREFUSED', async () => {
  const { w, a, b } = pair(2);
  try {
    const da = createDgram(a);
    const db = createDgram(b);
    const server = db.createSocket('udp4');
    const sgot = collect(server);
    await listening(server, 5000);
    const stranger = db.createSocket('udp4');
    await listening(stranger, 5001);

    const c = da.createSocket('udp4');
    const cgot = collect(c);
    assert.throws(() => c.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    assert.throws(() => c.disconnect(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    assert.throws(() => c.connect(0, '10.0.0.2'), { code: 'ERR_SOCKET_BAD_PORT', name: 'RangeError' });
    let connected = false;
    c.connect(5000, '10.0.0.2', () => (connected = true));
    assert.throws(() => c.connect(5000, '10.0.0.2'), { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' });
    await once(c, 'connect');
    assert.ok(connected);
    assert.deepEqual(c.remoteAddress(), { address: '10.0.0.2', family: 'IPv4', port: 5000 });
    assert.equal(c.address().address, '10.0.0.1', 'connect() chose the source address');
    // With a port given (Node reads send('x', 5000, addr) on a connected socket as (msg, callback)).
    assert.throws(() => c.send('x', 0, 1, 5000, '10.0.0.2'), { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' });
    const n = await new Promise<number>((res, rej) => c.send('one', (e, k) => (e ? rej(e) : res(k!))));
    assert.equal(n, 3);
    c.send(Buffer.from('xtwox'), 1, 3);
    await sleep(w, 10);
    assert.deepEqual(
      sgot.map((g) => g.msg.toString()),
      ['one', 'two'],
    );
    const cport = c.address().port;
    // A connected socket hears only its peer.
    stranger.send('from stranger', cport, '10.0.0.1');
    server.send('from peer', cport, '10.0.0.1');
    await sleep(w, 10);
    assert.deepEqual(
      cgot.map((g) => g.msg.toString()),
      ['from peer'],
    );

    c.disconnect();
    assert.throws(() => c.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    // connect() bound it to port 0, which Linux does not hold on to: udp_disconnect() lets the
    // port go (real node:dgram shows the same 0.0.0.0:0), and the next send picks a new one.
    assert.deepEqual(c.address(), { address: '0.0.0.0', family: 'IPv4', port: 0 });
    await sendP(c, 'unconnected', 5001, '10.0.0.2');
    const cport2 = c.address().port;
    assert.ok(cport2 > 0);
    stranger.send('stranger again', cport2, '10.0.0.1');
    await sleep(w, 10);
    assert.equal(cgot.at(-1)?.msg.toString(), 'stranger again', 'after disconnect anyone is heard');

    // Bound to a port of its own, the socket keeps it across connect and disconnect.
    const e = da.createSocket('udp4');
    const egot = collect(e);
    await listening(e, 5555);
    e.connect(5000, '10.0.0.2');
    await once(e, 'connect');
    e.disconnect();
    assert.deepEqual(e.address(), { address: '0.0.0.0', family: 'IPv4', port: 5555 });
    stranger.send('kept', 5555, '10.0.0.1');
    await sleep(w, 10);
    assert.deepEqual(
      egot.map((g) => g.msg.toString()),
      ['kept'],
    );
    e.close();

    // Connected to a port nobody listens on: the ICMP port unreachable is an 'error' from recvmsg.
    const d = da.createSocket('udp4');
    d.connect(9999, '10.0.0.2');
    await once(d, 'connect');
    const sendErr: (Error | null)[] = [];
    d.send('anyone?', (e) => sendErr.push(e));
    const [err] = await within<[NodeJS.ErrnoException]>(w, 1000, d, 'error');
    assert.deepEqual(sendErr, [null]);
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.errno, -111);
    assert.equal(err.syscall, 'recvmsg');
    assert.equal(err.message, 'recvmsg ECONNREFUSED');
    for (const s of [server, stranger, c, d]) s.close();
  } finally {
    w.stop();
  }
});

test('broadcast on a switch: EACCES until setBroadcast(true), then every host hears it', async () => {
  const w = new World({ seed: 3 });
  try {
    const hosts = ['h1', 'h2', 'h3'].map((n) => w.addHost(n));
    w.bridge('sw', hosts, { delay: '1ms' });
    hosts.forEach((h, i) => h.ip(`ip addr add 10.0.0.${i + 1}/24 dev eth0`));
    const socks = hosts.map((h) => createDgram(h).createSocket({ type: 'udp4', reuseAddr: true }));
    const got = socks.map(collect);
    for (const s of socks) await listening(s, 5353);

    const sender = createDgram(hosts[0]).createSocket('udp4');
    assert.throws(() => sender.setBroadcast(true), { code: 'EBADF', syscall: 'setBroadcast', errno: -9 });
    await listening(sender);
    const err = await sendP(sender, 'x', 5353, '10.0.0.255').then(
      () => null,
      (e: NodeJS.ErrnoException) => e,
    );
    assert.ok(err);
    assert.equal(err.code, 'EACCES');
    assert.equal(err.syscall, 'send');
    assert.equal(err.message, 'send EACCES 10.0.0.255:5353');
    assert.equal((err as NodeJS.ErrnoException & { address: string }).address, '10.0.0.255');

    sender.setBroadcast(true);
    assert.equal(await sendP(sender, 'to all', 5353, '10.0.0.255'), 6);
    await sleep(w, 50);
    const from = sender.address().port;
    for (const g of got) {
      assert.equal(g.length, 1);
      assert.equal(g[0].msg.toString(), 'to all');
      assert.deepEqual(g[0].rinfo, { address: '10.0.0.1', family: 'IPv4', port: from, size: 6 });
    }
    for (const s of [...socks, sender]) s.close();
  } finally {
    w.stop();
  }
});

test('bind errors: EADDRINUSE and EADDRNOTAVAIL as Node reports them; reuseAddr shares a port', async () => {
  const { w, a } = pair(4);
  try {
    const dgram = createDgram(a);
    const s1 = dgram.createSocket('udp4');
    await listening(s1, 4000);
    assert.throws(() => s1.bind(4001), {
      code: 'ERR_SOCKET_ALREADY_BOUND',
      message: 'Socket is already bound',
    });

    const s2 = dgram.createSocket('udp4');
    let cbCalled = false;
    s2.bind(4000, () => (cbCalled = true));
    const [err] = await within<[NodeJS.ErrnoException & { address: string; port: number }]>(
      w,
      100,
      s2,
      'error',
    );
    assert.equal(err.code, 'EADDRINUSE');
    assert.equal(err.errno, -98);
    assert.equal(err.syscall, 'bind');
    assert.equal(err.message, 'bind EADDRINUSE 0.0.0.0:4000');
    assert.equal(err.address, '0.0.0.0');
    assert.equal(err.port, 4000);
    assert.deepEqual(Object.keys(err), ['errno', 'code', 'syscall', 'address', 'port']);
    // The socket may try again.
    assert.equal(await listening(s2, 4002), 4002);
    assert.equal(cbCalled, false, 'the callback of the failed bind stays unused');

    const s3 = dgram.createSocket('udp4');
    s3.bind(0, '10.9.9.9');
    const [e3] = await within<[NodeJS.ErrnoException]>(w, 100, s3, 'error');
    assert.equal(e3.code, 'EADDRNOTAVAIL');
    assert.equal(e3.message, 'bind EADDRNOTAVAIL 10.9.9.9');

    const s4 = dgram.createSocket('udp4');
    s4.bind(0, 'no.such.host');
    const [e4] = await within<[NodeJS.ErrnoException & { hostname: string }]>(w, 100, s4, 'error');
    assert.equal(e4.code, 'ENOTFOUND');
    assert.equal(e4.syscall, 'getaddrinfo');
    assert.equal(e4.hostname, 'no.such.host');

    const r1 = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const r2 = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    assert.equal(await listening(r1, 4100), 4100);
    assert.equal(await listening(r2, 4100), 4100);
    for (const s of [s1, s2, s3, s4, r1, r2]) s.close();
  } finally {
    w.stop();
  }
});

test('close: one close event, callback, NOT_RUNNING afterwards, port freed, nothing emitted late', async () => {
  const { w, a, b } = pair(5, { delay: '10ms' });
  try {
    const da = createDgram(a);
    const db = createDgram(b);
    const s = db.createSocket('udp4');
    const got = collect(s);
    await listening(s, 6000);
    const c = da.createSocket('udp4');
    // In flight while the receiver closes: never emitted.
    c.send('late', 6000, '10.0.0.2');
    const closes: string[] = [];
    s.on('close', () => closes.push('event'));
    s.close(() => closes.push('cb'));
    assert.deepEqual(closes, [], "'close' comes after close() returns");
    assert.throws(() => s.close(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING', message: 'Not running' });
    assert.throws(() => s.send('x', 1, '10.0.0.1'), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    assert.throws(() => s.address(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    assert.throws(() => s.bind(1), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    await sleep(w, 50);
    assert.deepEqual(closes, ['event', 'cb']);
    assert.deepEqual(got, []);
    assert.doesNotMatch(b.ss('-uanp'), /:6000 /);

    // The port is free again.
    const s2 = db.createSocket('udp4');
    assert.equal(await listening(s2, 6000), 6000);

    // Closed while binding: gone before it listens.
    const s3 = db.createSocket('udp4');
    const ev: string[] = [];
    s3.on('listening', () => ev.push('listening'));
    s3.on('close', () => ev.push('close'));
    s3.bind(6001);
    s3.close();
    await sleep(w, 10);
    assert.deepEqual(ev, ['close']);
    assert.doesNotMatch(b.ss('-uanp'), /:6001 /);

    // A send that bound the socket queues the close behind 'listening'; the send itself, still
    // resolving its address when the close runs, is dropped without a callback (as in Node).
    const s5 = db.createSocket('udp4');
    const ev5: string[] = [];
    const got2 = collect(s2);
    s5.on('listening', () => ev5.push('listening'));
    s5.on('close', () => ev5.push('close'));
    s5.send('queued', 6000, '10.0.0.2', () => ev5.push('send cb'));
    s5.close();
    await sleep(w, 10);
    assert.deepEqual(ev5, ['listening', 'close']);
    assert.deepEqual(got2, []);

    // Never bound: closes at once.
    const s4 = db.createSocket('udp4');
    s4.close();
    await once(s4, 'close');
    for (const x of [c, s2]) x.close();
  } finally {
    w.stop();
  }
});

test('large datagrams cross a 1500-byte link as IP fragments, intact; 65508 bytes is EMSGSIZE', async () => {
  const { w, a, b } = pair(6, { delay: '2ms' });
  try {
    const server = createDgram(b).createSocket('udp4');
    const got = collect(server);
    await listening(server, 7000);
    const c = createDgram(a).createSocket('udp4');
    const sizes = [1472, 1473, 3000, 20000, 65507];
    for (const [i, n] of sizes.entries()) assert.equal(await sendP(c, payload(i, n), 7000, '10.0.0.2'), n);
    const err = await sendP(c, Buffer.alloc(65508), 7000, '10.0.0.2').then(
      () => null,
      (e: NodeJS.ErrnoException) => e,
    );
    assert.equal(err?.code, 'EMSGSIZE');
    assert.equal(err?.errno, -90);
    assert.equal(err?.message, 'send EMSGSIZE 10.0.0.2:7000');
    await sleep(w, 100);
    assert.deepEqual(
      got.map((g) => g.rinfo.size),
      sizes,
    );
    for (const [i, g] of got.entries()) {
      assert.ok(intact(g.msg, sizes[i]), `datagram ${i} intact`);
      assert.equal(g.msg.readUInt32BE(0), i);
    }
    // 1473…65507 needed fragments: 2 + 3 + 14 + 45 of them.
    assert.equal(snmp_get(a.netns, 'Ip', 'FragCreates'), 2 + 3 + 14 + 45);
    assert.equal(snmp_get(b.netns, 'Ip', 'ReasmOKs'), 4);
    c.close();
    server.close();
  } finally {
    w.stop();
  }
});

test('loss on the link: datagrams go missing whole, never corrupted, duplicated or reordered', async () => {
  const { w, a, b } = pair(7, { delay: '3ms', loss: 0.2 });
  try {
    const server = createDgram(b).createSocket('udp4');
    const got = collect(server);
    await listening(server, 8000);
    const c = createDgram(a).createSocket('udp4');
    await listening(c);
    const count = 300;
    // Small ones fit a frame; every fifth needs three fragments, all of which must arrive.
    const sizeOf = (i: number): number => (i % 5 === 0 ? 4000 : 100 + (i % 50));
    for (let i = 0; i < count; i++) {
      c.send(payload(i, sizeOf(i)), 8000, '10.0.0.2');
      await sleep(w, 1);
    }
    await sleep(w, 40_000); // past the reassembly timeout of the incomplete ones
    const seqs = got.map((g) => g.msg.readUInt32BE(0));
    for (const g of got) assert.ok(intact(g.msg, sizeOf(g.msg.readUInt32BE(0))), 'never corrupted');
    assert.deepEqual(
      seqs,
      [...new Set(seqs)].sort((x, y) => x - y),
      'in order, once each',
    );
    assert.ok(got.length > count * 0.6 && got.length < count * 0.9, `received ${got.length} of ${count}`);
    const bigSent = Array.from({ length: count }, (_, i) => i).filter((i) => sizeOf(i) === 4000).length;
    const bigGot = seqs.filter((s) => sizeOf(s) === 4000).length;
    // A fragmented datagram survives only if all three fragments do (≈ 0.8³).
    assert.ok(bigGot < bigSent * 0.75, `big ones received ${bigGot} of ${bigSent}`);
    c.close();
    server.close();
  } finally {
    w.stop();
  }
});

test('socket options: buffer sizes (doubled, as Linux reports), TTL checks, ref/unref', async () => {
  const { w, a } = pair(8);
  try {
    const dgram = createDgram(a);
    const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 100000, sendBufferSize: 50000 });
    assert.throws(() => s.getRecvBufferSize(), {
      code: 'ERR_SOCKET_BUFFER_SIZE',
      message: 'Could not get or set buffer size: uv_recv_buffer_size returned EBADF (bad file descriptor)',
    });
    assert.throws(() => s.setTTL(64), { code: 'EBADF', syscall: 'setTTL' });
    await listening(s);
    assert.equal(s.getRecvBufferSize(), 200000);
    assert.equal(s.getSendBufferSize(), 100000);
    s.setRecvBufferSize(150000);
    assert.equal(s.getRecvBufferSize(), 300000);
    // Beyond net.core.rmem_max (212992) the kernel caps it, as Linux does.
    s.setRecvBufferSize(300000);
    assert.equal(s.getRecvBufferSize(), 2 * 212992);
    assert.throws(() => s.setRecvBufferSize(-1), { code: 'ERR_SOCKET_BAD_BUFFER_SIZE' });
    assert.equal(s.setTTL(64), 64);
    assert.throws(() => s.setTTL(0), {
      code: 'EINVAL',
      errno: -22,
      syscall: 'setTTL',
      message: 'setTTL EINVAL',
    });
    assert.equal(s.ref(), s);
    assert.equal(s.unref(), s);
    assert.throws(() => dgram.createSocket('udp5' as 'udp4'), {
      code: 'ERR_SOCKET_BAD_TYPE',
      name: 'TypeError',
    });
    assert.throws(() => s.send('x', 0, '10.0.0.1'), { code: 'ERR_SOCKET_BAD_PORT' });
    s.close();
  } finally {
    w.stop();
  }
});

// ——— against the real node:dgram —————————————————————————————————————————————————

interface Env {
  dgram: { createSocket(type: 'udp4'): EventEmitter };
  /** Wait for an event, or give up after `ms`. */
  wait<T extends unknown[]>(em: EventEmitter, event: string, ms: number): Promise<T | 'timeout'>;
}

// The real module and ours are driven through one loose interface.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Sock = any;

function errShape(e: any): Record<string, unknown> {
  return {
    name: e.name,
    code: e.code,
    errno: e.errno,
    syscall: e.syscall,
    message: String(e.message).replace(/:\d+$/, ':PORT'),
    keys: Object.keys(e).sort(),
  };
}

async function bound(env: Env, s: Sock): Promise<number> {
  s.bind(0, '127.0.0.1');
  await env.wait(s, 'listening', 2000);
  return s.address().port;
}

/** One transcript of the behaviours compared. */
async function transcript(env: Env): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  // Double bind.
  const s1: Sock = env.dgram.createSocket('udp4');
  const p1 = await bound(env, s1);
  const s2: Sock = env.dgram.createSocket('udp4');
  s2.bind(p1, '127.0.0.1');
  const r = await env.wait<[any]>(s2, 'error', 2000);
  out.doubleBind = r === 'timeout' ? r : { ...errShape(r[0]), portMatches: r[0].port === p1 };
  s2.close();

  // rinfo shape, and a list of parts.
  const s3: Sock = env.dgram.createSocket('udp4');
  const p3 = await bound(env, s3);
  const m = env.wait<[Buffer, any]>(s3, 'message', 2000);
  const cb: unknown[] = [];
  s1.send(['ab', Buffer.from('c')], p3, '127.0.0.1', (e: unknown, n: number) => cb.push(e, n));
  const msg = await m;
  out.message =
    msg === 'timeout'
      ? msg
      : {
          text: msg[0].toString(),
          isBuffer: Buffer.isBuffer(msg[0]),
          rinfo: { ...msg[1], port: msg[1].port === p1 },
          keys: Object.keys(msg[1]),
        };
  out.sendCallback = cb;

  // To a port nobody listens on, unconnected: silent.
  const dead: Sock = env.dgram.createSocket('udp4');
  const deadPort = await bound(env, dead);
  dead.close();
  const errors: unknown[] = [];
  s1.on('error', (e: unknown) => errors.push(errShape(e)));
  const cb2: unknown[] = [];
  s1.send('x', deadPort, '127.0.0.1', (e: unknown, n: number) => cb2.push(e, n));
  const m2 = env.wait<[Buffer, any]>(s3, 'message', 2000);
  s1.send('after', p3, '127.0.0.1');
  const after = await m2;
  out.deadPortUnconnected = {
    cb: cb2,
    errors: [...errors],
    next: after === 'timeout' ? after : after[0].toString(),
  };

  // Connected to it: the ICMP error comes back as an 'error' from recvmsg.
  const c: Sock = env.dgram.createSocket('udp4');
  c.connect(deadPort, '127.0.0.1');
  await env.wait(c, 'connect', 2000);
  const cb3: unknown[] = [];
  c.send('y', (e: unknown, n: number) => cb3.push(e, n));
  const ce = await env.wait<[any]>(c, 'error', 2000);
  out.deadPortConnected = { cb: cb3, error: ce === 'timeout' ? ce : errShape(ce[0]) };
  c.close();

  // Closed right after bind(), and right after a send() that bound the socket.
  const events = (s: Sock): string[] => {
    const ev: string[] = [];
    for (const e of ['listening', 'close', 'error']) s.on(e, () => ev.push(e));
    return ev;
  };
  const b1: Sock = env.dgram.createSocket('udp4');
  const ev1 = events(b1);
  b1.bind(0);
  b1.close();
  await env.wait(b1, 'close', 2000);
  const b2: Sock = env.dgram.createSocket('udp4');
  const ev2 = events(b2);
  const m3 = env.wait<[Buffer, any]>(s3, 'message', 2000);
  b2.send('queued', p3, '127.0.0.1', () => ev2.push('send cb'));
  b2.close();
  await env.wait(b2, 'close', 2000);
  s1.send('marker', p3, '127.0.0.1');
  const first = await m3;
  out.closeWhileBinding = { bind: ev1, send: ev2, next: first === 'timeout' ? first : first[0].toString() };

  // disconnect() of a socket connect() bound.
  const dc: Sock = env.dgram.createSocket('udp4');
  dc.connect(p3, '127.0.0.1');
  await env.wait(dc, 'connect', 2000);
  const connectedAddr = { ...dc.address(), port: typeof dc.address().port };
  dc.disconnect();
  out.disconnect = { connectedAddr, after: dc.address() };
  dc.close();

  // After close.
  s3.close();
  const thrown = (f: () => void): unknown => {
    try {
      f();
      return 'no throw';
    } catch (e) {
      return errShape(e);
    }
  };
  out.sendAfterClose = thrown(() => s3.send('z', p1, '127.0.0.1'));
  out.closeTwice = thrown(() => s3.close());
  out.addressAfterClose = thrown(() => s3.address());
  out.unboundAddress = thrown(() => (env.dgram.createSocket('udp4') as Sock).address());
  out.alreadyBound = thrown(() => s1.bind(0));
  await env.wait(s3, 'close', 2000);
  s1.close();
  await env.wait(s1, 'close', 2000);
  return out;
}

test('the simulated module and the real node:dgram give the same transcript over 127.0.0.1', async () => {
  const real = await transcript({
    dgram: realDgram as unknown as Env['dgram'],
    async wait(em, event, ms) {
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), ms);
      try {
        return (await once(em, event, { signal: ac.signal })) as any;
      } catch {
        return 'timeout';
      } finally {
        clearTimeout(t);
      }
    },
  });
  const w = new World({ seed: 9 });
  try {
    const h = w.addHost('h');
    const sim = await transcript({
      dgram: createDgram(h) as unknown as Env['dgram'],
      async wait(em, event, ms) {
        try {
          return (await within(w, ms, em, event)) as any;
        } catch {
          return 'timeout';
        }
      },
    });
    assert.deepEqual(sim, real);
    if (process.env.DGRAM_TRANSCRIPT) console.log(JSON.stringify(real, null, 1));
    // A sanity check that the transcript holds what it should.
    assert.equal((real.doubleBind as any).code, 'EADDRINUSE');
    assert.equal((real.deadPortConnected as any).error.code, 'ECONNREFUSED');
    assert.equal((real.sendAfterClose as any).code, 'ERR_SOCKET_DGRAM_NOT_RUNNING');
  } finally {
    w.stop();
  }
});
