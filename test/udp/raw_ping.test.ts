import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, SyscallError } from '../../src/index.js';
import * as S from '../../src/uapi/socket.js';
import * as I from '../../src/uapi/in.js';
import type { SockaddrIn } from '../../src/uapi/in.js';
import { set_ping_group_range } from '../../src/net/ipv4/ipv4_init.js';
import { host, sin, settle, mib, enc, twoHosts, runFor } from './helpers.js';

const { AF_INET, SOCK_DGRAM, SOCK_RAW, MSG_DONTWAIT, MSG_TRUNC } = S;

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

test('raw sockets need CAP_NET_RAW; IPPROTO_RAW implies IP_HDRINCL; the protocol is the port', () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  const user = h.spawn({ uid: 1000 });
  assert.equal(
    code(() => user.socket(AF_INET, SOCK_RAW, I.IPPROTO_ICMP)),
    'EPERM',
  );
  const netraw = h.spawn({ uid: 1000, caps: [13 /* CAP_NET_RAW */] });
  const r = netraw.socket(AF_INET, SOCK_RAW, I.IPPROTO_RAW);
  assert.equal(netraw.getsockopt(r, S.SOL_IP, I.IP_HDRINCL), 1);
  const icmp = netraw.socket(AF_INET, SOCK_RAW, I.IPPROTO_ICMP);
  assert.equal(netraw.getsockopt(icmp, S.SOL_IP, I.IP_HDRINCL), 0);
  assert.deepEqual(netraw.getsockname(icmp), { family: AF_INET, addr: '0.0.0.0', port: 1, addrlen: 16 });
});

test('a raw socket of a protocol gets a copy of each packet, IP header first; the transport still gets it', async () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  const t = h.spawn();
  const raw = t.socket(AF_INET, SOCK_RAW, I.IPPROTO_UDP);
  const u = t.socket(AF_INET, SOCK_DGRAM);
  t.bind(u, sin('127.0.0.1', 5000));
  const s = t.socket(AF_INET, SOCK_DGRAM);
  await t.sendto(s, enc('copy'), 0, sin('127.0.0.1', 5000));
  await settle(w);
  const buf = new Uint8Array(64);
  const m = await t.recvmsg(raw, { iov: [buf] }, MSG_DONTWAIT);
  assert.equal(m.n, 32);
  assert.equal(buf[0], 0x45);
  assert.equal(buf[9], I.IPPROTO_UDP);
  assert.deepEqual(Array.from(buf.subarray(16, 20)), [127, 0, 0, 1]);
  assert.equal(new TextDecoder().decode(buf.subarray(28, 32)), 'copy');
  assert.deepEqual(m.addr, { family: AF_INET, addr: '127.0.0.1', port: 0, addrlen: 16 });
  assert.equal(await t.recv(u, buf, MSG_DONTWAIT), 4);
});

test('IP_HDRINCL: the kernel fills the source, length, id and checksum; a packet for a raw-only protocol is not "unknown"', async () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  const t = h.spawn();
  const rx = t.socket(AF_INET, SOCK_RAW, 253);
  const tx = t.socket(AF_INET, SOCK_RAW, I.IPPROTO_RAW);
  const pkt = new Uint8Array(20 + 5);
  pkt[0] = 0x45;
  pkt[8] = 9;
  pkt[9] = 253;
  pkt.set([127, 0, 0, 1], 16);
  pkt.set(enc('hello'), 20);
  assert.equal(await t.sendto(tx, pkt, 0, sin('127.0.0.1', 0)), 25);
  assert.equal(await acode(t.sendto(tx, pkt.subarray(0, 19), 0, sin('127.0.0.1', 0))), 'EINVAL');
  await settle(w);
  const buf = new Uint8Array(64);
  assert.equal(await t.recv(rx, buf, MSG_DONTWAIT), 25);
  assert.deepEqual(Array.from(buf.subarray(12, 16)), [127, 0, 0, 1]);
  assert.equal((buf[2] << 8) | buf[3], 25);
  assert.equal(buf[8], 9);
  assert.equal(mib(h, 'Ip', 'InUnknownProtos'), 0);
});

test('ICMP_FILTER: only ICMP raw sockets, at most 4 bytes', () => {
  const w = new World({ seed: 1 });
  const t = host(w, 'h').spawn();
  const icmp = t.socket(AF_INET, SOCK_RAW, I.IPPROTO_ICMP);
  t.setsockopt(icmp, S.SOL_RAW, I.ICMP_FILTER, Uint8Array.of(0, 1, 0, 0, 9, 9));
  assert.deepEqual(Array.from(t.getsockoptRaw(icmp, S.SOL_RAW, I.ICMP_FILTER, 8)), [0, 1, 0, 0]);
  const udp = t.socket(AF_INET, SOCK_RAW, I.IPPROTO_UDP);
  assert.equal(
    code(() => t.setsockopt(udp, S.SOL_RAW, I.ICMP_FILTER, 0)),
    'EOPNOTSUPP',
  );
});

test('ping sockets: net.ipv4.ping_group_range decides, even for root', () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  const root = h.spawn();
  assert.equal(
    code(() => root.socket(AF_INET, SOCK_DGRAM, I.IPPROTO_ICMP)),
    'EACCES',
  );
  assert.equal(set_ping_group_range(h.netns, 100, 200), 0);
  const member = h.spawn({ uid: 1000, gid: 1000, groups: [150] });
  const p = member.socket(AF_INET, SOCK_DGRAM, I.IPPROTO_ICMP);
  member.bind(p, sin('127.0.0.1', 4242));
  assert.deepEqual(member.getsockname(p), { family: AF_INET, addr: '127.0.0.1', port: 4242, addrlen: 16 });
  assert.equal(
    code(() => root.socket(AF_INET, SOCK_DGRAM, I.IPPROTO_ICMP)),
    'EACCES',
  );
});

test('ping sockets send only echo requests and take the next free identifier', async () => {
  const w = new World({ seed: 1 });
  const h = host(w, 'h');
  set_ping_group_range(h.netns, 0, 0);
  const t = h.spawn();
  const p = t.socket(AF_INET, SOCK_DGRAM, I.IPPROTO_ICMP);
  assert.equal(
    await acode(t.sendto(p, Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1), 0, sin('127.0.0.1', 0))),
    'EINVAL',
  );
  assert.equal(await acode(t.sendto(p, Uint8Array.of(8, 0, 0, 0), 0, sin('127.0.0.1', 0))), 'EINVAL');
  const id1 = (t.getsockname(p) as SockaddrIn).port;
  const q = t.socket(AF_INET, SOCK_DGRAM, I.IPPROTO_ICMP);
  t.bind(q, sin('0.0.0.0', 0));
  assert.equal((t.getsockname(q) as SockaddrIn).port, id1 + 1);
  // A raw ICMP socket sees the request as sent: our identifier, a valid checksum.
  const raw = t.socket(AF_INET, SOCK_RAW, I.IPPROTO_ICMP);
  assert.equal(await t.sendto(q, Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 7, 0x61), 0, sin('127.0.0.1', 0)), 9);
  await settle(w);
  const buf = new Uint8Array(64);
  const m = await t.recvmsg(raw, { iov: [buf] }, MSG_DONTWAIT | MSG_TRUNC);
  assert.equal(m.n, 29);
  assert.equal(buf[20], 8);
  assert.equal((buf[24] << 8) | buf[25], id1 + 1);
  let sum = 0;
  for (let i = 20; i < 29; i += 2) sum += (buf[i] << 8) | (i + 1 < 29 ? buf[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  assert.equal(sum, 0xffff);
});

test('ping socket echo over a link: the reply carries our identifier and sequence', async () => {
  const { w, a } = twoHosts(6);
  set_ping_group_range(a.netns, 0, 0);
  const t = a.spawn();
  const p = t.socket(AF_INET, SOCK_DGRAM, I.IPPROTO_ICMP);
  t.bind(p, sin('0.0.0.0', 4321));
  t.setsockopt(p, S.SOL_IP, I.IP_RECVTTL, 1);
  assert.equal(
    await t.sendto(p, Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 3, 0x68, 0x69), 0, sin('10.0.0.2', 0)),
    10,
  );
  await runFor(w, 10);
  const buf = new Uint8Array(64);
  const m = await t.recvmsg(p, { iov: [buf], controllen: 64 }, MSG_DONTWAIT);
  assert.equal(m.n, 10);
  assert.equal(buf[0], I.ICMP_ECHOREPLY);
  assert.equal((buf[4] << 8) | buf[5], 4321);
  assert.equal((buf[6] << 8) | buf[7], 3);
  assert.deepEqual(m.addr, { family: AF_INET, addr: '10.0.0.2', port: 0, addrlen: 16 });
  assert.equal(m.control.find((c) => c.type === I.IP_TTL)!.data![0], 64);
});
