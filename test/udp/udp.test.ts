import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, SyscallError } from '../../src/index.js';
import * as S from '../../src/uapi/socket.js';
import * as I from '../../src/uapi/in.js';
import { POLLERR } from '../../src/uapi/poll.js';
import { decodeSockExtendedErr, decodeInPktinfo, type SockaddrIn } from '../../src/uapi/in.js';
import { host, sin, settle, twoHosts, mib, enc, dec, recvText, pattern, runFor } from './helpers.js';

const { AF_INET, SOCK_DGRAM, SOCK_RAW, MSG_DONTWAIT, MSG_TRUNC, SOL_SOCKET } = S;

function code(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    return e instanceof SyscallError ? e.code : String(e);
  }
}

async function acode(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    return e instanceof SyscallError ? e.code : String(e);
  }
}

test('loopback: a datagram arrives whole with its source address', async () => {
  const w = new World({ seed: 3 });
  const h = host(w, 'h');
  const t = h.spawn();
  const r = t.socket(AF_INET, SOCK_DGRAM);
  t.bind(r, sin('127.0.0.1', 5000));
  const s = t.socket(AF_INET, SOCK_DGRAM);
  assert.equal(await t.sendto(s, enc('hello'), 0, sin('127.0.0.1', 5000)), 5);
  const me = t.getsockname(s) as SockaddrIn;
  assert.ok(me.port >= 32768 && me.port <= 60999, `ephemeral port ${me.port} in ip_local_port_range`);
  await settle(w);
  assert.deepEqual(await recvText(t, r), { text: 'hello', from: `127.0.0.1:${me.port}` });
  assert.equal(await recvText(t, r), 'EAGAIN');
  assert.equal(mib(h, 'Udp', 'OutDatagrams'), 1);
  assert.equal(mib(h, 'Udp', 'InDatagrams'), 1);
});

test('ephemeral ports come from the world seed: same seed, same port', () => {
  const ports = [1, 1, 2].map((seed) => {
    const w = new World({ seed });
    const t = host(w, 'h').spawn();
    const s = t.socket(AF_INET, SOCK_DGRAM);
    t.bind(s, sin('0.0.0.0', 0));
    return (t.getsockname(s) as SockaddrIn).port;
  });
  assert.equal(ports[0], ports[1]);
  assert.notEqual(ports[0], ports[2]);
});

test('bind: conflicts, SO_REUSEADDR, SO_REUSEPORT owners, privileged ports', () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  const root = h.spawn();
  const a = root.socket(AF_INET, SOCK_DGRAM);
  root.bind(a, sin('0.0.0.0', 6000));
  const b = root.socket(AF_INET, SOCK_DGRAM);
  assert.equal(
    code(() => root.bind(b, sin('127.0.0.1', 6000))),
    'EADDRINUSE',
  );
  assert.equal(
    code(() => root.bind(b, sin('10.0.0.1', 6001))),
    'EADDRNOTAVAIL',
  );
  // Both must ask for address reuse.
  const c = root.socket(AF_INET, SOCK_DGRAM);
  const d = root.socket(AF_INET, SOCK_DGRAM);
  root.setsockopt(c, SOL_SOCKET, S.SO_REUSEADDR, 1);
  root.setsockopt(d, SOL_SOCKET, S.SO_REUSEADDR, 1);
  root.bind(c, sin('127.0.0.1', 6002));
  root.bind(d, sin('127.0.0.1', 6002));
  // SO_REUSEPORT groups only sockets of the same owner.
  const user = h.spawn({ uid: 1000 });
  const e = root.socket(AF_INET, SOCK_DGRAM);
  root.setsockopt(e, SOL_SOCKET, S.SO_REUSEPORT, 1);
  root.bind(e, sin('127.0.0.1', 6003));
  const f = user.socket(AF_INET, SOCK_DGRAM);
  user.setsockopt(f, SOL_SOCKET, S.SO_REUSEPORT, 1);
  assert.equal(
    code(() => user.bind(f, sin('127.0.0.1', 6003))),
    'EADDRINUSE',
  );
  const g = root.socket(AF_INET, SOCK_DGRAM);
  root.setsockopt(g, SOL_SOCKET, S.SO_REUSEPORT, 1);
  root.bind(g, sin('127.0.0.1', 6003));
  // Ports below ip_unprivileged_port_start need CAP_NET_BIND_SERVICE.
  assert.equal(
    code(() => user.bind(f, sin('127.0.0.1', 53))),
    'EACCES',
  );
  user.bind(f, sin('127.0.0.1', 1024));
  const k = root.socket(AF_INET, SOCK_DGRAM);
  root.bind(k, sin('127.0.0.1', 53));
});

test('SO_REUSEPORT spreads flows over the group by flow hash, the same way for the same seed', async () => {
  async function run(seed: number): Promise<number[][]> {
    const w = new World({ seed });
    const h = host(w, 'h');
    const t = h.spawn();
    const group: number[] = [];
    for (let i = 0; i < 4; i++) {
      const s = t.socket(AF_INET, SOCK_DGRAM);
      t.setsockopt(s, SOL_SOCKET, S.SO_REUSEPORT, 1);
      t.bind(s, sin('127.0.0.1', 7000));
      group.push(s);
    }
    const senders: number[] = [];
    for (let i = 0; i < 64; i++) senders.push(t.socket(AF_INET, SOCK_DGRAM));
    // Every sender twice: a flow always lands on the same member.
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < senders.length; i++)
        await t.sendto(senders[i], enc(String(i)), 0, sin('127.0.0.1', 7000));
    await settle(w);
    const got: number[][] = group.map(() => []);
    for (let g = 0; g < group.length; g++)
      for (;;) {
        const r = await recvText(t, group[g]);
        if (typeof r === 'string') break;
        got[g].push(Number(r.text));
      }
    return got;
  }
  const a = await run(11);
  assert.equal(a.flat().length, 128);
  for (const members of a) {
    assert.ok(members.length > 0, 'every member of the group gets flows');
    // Both datagrams of a flow went to the same socket.
    for (const f of new Set(members)) assert.equal(members.filter((x) => x === f).length, 2);
  }
  assert.deepEqual(await run(11), a);
});

test('a full receive buffer drops datagrams and counts RcvbufErrors, InErrors and drops', async () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  const t = h.spawn();
  const r = t.socket(AF_INET, SOCK_DGRAM);
  t.bind(r, sin('127.0.0.1', 5000));
  t.setsockopt(r, SOL_SOCKET, S.SO_RCVBUF, 0);
  const s = t.socket(AF_INET, SOCK_DGRAM);
  for (let i = 0; i < 10; i++) await t.sendto(s, enc('x'), 0, sin('127.0.0.1', 5000));
  await settle(w);
  let n = 0;
  while (typeof (await recvText(t, r)) !== 'string') n++;
  // SOCK_MIN_RCVBUF (2304) holds two 1-byte datagrams (832 bytes of truesize each).
  assert.equal(n, 2);
  assert.equal(mib(h, 'Udp', 'RcvbufErrors'), 8);
  assert.equal(mib(h, 'Udp', 'InErrors'), 8);
  const line = h
    .procNetUdp()
    .split('\n')
    .find((l) => l.includes(':1388 '))!;
  assert.equal(line.trim().split(/\s+/).at(-1), '8');
});

test('no socket on the port: NoPorts counted', async () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  const t = h.spawn();
  const s = t.socket(AF_INET, SOCK_DGRAM);
  await t.sendto(s, enc('nobody'), 0, sin('127.0.0.1', 5999));
  await settle(w);
  assert.equal(mib(h, 'Udp', 'NoPorts'), 1);
});

/** An IPv4 + UDP packet for a raw IPPROTO_RAW socket, saddr left 0 for the kernel to fill. */
function udpPacket(
  dport: number,
  payload: Uint8Array,
  opts: { check?: number; ulen?: number } = {},
): Uint8Array {
  const b = new Uint8Array(28 + payload.length);
  b[0] = 0x45;
  b[8] = 64;
  b[9] = 17;
  b.set([127, 0, 0, 1], 16);
  b[20] = 0x11;
  b[21] = 0x5c;
  b[22] = dport >> 8;
  b[23] = dport & 0xff;
  const ulen = opts.ulen ?? 8 + payload.length;
  b[24] = ulen >> 8;
  b[25] = ulen & 0xff;
  const c = opts.check ?? 0;
  b[26] = c >> 8;
  b[27] = c & 0xff;
  b.set(payload, 28);
  return b;
}

test('received datagrams are checked: zero checksum accepted, bad checksum and bad length counted', async () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  const t = h.spawn();
  const r = t.socket(AF_INET, SOCK_DGRAM);
  t.bind(r, sin('127.0.0.1', 5000));
  const raw = t.socket(AF_INET, SOCK_RAW, I.IPPROTO_RAW);
  const to = sin('127.0.0.1', 0);
  await t.sendto(raw, udpPacket(5000, enc('nocsum')), 0, to);
  await t.sendto(raw, udpPacket(5000, enc('badcsum'), { check: 0x1234 }), 0, to);
  await t.sendto(raw, udpPacket(5000, enc('long'), { ulen: 40 }), 0, to);
  await t.sendto(raw, udpPacket(5000, enc('short'), { ulen: 7 }), 0, to);
  await settle(w);
  assert.deepEqual(await recvText(t, r), { text: 'nocsum', from: '127.0.0.1:4444' });
  assert.equal(await recvText(t, r), 'EAGAIN');
  assert.equal(mib(h, 'Udp', 'InCsumErrors'), 1);
  assert.equal(mib(h, 'Udp', 'InErrors'), 3);
  assert.equal(mib(h, 'Udp', 'InDatagrams'), 1);
});

test('sizes: 65507 bytes is the largest datagram; MSG_TRUNC reports the real length', async () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  const t = h.spawn();
  const r = t.socket(AF_INET, SOCK_DGRAM);
  t.bind(r, sin('127.0.0.1', 5000));
  const s = t.socket(AF_INET, SOCK_DGRAM);
  const big = pattern(65507);
  assert.equal(await t.sendto(s, big, 0, sin('127.0.0.1', 5000)), 65507);
  assert.equal(await acode(t.sendto(s, new Uint8Array(65508), 0, sin('127.0.0.1', 5000))), 'EMSGSIZE');
  assert.equal(await acode(t.sendto(s, new Uint8Array(65536), 0, sin('127.0.0.1', 5000))), 'EMSGSIZE');
  await settle(w);
  const small = new Uint8Array(100);
  const m = await t.recvmsg(r, { iov: [small] }, MSG_DONTWAIT | MSG_TRUNC);
  assert.equal(m.n, 65507);
  assert.ok(m.flags & MSG_TRUNC);
  assert.deepEqual(small, big.subarray(0, 100));
});

test('IP_RECVERR: a local EMSGSIZE is queued with its destination and the MTU', async () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  const t = h.spawn();
  const s = t.socket(AF_INET, SOCK_DGRAM);
  t.setsockopt(s, S.SOL_IP, I.IP_RECVERR, 1);
  assert.equal(await acode(t.sendto(s, new Uint8Array(65508), 0, sin('127.0.0.1', 5000))), 'EMSGSIZE');
  const pfd = [{ fd: s, events: 0, revents: 0 }];
  await t.poll(pfd, 0);
  assert.equal(pfd[0].revents, POLLERR);
  const m = await t.recvmsg(s, { iov: [new Uint8Array(16)], controllen: 128 }, S.MSG_ERRQUEUE | MSG_DONTWAIT);
  assert.ok(m.flags & S.MSG_ERRQUEUE);
  // ip_local_error() names the connected peer's port: none here.
  assert.deepEqual(m.addr, { family: AF_INET, addr: '127.0.0.1', port: 0, addrlen: 16 });
  const c = m.control.find((x) => x.level === S.SOL_IP && x.type === I.IP_RECVERR)!;
  const ee = decodeSockExtendedErr(c.data!);
  assert.equal(ee.ee_errno, 90);
  assert.equal(ee.ee_origin, I.SO_EE_ORIGIN_LOCAL);
  assert.equal(ee.ee_info, 65535);
  assert.equal(
    await acode(t.recvmsg(s, { iov: [new Uint8Array(16)] }, S.MSG_ERRQUEUE | MSG_DONTWAIT)),
    'EAGAIN',
  );
});

test('a blocking recv sleeps until a datagram comes; SO_RCVTIMEO runs out in virtual time', async () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  const t = h.spawn();
  const r = t.socket(AF_INET, SOCK_DGRAM);
  t.bind(r, sin('127.0.0.1', 5000));
  const buf = new Uint8Array(16);
  const p = t.recv(r, buf);
  const s = t.socket(AF_INET, SOCK_DGRAM);
  await t.sendto(s, enc('wake'), 0, sin('127.0.0.1', 5000));
  assert.equal(await p, 4);
  assert.equal(dec(buf.subarray(0, 4)), 'wake');
  t.setsockopt(r, SOL_SOCKET, S.SO_RCVTIMEO, { tv_sec: 2, tv_usec: 0 });
  const t0 = w.now();
  assert.equal(await acode(t.recv(r, buf)), 'EAGAIN');
  assert.equal(w.now() - t0, 2000);
});

test('connect: the peer filters what arrives; AF_UNSPEC dissolves it and frees an automatic port', async () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  const t = h.spawn();
  const a = t.socket(AF_INET, SOCK_DGRAM);
  t.bind(a, sin('127.0.0.1', 5001));
  const peer = t.socket(AF_INET, SOCK_DGRAM);
  t.bind(peer, sin('127.0.0.1', 5002));
  const other = t.socket(AF_INET, SOCK_DGRAM);
  await t.connect(a, sin('127.0.0.1', 5002));
  assert.deepEqual(t.getpeername(a), { family: AF_INET, addr: '127.0.0.1', port: 5002, addrlen: 16 });
  await t.sendto(other, enc('stranger'), 0, sin('127.0.0.1', 5001));
  await t.sendto(peer, enc('peer'), 0, sin('127.0.0.1', 5001));
  await settle(w);
  assert.deepEqual(await recvText(t, a), { text: 'peer', from: '127.0.0.1:5002' });
  assert.equal(await recvText(t, a), 'EAGAIN');
  const c = t.socket(AF_INET, SOCK_DGRAM);
  await t.connect(c, sin('127.0.0.1', 5002));
  assert.notEqual((t.getsockname(c) as SockaddrIn).port, 0);
  await t.connect(c, { family: S.AF_UNSPEC, bytes: new Uint8Array(14) });
  assert.equal(
    code(() => t.getpeername(c)),
    'ENOTCONN',
  );
  assert.deepEqual(t.getsockname(c), { family: AF_INET, addr: '0.0.0.0', port: 0, addrlen: 16 });
});

test('/proc/net/udp and the ss view show bound and connected sockets', async () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  const t = h.spawn({ uid: 1000 });
  const r = t.socket(AF_INET, SOCK_DGRAM);
  t.bind(r, sin('127.0.0.1', 5000));
  const s = t.socket(AF_INET, SOCK_DGRAM);
  t.bind(s, sin('127.0.0.1', 5001));
  await t.connect(s, sin('127.0.0.1', 5000));
  await t.send(s, enc('hello'));
  await settle(w);
  const lines = h.procNetUdp().split('\n');
  assert.equal(
    lines[0],
    '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops'.padEnd(
      127,
    ),
  );
  assert.ok(lines.every((l) => l === '' || l.length === 127));
  const bound = lines
    .find((l) => l.includes('0100007F:1388'))!
    .trim()
    .split(/\s+/);
  assert.deepEqual(bound.slice(1, 5), ['0100007F:1388', '00000000:0000', '07', '00000000:00000340']);
  assert.equal(bound[7], '1000');
  const conn = lines
    .find((l) => l.includes('0100007F:1389'))!
    .trim()
    .split(/\s+/);
  assert.deepEqual(conn.slice(1, 4), ['0100007F:1389', '0100007F:1388', '01']);
  const ss = h.ssUdp();
  assert.match(ss, /UNCONN\s+832\s+0\s+127\.0\.0\.1:5000\s+0\.0\.0\.0:\*/);
  assert.match(ss, /ESTAB\s+0\s+0\s+127\.0\.0\.1:5001\s+127\.0\.0\.1:5000/);
});

test('two hosts over a link: connected exchange, IP_PKTINFO names the arriving device', async () => {
  const { w, a, b, db } = twoHosts(5);
  const ta = a.spawn();
  const tb = b.spawn();
  const srv = tb.socket(AF_INET, SOCK_DGRAM);
  tb.bind(srv, sin('0.0.0.0', 9000));
  tb.setsockopt(srv, S.SOL_IP, I.IP_PKTINFO, 1);
  tb.setsockopt(srv, S.SOL_IP, I.IP_RECVTTL, 1);
  const cli = ta.socket(AF_INET, SOCK_DGRAM);
  await ta.connect(cli, sin('10.0.0.2', 9000));
  assert.equal((ta.getsockname(cli) as SockaddrIn).addr, '10.0.0.1');
  await ta.send(cli, enc('over the wire'));
  await runFor(w, 10);
  const m = await tb.recvmsg(srv, { iov: [new Uint8Array(64)], controllen: 128 }, MSG_DONTWAIT);
  assert.equal(dec(new Uint8Array(0)), '');
  const pi = decodeInPktinfo(m.control.find((c) => c.type === I.IP_PKTINFO)!.data!);
  assert.deepEqual(pi, { ifindex: db.ifindex, spec_dst: '10.0.0.2', addr: '10.0.0.2' });
  const ttl = m.control.find((c) => c.type === I.IP_TTL)!.data!;
  assert.equal(ttl[0], 64);
  const from = m.addr as SockaddrIn;
  assert.equal(from.addr, '10.0.0.1');
  // The reply goes back to the connected socket.
  await tb.sendto(srv, enc('reply'), 0, from);
  await runFor(w, 10);
  assert.deepEqual(await recvText(ta, cli), { text: 'reply', from: '10.0.0.2:9000' });
});

test('broadcast needs SO_BROADCAST; then every socket on the port hears it', async () => {
  const { w, a, b } = twoHosts(2);
  const ta = a.spawn();
  const tb = b.spawn();
  const l1 = tb.socket(AF_INET, SOCK_DGRAM);
  const l2 = tb.socket(AF_INET, SOCK_DGRAM);
  for (const l of [l1, l2]) {
    tb.setsockopt(l, SOL_SOCKET, S.SO_REUSEADDR, 1);
    tb.bind(l, sin('0.0.0.0', 9100));
  }
  const s = ta.socket(AF_INET, SOCK_DGRAM);
  assert.equal(await acode(ta.sendto(s, enc('all'), 0, sin('10.0.0.255', 9100))), 'EACCES');
  ta.setsockopt(s, SOL_SOCKET, S.SO_BROADCAST, 1);
  assert.equal(await ta.sendto(s, enc('all'), 0, sin('10.0.0.255', 9100)), 3);
  await runFor(w, 10);
  const me = (ta.getsockname(s) as SockaddrIn).port;
  assert.deepEqual(await recvText(tb, l1), { text: 'all', from: `10.0.0.1:${me}` });
  assert.deepEqual(await recvText(tb, l2), { text: 'all', from: `10.0.0.1:${me}` });
});

test('datagrams of every size cross a 1500-byte link, fragmented and reassembled', async () => {
  const { w, a, b } = twoHosts(9);
  const ta = a.spawn();
  const tb = b.spawn();
  const r = tb.socket(AF_INET, SOCK_DGRAM);
  tb.bind(r, sin('10.0.0.2', 9200));
  tb.setsockopt(r, SOL_SOCKET, S.SO_RCVBUF, 4 << 20);
  const s = ta.socket(AF_INET, SOCK_DGRAM);
  await ta.connect(s, sin('10.0.0.2', 9200));
  const sizes: number[] = [];
  for (let n = 0; n <= 3000; n++) sizes.push(n);
  for (let n = 3001; n < 65507; n += 1499) sizes.push(n);
  sizes.push(65506, 65507);
  const buf = new Uint8Array(65536);
  for (const n of sizes) {
    const data = pattern(n, n + 1);
    assert.equal(await ta.send(s, data), n);
    await runFor(w, 5);
    const m = await tb.recvmsg(r, { iov: [buf] }, MSG_DONTWAIT);
    assert.equal(m.n, n, `size ${n}`);
    assert.deepEqual(buf.subarray(0, n), data, `bytes of size ${n}`);
  }
});

test('fragmented datagrams over a lossy, reordering link: what arrives is whole, the same for the same seed', async () => {
  async function run(seed: number): Promise<number[]> {
    const { w, a, b } = twoHosts(seed, { delay: '5ms', jitter: '3ms', loss: 0.05, reorder: 0.2 });
    const ta = a.spawn();
    const tb = b.spawn();
    const r = tb.socket(AF_INET, SOCK_DGRAM);
    tb.bind(r, sin('10.0.0.2', 9300));
    tb.setsockopt(r, SOL_SOCKET, S.SO_RCVBUF, 4 << 20);
    const s = ta.socket(AF_INET, SOCK_DGRAM);
    await ta.connect(s, sin('10.0.0.2', 9300));
    const n = 60;
    for (let i = 0; i < n; i++) {
      const d = pattern(4000 + i * 7, i);
      d[0] = i;
      await ta.send(s, d);
    }
    await runFor(w, 1000);
    const got: number[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      let m;
      try {
        m = await tb.recvmsg(r, { iov: [buf] }, MSG_DONTWAIT);
      } catch {
        break;
      }
      const i = buf[0];
      const want = pattern(4000 + i * 7, i);
      want[0] = i;
      assert.equal(m.n, want.length);
      assert.deepEqual(buf.subarray(0, m.n), want, `datagram ${i} intact`);
      got.push(i);
    }
    // Each datagram is three fragments: with 5% loss about 86% make it.
    assert.ok(got.length > n * 0.6 && got.length < n, `${got.length} of ${n} arrived`);
    assert.equal(new Set(got).size, got.length);
    return got;
  }
  const first = await run(21);
  assert.deepEqual(await run(21), first);
});

test('end to end: a datagram to a closed port on another host comes back as ECONNREFUSED', async () => {
  const { w, a, b } = twoHosts(4);
  const ta = a.spawn();
  const s = ta.socket(AF_INET, SOCK_DGRAM);
  await ta.connect(s, sin('10.0.0.2', 9999));
  await ta.send(s, enc('anyone?'));
  await runFor(w, 10);
  assert.equal(mib(b, 'Udp', 'NoPorts'), 1);
  assert.equal(await acode(ta.recv(s, new Uint8Array(16), MSG_DONTWAIT)), 'ECONNREFUSED');
  assert.equal(await acode(ta.recv(s, new Uint8Array(16), MSG_DONTWAIT)), 'EAGAIN');
  // With IP_RECVERR an unconnected socket learns it too, from the error queue.
  const u = ta.socket(AF_INET, SOCK_DGRAM);
  ta.setsockopt(u, S.SOL_IP, I.IP_RECVERR, 1);
  await ta.sendto(u, enc('q'), 0, sin('10.0.0.2', 9998));
  await runFor(w, 10);
  const m = await ta.recvmsg(
    u,
    { iov: [new Uint8Array(16)], controllen: 128 },
    S.MSG_ERRQUEUE | MSG_DONTWAIT,
  );
  const ee = decodeSockExtendedErr(m.control.find((c) => c.type === I.IP_RECVERR)!.data!);
  assert.equal(ee.ee_errno, 111);
  assert.equal(ee.offender?.addr, '10.0.0.2');
  assert.deepEqual(m.addr, { family: AF_INET, addr: '10.0.0.2', port: 9998, addrlen: 16 });
});
