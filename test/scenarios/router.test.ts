// Three hosts through a router, built as on Linux (World.link, `ip addr`, `ip route`,
// net.ipv4.ip_forward): ping through it, UDP across it, TTL expiry reported by the router,
// and an unreachable port reported back across it to a connected UDP socket.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyscallError, type Host, type Task } from '../../src/index.js';
import { AF_INET, SOCK_DGRAM, SOL_IP, MSG_DONTWAIT, MSG_ERRQUEUE } from '../../src/uapi/socket.js';
import {
  IP_RECVERR,
  IP_RECVTTL,
  IP_TTL,
  SO_EE_ORIGIN_ICMP,
  decodeSockExtendedErr,
  type SockaddrIn,
} from '../../src/uapi/in.js';
import { routed, runFor, settle, sin, mib, payload } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function errcode(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    if (e instanceof SyscallError) return e.code;
    throw e;
  }
}

/** A UDP echo server on `h`: every datagram goes back to its sender, byte for byte. */
function echoServer(h: Host, port: number): Task {
  const t = h.spawn({ comm: 'echo' });
  const fd = t.socket(AF_INET, SOCK_DGRAM, 0);
  t.bind(fd, sin('0.0.0.0', port));
  void (async () => {
    const buf = new Uint8Array(65536);
    for (;;) {
      const r = await t.recvfrom(fd, buf);
      await t.sendto(fd, buf.slice(0, r.n), 0, r.addr!);
    }
  })();
  return t;
}

test('ping through the router: iputils lines with ttl=63, round trips from the link delays', async () => {
  // 2 ms on a–r, 3 ms on r–c each way: 10 ms a round trip once both ARP exchanges are done.
  const { w, a, r } = routed(3, { delay: '2ms' }, { delay: '3ms' });
  const res = await a.ping('10.0.2.2', { count: 3 });
  assert.equal(
    res.output,
    [
      'PING 10.0.2.2 (10.0.2.2) 56(84) bytes of data.',
      // The first request waits for a to resolve r (4 ms) and r to resolve c (6 ms).
      '64 bytes from 10.0.2.2: icmp_seq=1 ttl=63 time=20.0 ms',
      '64 bytes from 10.0.2.2: icmp_seq=2 ttl=63 time=10.0 ms',
      '64 bytes from 10.0.2.2: icmp_seq=3 ttl=63 time=10.0 ms',
      '',
      '--- 10.0.2.2 ping statistics ---',
      '3 packets transmitted, 3 received, 0% packet loss, time 2000ms',
      'rtt min/avg/max/mdev = 10.000/13.333/20.000/4.714 ms',
      '',
    ].join('\n'),
  );
  assert.equal(res.status, 0);
  assert.deepEqual(
    res.replies.map((x) => [x.seq, x.ttl, x.rttUs]),
    [
      [1, 63, 20000],
      [2, 63, 10000],
      [3, 63, 10000],
    ],
  );
  // The router forwarded 3 requests and 3 replies and delivered nothing to itself.
  assert.equal(mib(r, 'Ip', 'ForwDatagrams'), 6);
  assert.equal(mib(r, 'Ip', 'InDelivers'), 0);
  // Each side learnt its neighbours through ARP.
  assert.match(a.ipNeigh(), /^10\.0\.1\.1 dev eth0 lladdr [0-9a-f:]{17} REACHABLE \n$/);
  assert.match(r.ipNeigh('eth1'), /^10\.0\.2\.2 dev eth1 lladdr [0-9a-f:]{17} REACHABLE \n$/);
  assert.ok(w.now() >= 2000);
});

test('ping the router itself and the far side of it: ttl=64 from the router', async () => {
  const { a } = routed(4);
  const near = await a.ping('10.0.2.1', { count: 1 });
  assert.match(near.output, /\n64 bytes from 10\.0\.2\.1: icmp_seq=1 ttl=64 time=0\.000 ms\n/);
  const far = await a.ping('10.0.2.2', { count: 1, size: 1000 });
  assert.match(far.output, /^PING 10\.0\.2\.2 \(10\.0\.2\.2\) 1000\(1028\) bytes of data\.\n/);
  assert.match(far.output, /\n1008 bytes from 10\.0\.2\.2: icmp_seq=1 ttl=63 time=0\.000 ms\n/);
});

test('ping -t 1: the router answers "Time to live exceeded", one line per request, as iputils', async () => {
  const { a, r } = routed(5, { delay: '1ms' }, { delay: '1ms' });
  const res = await a.ping('10.0.2.2', { count: 3, ttl: 1 });
  assert.equal(
    res.output,
    [
      'PING 10.0.2.2 (10.0.2.2) 56(84) bytes of data.',
      'From 10.0.1.1 icmp_seq=1 Time to live exceeded',
      'From 10.0.1.1 icmp_seq=2 Time to live exceeded',
      'From 10.0.1.1 icmp_seq=3 Time to live exceeded',
      '',
      '--- 10.0.2.2 ping statistics ---',
      '3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2000ms',
      '',
      '',
    ].join('\n'),
  );
  assert.equal(res.status, 1);
  assert.equal(res.errors, 3);
  assert.equal(mib(r, 'Icmp', 'OutTimeExcds'), 3);
  assert.equal(mib(r, 'Ip', 'ForwDatagrams'), 0);
  assert.equal(mib(a, 'Icmp', 'InTimeExcds'), 3);
});

test('UDP across the router: echoed byte for byte, TTL 63 each way, source addresses kept', async () => {
  const { w, a, c, r } = routed(6, { delay: '1ms' }, { delay: '2ms' });
  echoServer(c, 7777);
  const t = a.spawn();
  const s = t.socket(AF_INET, SOCK_DGRAM, 0);
  t.setsockopt(s, SOL_IP, IP_RECVTTL, 1);
  const sizes = [0, 1, 100, 1472, 1473, 3000, 8000, 65507];
  for (const [i, n] of sizes.entries()) await t.sendto(s, payload(n, i), 0, sin('10.0.2.2', 7777));
  await runFor(w, 100);
  const buf = new Uint8Array(70000);
  for (const [i, n] of sizes.entries()) {
    const m = await t.recvmsg(s, { iov: [buf], controllen: 64 }, MSG_DONTWAIT);
    assert.equal(m.n, n, `datagram ${i}`);
    assert.deepEqual(buf.subarray(0, n), payload(n, i));
    assert.equal((m.addr as SockaddrIn).addr, '10.0.2.2');
    assert.equal((m.addr as SockaddrIn).port, 7777);
    const ttl = m.control.find((x) => x.level === SOL_IP && x.type === IP_TTL);
    assert.ok(ttl?.data, 'IP_TTL control message');
    assert.equal(ttl.data[0], 63, 'one hop: TTL 64 - 1');
  }
  assert.equal(await errcode(t.recv(s, buf, MSG_DONTWAIT)), 'EAGAIN');
  // Datagrams above the 1500-byte MTU travelled as fragments and were forwarded as such.
  assert.ok(mib(a, 'Ip', 'FragCreates') > 0);
  assert.ok(mib(r, 'Ip', 'ForwDatagrams') > 2 * sizes.length);
  assert.equal(mib(c, 'Ip', 'ReasmOKs'), 4);
  assert.equal(mib(a, 'Ip', 'ReasmOKs'), 4);
});

test('TTL expiry on a UDP socket with IP_RECVERR: the error queue names the router', async () => {
  const { w, a, r, c } = routed(7, { delay: '1ms' }, { delay: '1ms' });
  const got = c.spawn();
  const server = got.socket(AF_INET, SOCK_DGRAM, 0);
  got.bind(server, sin('0.0.0.0', 9000));
  const t = a.spawn();
  const s = t.socket(AF_INET, SOCK_DGRAM, 0);
  t.setsockopt(s, SOL_IP, IP_RECVERR, 1);
  t.setsockopt(s, SOL_IP, IP_TTL, 1);
  t.bind(s, sin('0.0.0.0', 4444));
  assert.equal(await t.sendto(s, enc('expires'), 0, sin('10.0.2.2', 9000)), 7);
  await runFor(w, 50);
  // The datagram never reached c.
  assert.equal(await errcode(got.recv(server, new Uint8Array(16), MSG_DONTWAIT)), 'EAGAIN');
  assert.equal(mib(r, 'Icmp', 'OutTimeExcds'), 1);
  // An unconnected socket is not failed by it (sk_err only with IP_RECVERR: EHOSTUNREACH once).
  const buf = new Uint8Array(64);
  const m = await t.recvmsg(s, { iov: [buf], controllen: 256 }, MSG_ERRQUEUE | MSG_DONTWAIT);
  assert.equal(dec(buf.subarray(0, m.n)), 'expires', 'the error queue returns our payload');
  assert.equal((m.addr as SockaddrIn).addr, '10.0.2.2');
  assert.equal((m.addr as SockaddrIn).port, 9000);
  const cm = m.control.find((x) => x.level === SOL_IP && x.type === IP_RECVERR);
  assert.ok(cm?.data);
  const ee = decodeSockExtendedErr(cm.data);
  assert.equal(ee.ee_origin, SO_EE_ORIGIN_ICMP);
  assert.equal(ee.ee_type, 11, 'ICMP_TIME_EXCEEDED');
  assert.equal(ee.ee_code, 0, 'TTL exceeded in transit');
  assert.equal(ee.ee_errno, 113, 'EHOSTUNREACH');
  assert.equal(ee.offender?.addr, '10.0.1.1', 'the router sent it');
  assert.equal(
    await errcode(t.recvmsg(s, { iov: [buf], controllen: 256 }, MSG_ERRQUEUE | MSG_DONTWAIT)),
    'EAGAIN',
  );
});

test('unreachable port across the router: ECONNREFUSED on the connected socket, once', async () => {
  const { w, a, c } = routed(8, { delay: '1ms' }, { delay: '1ms' });
  const t = a.spawn();
  const s = t.socket(AF_INET, SOCK_DGRAM, 0);
  await t.connect(s, sin('10.0.2.2', 9999));
  assert.equal(await t.send(s, enc('anyone?')), 7);
  await runFor(w, 50);
  assert.equal(mib(c, 'Udp', 'NoPorts'), 1);
  assert.equal(mib(c, 'Icmp', 'OutDestUnreachs'), 1);
  assert.equal(mib(a, 'Icmp', 'InDestUnreachs'), 1);
  const buf = new Uint8Array(64);
  assert.equal(await errcode(t.recv(s, buf, MSG_DONTWAIT)), 'ECONNREFUSED');
  // Reported once: the next call sees an empty queue.
  assert.equal(await errcode(t.recv(s, buf, MSG_DONTWAIT)), 'EAGAIN');
  // A listener appears: the same socket now talks to it through the router.
  const srv = c.spawn();
  const fd = srv.socket(AF_INET, SOCK_DGRAM, 0);
  srv.bind(fd, sin('10.0.2.2', 9999));
  assert.equal(await t.send(s, enc('hello')), 5);
  await runFor(w, 50);
  const r = await srv.recvfrom(fd, buf, MSG_DONTWAIT);
  assert.equal(dec(buf.subarray(0, r.n)), 'hello');
  assert.equal((r.addr as SockaddrIn).addr, '10.0.1.2');
  await settle(w);
});

test('no route at the router: ICMP net unreachable comes back, ENETUNREACH in the error queue', async () => {
  const { w, a, r } = routed(9, { delay: '1ms' }, { delay: '1ms' });
  const t = a.spawn();
  const s = t.socket(AF_INET, SOCK_DGRAM, 0);
  t.setsockopt(s, SOL_IP, IP_RECVERR, 1);
  t.bind(s, sin('0.0.0.0', 4445));
  // a's default route leads to r, which has no route to 10.99/16.
  assert.equal(await t.sendto(s, enc('lost'), 0, sin('10.99.0.1', 9000)), 4);
  await runFor(w, 50);
  assert.equal(mib(r, 'IpExt', 'InNoRoutes'), 1);
  assert.equal(mib(r, 'Icmp', 'OutDestUnreachs'), 1);
  const buf = new Uint8Array(64);
  const m = await t.recvmsg(s, { iov: [buf], controllen: 256 }, MSG_ERRQUEUE | MSG_DONTWAIT);
  const cm = m.control.find((x) => x.level === SOL_IP && x.type === IP_RECVERR);
  assert.ok(cm?.data);
  const ee = decodeSockExtendedErr(cm.data);
  assert.equal(ee.ee_origin, SO_EE_ORIGIN_ICMP);
  assert.equal(ee.ee_type, 3, 'ICMP_DEST_UNREACH');
  assert.equal(ee.ee_code, 0, 'ICMP_NET_UNREACH');
  assert.equal(ee.ee_errno, 101, 'ENETUNREACH');
  assert.equal(ee.offender?.addr, '10.0.1.1');
});
