// ICMP errors reaching UDP sockets through udp_err (the err_handler icmp_rcv calls with the data
// at the quoted IP header), built by hand so the socket side is tested on its own.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, SyscallError, type Task } from '../../src/index.js';
import * as S from '../../src/uapi/socket.js';
import * as I from '../../src/uapi/in.js';
import { decodeSockExtendedErr, type SockaddrIn } from '../../src/uapi/in.js';
import { POLLERR, POLLOUT } from '../../src/uapi/poll.js';
import { netdev_alloc_skb } from '../../src/net/core/skbuff.js';
import { udp_err } from '../../src/net/ipv4/udp.js';
import { raw_icmp_error } from '../../src/net/ipv4/raw.js';
import { ping_err } from '../../src/net/ipv4/ping.js';
import { set_ping_group_range } from '../../src/net/ipv4/ipv4_init.js';
import type { Host } from '../../src/sim/host.js';
import { host, sin, enc, mib } from './helpers.js';

const { AF_INET, SOCK_DGRAM, MSG_DONTWAIT, MSG_ERRQUEUE } = S;

async function acode(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    return e instanceof SyscallError ? e.code : String(e);
  }
}

/** Deliver "ICMP type/code about our datagram sport → 127.0.0.1:dport" to UDP's err_handler. */
function icmpError(
  h: Host,
  type: number,
  code: number,
  sport: number,
  dport: number,
  payload: Uint8Array,
): number {
  const len = 20 + 8 + 20 + 8 + payload.length;
  const skb = netdev_alloc_skb(32, len);
  const o = skb.data;
  const b = skb.head;
  skb.put(len);
  // Outer header: from 127.0.0.2 (the offender) to us.
  b[o] = 0x45;
  b[o + 8] = 64;
  b[o + 9] = I.IPPROTO_ICMP;
  b.set([127, 0, 0, 2], o + 12);
  b.set([127, 0, 0, 1], o + 16);
  b[o + 20] = type;
  b[o + 21] = code;
  // The quoted datagram: ours, from 127.0.0.1:sport to 127.0.0.1:dport.
  const q = o + 28;
  b[q] = 0x45;
  b[q + 8] = 64;
  b[q + 9] = I.IPPROTO_UDP;
  b.set([127, 0, 0, 1], q + 12);
  b.set([127, 0, 0, 1], q + 16);
  b[q + 20] = sport >> 8;
  b[q + 21] = sport & 0xff;
  b[q + 22] = dport >> 8;
  b[q + 23] = dport & 0xff;
  b.set(payload, q + 28);
  skb.network_header = o;
  skb.transport_header = o + 20;
  skb.dev = h.lo;
  skb.pull(28);
  return udp_err(skb, 0);
}

function setup(): { w: World; h: Host; t: Task } {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  return { w, h, t: h.spawn() };
}

test('port unreachable: a connected socket gets ECONNREFUSED once, on recv or send; poll shows POLLERR', async () => {
  const { h, t } = setup();
  const s = t.socket(AF_INET, SOCK_DGRAM);
  await t.connect(s, sin('127.0.0.1', 5999));
  const port = (t.getsockname(s) as SockaddrIn).port;
  icmpError(h, I.ICMP_DEST_UNREACH, I.ICMP_PORT_UNREACH, port, 5999, enc('x'));
  const pfd = [{ fd: s, events: POLLOUT, revents: 0 }];
  await t.poll(pfd, 0);
  assert.equal(pfd[0].revents, POLLOUT | POLLERR);
  assert.equal(await acode(t.recv(s, new Uint8Array(8), MSG_DONTWAIT)), 'ECONNREFUSED');
  assert.equal(await acode(t.recv(s, new Uint8Array(8), MSG_DONTWAIT)), 'EAGAIN');
  icmpError(h, I.ICMP_DEST_UNREACH, I.ICMP_PORT_UNREACH, port, 5999, enc('x'));
  assert.equal(await acode(t.send(s, enc('y'))), 'ECONNREFUSED');
  assert.equal(await t.send(s, enc('z')), 1);
});

test('an unconnected socket hears of soft errors only with IP_RECVERR', async () => {
  const { h, t } = setup();
  const s = t.socket(AF_INET, SOCK_DGRAM);
  t.bind(s, sin('127.0.0.1', 4000));
  icmpError(h, I.ICMP_DEST_UNREACH, I.ICMP_PORT_UNREACH, 4000, 5999, enc('x'));
  assert.equal(t.getsockopt(s, S.SOL_SOCKET, S.SO_ERROR), 0);
  // A time-exceeded is soft even for a connected socket.
  const c = t.socket(AF_INET, SOCK_DGRAM);
  t.bind(c, sin('127.0.0.1', 4001));
  await t.connect(c, sin('127.0.0.1', 5999));
  icmpError(h, I.ICMP_TIME_EXCEEDED, I.ICMP_EXC_TTL, 4001, 5999, enc('x'));
  assert.equal(t.getsockopt(c, S.SOL_SOCKET, S.SO_ERROR), 0);
});

test('IP_RECVERR queues the error with the quoted payload, the destination and the offender', async () => {
  const { h, t } = setup();
  const s = t.socket(AF_INET, SOCK_DGRAM);
  t.bind(s, sin('127.0.0.1', 4000));
  t.setsockopt(s, S.SOL_IP, I.IP_RECVERR, 1);
  t.setsockopt(s, S.SOL_IP, I.IP_RECVTTL, 1);
  icmpError(h, I.ICMP_DEST_UNREACH, I.ICMP_PORT_UNREACH, 4000, 5999, enc('payload'));
  icmpError(h, I.ICMP_DEST_UNREACH, I.ICMP_HOST_UNREACH, 4000, 5998, enc('second'));
  assert.equal(t.getsockopt(s, S.SOL_SOCKET, S.SO_ERROR), 113 /* EHOSTUNREACH */);
  const buf = new Uint8Array(3);
  const m = await t.recvmsg(s, { iov: [buf], controllen: 128 }, MSG_ERRQUEUE | MSG_DONTWAIT);
  assert.equal(m.n, 3);
  assert.equal(new TextDecoder().decode(buf), 'pay');
  assert.equal(m.flags, S.MSG_TRUNC | MSG_ERRQUEUE);
  assert.deepEqual(m.addr, { family: AF_INET, addr: '127.0.0.1', port: 5999, addrlen: 16 });
  assert.deepEqual(
    m.control.map((c) => c.type),
    [I.IP_TTL, I.IP_RECVERR],
  );
  const ee = decodeSockExtendedErr(m.control[1].data!);
  assert.deepEqual(
    { ...ee, offender: ee.offender && ee.offender.addr },
    {
      ee_errno: 111,
      ee_origin: I.SO_EE_ORIGIN_ICMP,
      ee_type: 3,
      ee_code: 3,
      ee_info: 0,
      ee_data: 0,
      offender: '127.0.0.2',
    },
  );
  // The next ICMP entry re-arms the socket error with its own errno; taking it clears it.
  assert.equal(t.getsockopt(s, S.SOL_SOCKET, S.SO_ERROR), 113);
  const m2 = await t.recvmsg(s, { iov: [new Uint8Array(16)], controllen: 128 }, MSG_ERRQUEUE | MSG_DONTWAIT);
  assert.equal(m2.addr && (m2.addr as SockaddrIn).port, 5998);
  assert.equal(t.getsockopt(s, S.SOL_SOCKET, S.SO_ERROR), 0);
  assert.equal(
    await acode(t.recvmsg(s, { iov: [new Uint8Array(16)] }, MSG_ERRQUEUE | MSG_DONTWAIT)),
    'EAGAIN',
  );
});

test('an ICMP error for no socket counts as an ICMP input error', () => {
  const { h } = setup();
  assert.equal(
    icmpError(h, I.ICMP_DEST_UNREACH, I.ICMP_PORT_UNREACH, 4321, 5999, enc('x')),
    -2 /* -ENOENT */,
  );
  assert.equal(mib(h, 'Icmp', 'InErrors'), 1);
});

/** An ICMP error quoting `quoted` (IPv4 header + transport bytes), with data at the quote. */
function errorSkb(h: Host, type: number, code: number, quoted: Uint8Array) {
  const len = 28 + quoted.length;
  const skb = netdev_alloc_skb(32, len);
  const o = skb.data;
  skb.put(len);
  const b = skb.head;
  b[o] = 0x45;
  b[o + 8] = 64;
  b[o + 9] = I.IPPROTO_ICMP;
  b.set([127, 0, 0, 2], o + 12);
  b.set([127, 0, 0, 1], o + 16);
  b[o + 20] = type;
  b[o + 21] = code;
  b.set(quoted, o + 28);
  skb.network_header = o;
  skb.transport_header = o + 20;
  skb.dev = h.lo;
  skb.pull(28);
  return skb;
}

function quotedIp(proto: number, body: number[]): Uint8Array {
  const q = new Uint8Array(20 + body.length);
  q[0] = 0x45;
  q[8] = 64;
  q[9] = proto;
  q.set([127, 0, 0, 1], 12);
  q.set([127, 0, 0, 1], 16);
  q.set(body, 20);
  return q;
}

test('ping sockets: an error quoting our echo request reaches the socket with that identifier', async () => {
  const { h, t } = setup();
  set_ping_group_range(h.netns, 0, 0);
  const p = t.socket(AF_INET, SOCK_DGRAM, I.IPPROTO_ICMP);
  t.bind(p, sin('0.0.0.0', 77));
  t.setsockopt(p, S.SOL_IP, I.IP_RECVERR, 1);
  const echo = [8, 0, 0, 0, 0, 77, 0, 5];
  assert.equal(ping_err(errorSkb(h, I.ICMP_DEST_UNREACH, I.ICMP_HOST_UNREACH, quotedIp(1, echo)), 0), true);
  assert.equal(
    ping_err(
      errorSkb(h, I.ICMP_DEST_UNREACH, I.ICMP_HOST_UNREACH, quotedIp(1, [8, 0, 0, 0, 0, 78, 0, 5])),
      0,
    ),
    false,
  );
  const buf = new Uint8Array(16);
  const m = await t.recvmsg(p, { iov: [buf], controllen: 128 }, MSG_ERRQUEUE | MSG_DONTWAIT);
  assert.deepEqual(Array.from(buf.subarray(0, m.n)), echo);
  assert.deepEqual(m.addr, { family: AF_INET, addr: '127.0.0.1', port: 0, addrlen: 16 });
  assert.equal(decodeSockExtendedErr(m.control[0].data!).ee_errno, 113);
});

test('raw sockets: a connected socket takes hard errors, IP_RECVERR gets the quoted payload', async () => {
  const { h, t } = setup();
  const r = t.socket(AF_INET, S.SOCK_RAW, 253);
  await t.connect(r, sin('127.0.0.1', 0));
  raw_icmp_error(errorSkb(h, I.ICMP_DEST_UNREACH, I.ICMP_PROT_UNREACH, quotedIp(253, [1, 2, 3])), 253, 0);
  assert.equal(await acode(t.recv(r, new Uint8Array(8), MSG_DONTWAIT)), 'ENOPROTOOPT');
  // Soft errors reach an unconnected socket only through the error queue.
  const u = t.socket(AF_INET, S.SOCK_RAW, 253);
  raw_icmp_error(errorSkb(h, I.ICMP_TIME_EXCEEDED, 0, quotedIp(253, [1, 2, 3])), 253, 0);
  assert.equal(t.getsockopt(u, S.SOL_SOCKET, S.SO_ERROR), 0);
  t.setsockopt(u, S.SOL_IP, I.IP_RECVERR, 1);
  raw_icmp_error(errorSkb(h, I.ICMP_TIME_EXCEEDED, 0, quotedIp(253, [1, 2, 3])), 253, 0);
  const buf = new Uint8Array(16);
  const m = await t.recvmsg(u, { iov: [buf], controllen: 128 }, MSG_ERRQUEUE | MSG_DONTWAIT);
  assert.deepEqual(Array.from(buf.subarray(0, m.n)), [1, 2, 3]);
  assert.equal(decodeSockExtendedErr(m.control[0].data!).ee_type, I.ICMP_TIME_EXCEEDED);
});
