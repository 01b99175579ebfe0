// ICMP: echo between hosts, the receive checks and their counters, errors delivered to the
// transport that sent the quoted datagram, and icmp_send's rules (never about an error, a
// non-first fragment or a broadcast; the 576-byte quote; rate limits).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newWorld, link, listen, addr, sendProto, mib, pattern, inject, buildIp, get32 } from './helpers.js';
import { Timer, type VirtualClock } from '../../src/kernel/time.js';
import type { SkBuff } from '../../src/net/core/skbuff.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import { netdev_alloc_skb, PACKET_BROADCAST } from '../../src/net/core/skbuff.js';
import { icmp_send, set_ping_rcv } from '../../src/net/ipv4/icmp.js';
import { inet_add_protocol } from '../../src/net/ipv4/protocol.js';
import { dst_mtu, ip_route_input, ip_route_output, type Rtable } from '../../src/net/ipv4/route.js';
import { csum_fold, csum_partial } from '../../src/wire/checksum.js';
import { ETH_P_IP } from '../../src/uapi/if.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsharkCheck, tsharkMissing } from '../tools/tshark.js';

const A = addr('10.0.0.1');
const B = addr('10.0.0.2');
const SEC = 1e9;

async function runFor(clock: VirtualClock, ns: number): Promise<void> {
  let done = false;
  const t = new Timer(() => (done = true));
  clock.mod_timer(t, clock.now() + ns);
  while (!done) await new Promise((r) => setImmediate(r));
}
const settleNow = (clock: VirtualClock) => runFor(clock, 1);

function setup(seed = 21) {
  const w = newWorld(seed);
  const a = w.addHost('a');
  const b = w.addHost('b');
  const [da, db] = link(a, 'eth0', b, 'eth0', false);
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  b.ip('ip addr add 10.0.0.2/24 dev eth0');
  return { w, a, b, da, db, clock: w.clock as VirtualClock };
}

/** An ICMP message with its checksum. */
function icmpMsg(type: number, code: number, rest: number, data: Uint8Array, badCsum = false): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m[0] = type;
  m[1] = code;
  m[4] = rest >>> 24;
  m[5] = rest >>> 16;
  m[6] = rest >>> 8;
  m[7] = rest;
  m.set(data, 8);
  const c = csum_fold(csum_partial(m, 0, m.length, 0));
  m[2] = c >> 8;
  m[3] = c & 0xff;
  if (badCsum) m[3] ^= 1;
  return m;
}

interface Seen {
  src: number;
  dst: number;
  type: number;
  code: number;
  rest: number;
  data: Uint8Array;
  totLen: number;
  tos: number;
}

/** Record the ICMP messages a device sends. */
function icmpTap(dev: NetDevice): Seen[] {
  const out: Seen[] = [];
  dev.taps.push((skb, _d, outgoing) => {
    if (!outgoing) return;
    const h = skb.head;
    const n = skb.mac_header >= 0 ? skb.mac_header + 14 : skb.network_header;
    if (((h[n - 2] << 8) | h[n - 1]) !== ETH_P_IP || h[n + 9] !== 1) return;
    const t = n + (h[n] & 0x0f) * 4;
    const totLen = (h[n + 2] << 8) | h[n + 3];
    out.push({
      src: get32(h, n + 12),
      dst: get32(h, n + 16),
      type: h[t],
      code: h[t + 1],
      rest: get32(h, t + 4),
      data: h.slice(t + 8, n + totLen),
      totLen,
      tos: h[n + 1],
    });
  });
  return out;
}

test('echo: a hand-built request is answered with the same identifier, sequence and data', async () => {
  const { a, b, da, db, clock } = setup();
  const replies: Uint8Array[] = [];
  set_ping_rcv(a.netns, (skb) => {
    replies.push(skb.head.slice(skb.transport_header, skb.tail));
    return true;
  });
  const sentB = icmpTap(db);
  const data = pattern(56);
  assert.equal(sendProto(a, B, icmpMsg(8, 0, 0x12340007, data), { proto: 1 }), 0);
  await settleNow(clock);
  assert.equal(replies.length, 1);
  const r = replies[0];
  assert.equal(r[0], 0, 'echo reply');
  assert.equal(r[1], 0);
  assert.equal(get32(r, 4), 0x12340007);
  assert.deepEqual(r.slice(8), data);
  assert.equal(csum_fold(csum_partial(r, 0, r.length, 0)), 0, 'checksum is right');
  assert.equal(sentB[0].src, B);
  assert.equal(sentB[0].dst, A);
  assert.equal(mib(b, 'Icmp', 'InMsgs'), 1);
  assert.equal(mib(b, 'Icmp', 'InEchos'), 1);
  assert.equal(mib(b, 'Icmp', 'OutMsgs'), 1);
  assert.equal(mib(b, 'Icmp', 'OutEchoReps'), 1);
  assert.equal(mib(b, 'IcmpMsg', 'InType8'), 1);
  assert.equal(mib(b, 'IcmpMsg', 'OutType0'), 1);
  assert.equal(mib(a, 'Icmp', 'InEchoReps'), 1);
  assert.equal(mib(a, 'Icmp', 'InErrors'), 0);
  void da;
});

test('echo over loopback, and icmp_echo_ignore_all', async () => {
  const { a, clock } = setup();
  let n = 0;
  set_ping_rcv(a.netns, () => {
    n++;
    return true;
  });
  sendProto(a, addr('127.0.0.1'), icmpMsg(8, 0, 1, pattern(8)), { proto: 1 });
  await settleNow(clock);
  assert.equal(n, 1);
  a.sysctl.write('net.ipv4.icmp_echo_ignore_all', 1);
  sendProto(a, addr('127.0.0.1'), icmpMsg(8, 0, 2, pattern(8)), { proto: 1 });
  await settleNow(clock);
  assert.equal(n, 1);
  assert.equal(mib(a, 'Icmp', 'InEchos'), 2, 'an ignored echo is still received and counted');
  assert.equal(mib(a, 'Icmp', 'OutEchoReps'), 1);
});

test('echo to a broadcast address is ignored by default (icmp_echo_ignore_broadcasts) and answered when allowed', async () => {
  const { a, b, db, clock } = setup();
  const sentB = icmpTap(db);
  sendProto(a, addr('10.0.0.255'), icmpMsg(8, 0, 5, pattern(8)), { proto: 1 });
  await settleNow(clock);
  assert.equal(sentB.length, 0);
  assert.equal(mib(b, 'Icmp', 'InErrors'), 1);
  b.sysctl.write('net.ipv4.icmp_echo_ignore_broadcasts', 0);
  sendProto(a, addr('10.0.0.255'), icmpMsg(8, 0, 6, pattern(8)), { proto: 1 });
  await settleNow(clock);
  assert.equal(sentB.length, 1);
  assert.equal(sentB[0].src, B, 'the reply comes from an address of ours, not the broadcast');
  assert.equal(sentB[0].type, 0);
});

test('bad messages: checksum (InCsumErrors), too short, unknown type — each InErrors, none answered', async () => {
  const { a, b, db, clock } = setup();
  const sentB = icmpTap(db);
  inject(db, buildIp({ saddr: A, daddr: B, proto: 1, payload: icmpMsg(8, 0, 1, pattern(16), true) }));
  inject(db, buildIp({ saddr: A, daddr: B, proto: 1, payload: new Uint8Array([8, 0, 0xf7, 0xff]) }));
  inject(db, buildIp({ saddr: A, daddr: B, proto: 1, payload: icmpMsg(42, 0, 0, pattern(4)) }));
  // A destination unreachable whose quoted header is cut short, or has IHL < 5.
  inject(db, buildIp({ saddr: A, daddr: B, proto: 1, payload: icmpMsg(3, 3, 0, pattern(12)) }));
  const q = buildIp({ saddr: B, daddr: A, proto: 17, payload: pattern(8) });
  q[0] = 0x44;
  inject(db, buildIp({ saddr: A, daddr: B, proto: 1, payload: icmpMsg(3, 3, 0, q) }));
  await settleNow(clock);
  assert.equal(mib(b, 'Icmp', 'InMsgs'), 5);
  assert.equal(mib(b, 'Icmp', 'InCsumErrors'), 1);
  assert.equal(mib(b, 'Icmp', 'InErrors'), 5);
  assert.equal(mib(b, 'IcmpMsg', 'InType42'), 1);
  assert.equal(mib(b, 'Icmp', 'InDestUnreachs'), 2);
  assert.equal(sentB.length, 0);
  void a;
});

test('an error reaches the err_handler of the protocol in the quoted header', async () => {
  const { a, b, clock } = setup();
  const errs: { type: number; code: number; info: number; qdaddr: number }[] = [];
  inet_add_protocol(a.netns, 200, {
    handler: () => 0,
    err_handler(skb: SkBuff, info: number) {
      const h = skb.head;
      errs.push({
        type: h[skb.transport_header],
        code: h[skb.transport_header + 1],
        info,
        qdaddr: get32(h, skb.data + 16),
      });
      return 0;
    },
  });
  // b has no protocol 200: protocol unreachable, quoting the datagram.
  sendProto(a, B, pattern(40), { proto: 200 });
  await settleNow(clock);
  assert.deepEqual(errs, [{ type: 3, code: 2, info: 0, qdaddr: B }]);
  assert.equal(mib(b, 'Icmp', 'OutDestUnreachs'), 1);
  assert.equal(mib(a, 'Icmp', 'InDestUnreachs'), 1);
});

test('errors quote the datagram from its IP header, at most 576 bytes in all, with precedence 0xc0', async () => {
  const { a, db, clock } = setup();
  const sentB = icmpTap(db);
  const payload = pattern(1000);
  sendProto(a, B, payload, { proto: 200, tos: 0x10 });
  sendProto(a, B, pattern(12), { proto: 201 });
  await settleNow(clock);
  assert.equal(sentB.length, 2);
  assert.equal(sentB[0].totLen, 576);
  assert.equal(sentB[0].data.length, 576 - 28);
  assert.equal(get32(sentB[0].data, 12), A, 'quoted source');
  assert.deepEqual(sentB[0].data.slice(20), payload.slice(0, 576 - 48));
  assert.equal(sentB[0].tos, 0xc0 | 0x10);
  assert.equal(sentB[1].totLen, 20 + 8 + 20 + 12, 'a short datagram is quoted whole');
});

/** An skb as b received it from a: header and route set, as the stack hands it to icmp_send. */
function received(
  b: ReturnType<typeof setup>['b'],
  dev: ReturnType<typeof setup>['db'],
  pkt: Uint8Array,
): SkBuff {
  const skb = netdev_alloc_skb(64, pkt.length);
  skb.head.set(pkt, skb.data);
  skb.put(pkt.length);
  skb.dev = dev;
  skb.protocol = ETH_P_IP;
  skb.network_header = skb.data;
  assert.equal(ip_route_input(skb, get32(pkt, 16), get32(pkt, 12), 0, dev), 0);
  void b;
  return skb;
}

test('icmp_send never answers an ICMP error, a non-first fragment or a link-layer broadcast', async () => {
  const { a, b, db, clock } = setup();
  listen(a);
  const out = () => mib(b, 'Icmp', 'OutMsgs');
  // About an ICMP error (a port unreachable travelling to b): nothing.
  const inner = buildIp({ saddr: B, daddr: A, proto: 17, payload: pattern(8) });
  const err = buildIp({ saddr: A, daddr: B, proto: 1, payload: icmpMsg(3, 3, 0, inner) });
  icmp_send(received(b, db, err), 3, 2, 0);
  // About an unknown ICMP type (treated as an error): nothing.
  icmp_send(
    received(b, db, buildIp({ saddr: A, daddr: B, proto: 1, payload: icmpMsg(77, 0, 0, pattern(8)) })),
    3,
    2,
    0,
  );
  // About a fragment other than the first: nothing.
  icmp_send(
    received(b, db, buildIp({ saddr: A, daddr: B, proto: 200, fragOff: 0x2000 | 100, payload: pattern(8) })),
    3,
    2,
    0,
  );
  // About a frame that came to a broadcast MAC: nothing.
  const bc = received(b, db, buildIp({ saddr: A, daddr: B, proto: 200, payload: pattern(8) }));
  bc.pkt_type = PACKET_BROADCAST;
  icmp_send(bc, 3, 2, 0);
  // About a datagram routed as broadcast: nothing.
  icmp_send(
    received(b, db, buildIp({ saddr: A, daddr: addr('10.0.0.255'), proto: 200, payload: pattern(8) })),
    3,
    2,
    0,
  );
  assert.equal(out(), 0);
  // About an echo request (not an error) and a first fragment: sent.
  icmp_send(
    received(b, db, buildIp({ saddr: A, daddr: B, proto: 1, payload: icmpMsg(8, 0, 0, pattern(8)) })),
    3,
    2,
    0,
  );
  icmp_send(
    received(b, db, buildIp({ saddr: A, daddr: B, proto: 200, fragOff: 0x2000, payload: pattern(8) })),
    3,
    2,
    0,
  );
  assert.equal(out(), 2);
  await settleNow(clock);
});

test('rate limits: six errors in a burst then one a second per destination; echo replies and loopback are not limited', async () => {
  const { a, b, db, clock } = setup();
  const sentB = icmpTap(db);
  for (let i = 0; i < 10; i++) sendProto(a, B, pattern(8, i), { proto: 200 });
  await settleNow(clock);
  assert.equal(sentB.length, 6);
  assert.equal(mib(b, 'Icmp', 'OutRateLimitHost'), 4);
  await runFor(clock, 1 * SEC);
  for (let i = 0; i < 3; i++) sendProto(a, B, pattern(8, i), { proto: 200 });
  await settleNow(clock);
  assert.equal(sentB.length, 7, 'one more token after a second');
  // Echo replies (type 0 is not in icmp_ratemask) always go.
  set_ping_rcv(a.netns, () => true);
  for (let i = 0; i < 20; i++) sendProto(a, B, icmpMsg(8, 0, i, pattern(8)), { proto: 1 });
  await settleNow(clock);
  assert.equal(sentB.filter((s) => s.type === 0).length, 20);
  // Loopback: no limit at all.
  for (let i = 0; i < 20; i++) sendProto(b, addr('127.0.0.1'), pattern(8, i), { proto: 200 });
  await settleNow(clock);
  assert.equal(mib(b, 'Icmp', 'OutDestUnreachs'), 7 + 20);
});

test('the global limit (icmp_msgs_per_sec / icmp_msgs_burst) counts OutRateLimitGlobal', async () => {
  const { a, b, db, clock } = setup();
  b.sysctl.write('net.ipv4.icmp_ratelimit', 0);
  b.sysctl.write('net.ipv4.icmp_msgs_burst', 5);
  for (let i = 0; i < 30; i++) sendProto(a, B, pattern(8, i), { proto: 200 });
  await settleNow(clock);
  const sent = mib(b, 'Icmp', 'OutDestUnreachs');
  const limited = mib(b, 'Icmp', 'OutRateLimitGlobal');
  assert.equal(sent + limited, 30);
  assert.ok(sent >= 3 && sent <= 12, `sent ${sent}`);
  // Frag-needed is never limited (PMTU discovery must work).
  b.sysctl.write('net.ipv4.icmp_msgs_burst', 0);
  const before = mib(b, 'Icmp', 'OutMsgs');
  icmp_send(received(b, db, buildIp({ saddr: A, daddr: B, proto: 200, payload: pattern(8) })), 3, 2, 0);
  assert.equal(mib(b, 'Icmp', 'OutMsgs'), before);
  icmp_send(received(b, db, buildIp({ saddr: A, daddr: B, proto: 200, payload: pattern(8) })), 3, 4, 1400);
  assert.equal(mib(b, 'Icmp', 'OutMsgs'), before + 1);
  await settleNow(clock);
});

test('frag-needed lowers the path MTU of the route to the quoted destination', async () => {
  const { a, da, clock } = setup();
  const C = addr('10.0.0.9');
  const quoted = buildIp({ saddr: A, daddr: C, proto: 17, payload: pattern(8) });
  quoted[6] = 0x40; // DF
  const fl = () => ({ daddr: C, saddr: 0, tos: 0, oif: 0 });
  const before = ip_route_output(a.netns, fl()) as Rtable;
  assert.equal(dst_mtu(before, clock.now()), 1500);
  inject(
    da,
    buildIp({ saddr: addr('10.0.0.254'), daddr: A, proto: 1, payload: icmpMsg(3, 4, 1200, quoted) }),
  );
  await settleNow(clock);
  const after = ip_route_output(a.netns, fl()) as Rtable;
  assert.equal(dst_mtu(after, clock.now()), 1200);
  assert.equal(mib(a, 'Icmp', 'InDestUnreachs'), 1);
});

test('time exceeded in reassembly is not passed to the transport; in transit it is', async () => {
  const { a, da, clock } = setup();
  const infos: number[] = [];
  inet_add_protocol(a.netns, 200, {
    handler: () => 0,
    err_handler(skb: SkBuff) {
      infos.push(skb.head[skb.transport_header + 1]);
      return 0;
    },
  });
  const quoted = buildIp({ saddr: A, daddr: addr('10.9.9.9'), proto: 200, payload: pattern(8) });
  inject(da, buildIp({ saddr: B, daddr: A, proto: 1, payload: icmpMsg(11, 1, 0, quoted) }));
  inject(da, buildIp({ saddr: B, daddr: A, proto: 1, payload: icmpMsg(11, 0, 0, quoted) }));
  await settleNow(clock);
  assert.deepEqual(infos, [0]);
  assert.equal(mib(a, 'Icmp', 'InTimeExcds'), 2);
});

test('parameter problem carries the pointer in the first byte of the second word', async () => {
  const { a, b, db, clock } = setup();
  const sentB = icmpTap(db);
  icmp_send(received(b, db, buildIp({ saddr: A, daddr: B, proto: 200, payload: pattern(8) })), 12, 0, 22);
  icmp_send(received(b, db, buildIp({ saddr: A, daddr: B, proto: 200, payload: pattern(8) })), 3, 4, 1400);
  await settleNow(clock);
  assert.equal(sentB[0].type, 12);
  assert.equal(sentB[0].rest, 22 << 24);
  assert.equal(sentB[1].rest, 1400, 'next-hop MTU in the low 16 bits (RFC 1191)');
  assert.equal(mib(b, 'Icmp', 'OutParmProbs'), 1);
  void a;
});

test('TTL expiry at a router comes back as time exceeded to the sender transport', async () => {
  const w = newWorld(41);
  const a = w.addHost('a');
  const r = w.addHost('r');
  const c = w.addHost('c');
  link(a, 'eth0', r, 'eth0', false);
  link(r, 'eth1', c, 'eth0', false);
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  a.ip('ip route add default via 10.0.0.254');
  r.ip('ip addr add 10.0.0.254/24 dev eth0');
  r.ip('ip addr add 10.1.0.254/24 dev eth1');
  r.sysctl.write('net.ipv4.ip_forward', 1);
  c.ip('ip addr add 10.1.0.2/24 dev eth0');
  const clock = w.clock as VirtualClock;
  const errs: number[][] = [];
  inet_add_protocol(a.netns, 200, {
    handler: () => 0,
    err_handler(skb: SkBuff) {
      const h = skb.head;
      errs.push([get32(h, skb.network_header + 12), h[skb.transport_header], h[skb.transport_header + 1]]);
      return 0;
    },
  });
  sendProto(a, addr('10.1.0.2'), pattern(20), { proto: 200, ttl: 1 });
  await settleNow(clock);
  assert.deepEqual(errs, [[addr('10.0.0.254'), 11, 0]]);
  assert.equal(mib(r, 'Icmp', 'OutTimeExcds'), 1);
  assert.equal(mib(a, 'Icmp', 'InTimeExcds'), 1);
});

test('timestamp requests are answered with the originate time and the time of day in ms', async () => {
  const { a, b, db, clock } = setup();
  const sentB = icmpTap(db);
  await runFor(clock, 1500 * 1e6);
  const orig = new Uint8Array(12);
  orig.set([0, 0, 0x30, 0x39]);
  sendProto(a, B, icmpMsg(13, 0, 0x00050001, orig), { proto: 1 });
  await settleNow(clock);
  assert.equal(sentB.length, 1);
  const r = sentB[0];
  assert.equal(r.type, 14);
  assert.equal(r.rest, 0x00050001);
  assert.equal(get32(r.data, 0), 12345);
  assert.equal(get32(r.data, 4), 1500);
  assert.equal(get32(r.data, 8), 1500);
  assert.equal(mib(b, 'Icmp', 'InTimestamps'), 1);
  assert.equal(mib(b, 'Icmp', 'OutTimestampReps'), 1);
  // Shorter than the originate timestamp: InErrors.
  sendProto(a, B, icmpMsg(13, 0, 0, new Uint8Array(2)), { proto: 1 });
  await settleNow(clock);
  assert.equal(mib(b, 'Icmp', 'InErrors'), 1);
});

test(
  'tshark reads ARP, echo, unreachable and time-exceeded traffic with no malformed packets or bad checksums',
  { skip: tsharkMissing() ?? false },
  async () => {
    const { a, b, da, clock } = setup(71);
    const cap = a.capture('eth0');
    set_ping_rcv(a.netns, () => true);
    sendProto(a, B, icmpMsg(8, 0, 0x00010001, pattern(56)), { proto: 1 });
    sendProto(a, B, pattern(300), { proto: 200 });
    sendProto(a, addr('10.0.0.9'), pattern(30), { proto: 200 });
    await runFor(clock, 3.5 * SEC);
    cap.stop();
    const dir = mkdtempSync(join(tmpdir(), 'usernet-icmp-'));
    try {
      const file = join(dir, 'icmp.pcapng');
      cap.write(file);
      const r = tsharkCheck(file);
      assert.deepEqual(r.problems, []);
      const protos = r.frames.map((f) => f.protocols);
      assert.ok(protos.filter((p) => p === 'eth:ethertype:arp').length >= 5, protos.join(' '));
      assert.ok(protos.some((p) => p.startsWith('eth:ethertype:ip:icmp')));
      assert.ok(r.frames.length >= 9);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    void b;
    void da;
  },
);
