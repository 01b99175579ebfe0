// ARP and the neighbour table: resolution between hosts, the queue while INCOMPLETE, failure
// after retries (ICMP host unreachable to the sender), the NUD state machine over virtual time,
// gratuitous ARP, and bad ARP packets dropped and counted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newWorld, link, listen, addr, sendProto, mib, pattern, get32 } from './helpers.js';
import { inet_add_protocol } from '../../src/net/ipv4/protocol.js';
import type { SkBuff } from '../../src/net/core/skbuff.js';
import type { Host } from '../../src/sim/host.js';
import type { NetDevice } from '../../src/net/core/netdevice.js';
import { Timer, type VirtualClock } from '../../src/kernel/time.js';
import { netdev_alloc_skb } from '../../src/net/core/skbuff.js';
import { netif_rx } from '../../src/net/core/dev.js';
import { eth_type_trans } from '../../src/net/ethernet/eth.js';
import {
  arp_neigh_add,
  arp_neigh_del,
  arp_neigh_get,
  arp_send_gratuitous,
  arp_state,
  arp_tbl,
} from '../../src/net/ipv4/arp.js';
import {
  NUD_DELAY,
  NUD_FAILED,
  NUD_INCOMPLETE,
  NUD_PERMANENT,
  NUD_PROBE,
  NUD_REACHABLE,
  NUD_STALE,
} from '../../src/net/core/neighbour.js';
import { rt_cache_stat } from '../../src/net/ipv4/route.js';
import { ETH_P_ARP } from '../../src/uapi/if.js';
import {
  AF_INET,
  SOCK_DGRAM,
  SOL_IP,
  SOL_SOCKET,
  SO_ERROR,
  MSG_ERRQUEUE,
  MSG_DONTWAIT,
} from '../../src/uapi/socket.js';
import { IP_RECVERR, SO_EE_ORIGIN_ICMP, decodeSockExtendedErr } from '../../src/uapi/in.js';

const A = addr('10.0.0.1');
const B = addr('10.0.0.2');
const C = addr('10.0.0.9');
const SEC = 1e9;

/** An ARP frame as seen on a device's tap. */
interface ArpFrame {
  t: number;
  dst: string;
  op: number;
  sha: string;
  sip: number;
  tha: string;
  tip: number;
}

function mac(b: Uint8Array, o = 0): string {
  return Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Record every ARP frame `dev` sends. */
function arpTap(dev: NetDevice): ArpFrame[] {
  const out: ArpFrame[] = [];
  dev.taps.push((skb, d, outgoing) => {
    if (!outgoing) return;
    const h = skb.head;
    const m = skb.mac_header;
    if (((h[m + 12] << 8) | h[m + 13]) !== ETH_P_ARP) return;
    const a = m + 14;
    out.push({
      t: d.nd_net.kernel.clock.now(),
      dst: mac(h, m),
      op: (h[a + 6] << 8) | h[a + 7],
      sha: mac(h, a + 8),
      sip: get32(h, a + 14),
      tha: mac(h, a + 18),
      tip: get32(h, a + 24),
    });
  });
  return out;
}

function setup(seed = 11) {
  const w = newWorld(seed);
  const a = w.addHost('a');
  const b = w.addHost('b');
  const [da, db] = link(a, 'eth0', b, 'eth0', false);
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  b.ip('ip addr add 10.0.0.2/24 dev eth0');
  const clock = w.clock as VirtualClock;
  return { w, a, b, da, db, clock };
}

/**
 * Let virtual time run for `ns` (timers fire on the way) and stop there: a fence timer at the
 * end keeps the clock from jumping on to the next pending timer (an idle virtual clock jumps).
 */
async function runFor(clock: VirtualClock, ns: number): Promise<void> {
  let done = false;
  const t = new Timer(() => (done = true));
  clock.mod_timer(t, clock.now() + ns);
  // Work due at the same instant as the fence runs in the same turn; one more turn would let
  // the idle clock jump on.
  while (!done) await new Promise((r) => setImmediate(r));
}

/** Run what is due now (the receive softirq, replies), moving the clock by 1 ns only. */
function settleNow(clock: VirtualClock): Promise<void> {
  return runFor(clock, 1);
}

test('two hosts resolve each other: one broadcast request, one unicast reply, then direct', async () => {
  const { a, b, da, db, clock } = setup();
  const got = listen(b);
  const fa = arpTap(da);
  const fb = arpTap(db);
  assert.equal(sendProto(a, B, pattern(100)), 0, 'queued for resolution is success to the sender');
  assert.equal(arp_neigh_get(da, B)!.nud_state, NUD_INCOMPLETE);
  await settleNow(clock);
  assert.equal(got.length, 1);
  assert.deepEqual(got[0].payload, pattern(100));
  assert.deepEqual(fa, [
    {
      t: 0,
      dst: 'ff:ff:ff:ff:ff:ff',
      op: 1,
      sha: mac(da.dev_addr),
      sip: A,
      tha: '00:00:00:00:00:00',
      tip: B,
    },
  ]);
  assert.deepEqual(fb, [
    { t: 0, dst: mac(da.dev_addr), op: 2, sha: mac(db.dev_addr), sip: B, tha: mac(da.dev_addr), tip: A },
  ]);
  // The requester's entry is confirmed by the unicast reply; the responder learned the
  // requester from its request, unconfirmed (RFC 826 "merge", Linux neigh_event_ns).
  assert.equal(arp_neigh_get(da, B)!.nud_state, NUD_REACHABLE);
  assert.equal(arp_neigh_get(db, A)!.nud_state, NUD_STALE);
  assert.equal(a.ipNeigh(), `10.0.0.2 dev eth0 lladdr ${mac(db.dev_addr)} REACHABLE \n`);
  assert.equal(b.ipNeigh('eth0'), `10.0.0.1 dev eth0 lladdr ${mac(da.dev_addr)} STALE \n`);
  assert.equal(
    a.procNetArp(),
    'IP address       HW type     Flags       HW address            Mask     Device\n' +
      `10.0.0.2         0x1         0x2         ${mac(db.dev_addr)}     *        eth0\n`,
  );
  const [head, line] = a.procNetStatArpCache().split('\n');
  assert.equal(
    head,
    'entries  allocs   destroys hash_grows lookups  hits     res_failed rcv_probes_mcast rcv_probes_ucast periodic_gc_runs forced_gc_runs unresolved_discards table_fulls',
  );
  const f = line.split(' ').filter(Boolean);
  assert.equal(f.length, 13);
  assert.deepEqual([f[0], f[1], f[6], f[11]], ['00000001', '00000001', '00000000', '00000000']);
  // neigh_stat_seq_show()'s spacing: 13 fields of 8 digits and 57 spaces between them.
  assert.equal(line.length, 13 * 8 + 57);
  assert.equal(line.slice(35, 38), '   ');
  // Known now: the next datagram goes without ARP.
  sendProto(a, B, pattern(10, 2));
  await settleNow(clock);
  assert.equal(got.length, 2);
  assert.equal(fa.length, 1);
  assert.equal(fb.length, 1);
});

test('packets wait in the queue while INCOMPLETE and leave in order; the queue is bounded by unres_qlen_bytes', async () => {
  const { a, b, da, clock } = setup();
  const got = listen(b);
  for (let i = 0; i < 5; i++) sendProto(a, B, pattern(50, i + 1));
  const n = arp_neigh_get(da, B)!;
  assert.equal(n.arp_queue.qlen, 5);
  await settleNow(clock);
  assert.deepEqual(
    got.map((g) => g.payload),
    [1, 2, 3, 4, 5].map((s) => pattern(50, s)),
  );
  assert.equal(n.arp_queue.qlen, 0);

  // A small queue: the oldest packets make room and are counted as unresolved discards.
  const w2 = setup(12);
  const got2 = listen(w2.b);
  const clock2 = w2.clock;
  w2.a.sysctl.write('net.ipv4.neigh.eth0.unres_qlen_bytes', 2000);
  for (let i = 0; i < 6; i++) sendProto(w2.a, B, pattern(50, i + 1));
  const q = arp_neigh_get(w2.da, B)!;
  assert.ok(q.arp_queue.qlen < 6 && q.arp_queue.qlen > 0);
  const kept = q.arp_queue.qlen;
  assert.equal(arp_tbl(w2.a.netns).stats.unres_discards, 6 - kept);
  await settleNow(clock2);
  assert.deepEqual(
    got2.map((g) => g.payload),
    Array.from({ length: kept }, (_, i) => pattern(50, 6 - kept + i + 1)),
    'the newest packets survive',
  );
});

test('resolution fails after three probes a second apart: FAILED, queue reported as ICMP host unreachable', async () => {
  const { a, da, clock } = setup();
  const fa = arpTap(da);
  sendProto(a, C, pattern(20));
  sendProto(a, C, pattern(20, 2));
  await runFor(clock, 2.5 * SEC);
  assert.equal(arp_neigh_get(da, C)!.nud_state, NUD_INCOMPLETE);
  await runFor(clock, 1 * SEC);
  assert.deepEqual(
    fa.map((f) => [f.t / SEC, f.dst, f.tip]),
    [
      [0, 'ff:ff:ff:ff:ff:ff', C],
      [1, 'ff:ff:ff:ff:ff:ff', C],
      [2, 'ff:ff:ff:ff:ff:ff', C],
    ],
  );
  const n = arp_neigh_get(da, C)!;
  assert.equal(n.nud_state, NUD_FAILED);
  assert.equal(n.arp_queue.qlen, 0);
  assert.equal(arp_tbl(a.netns).stats.res_failed, 1);
  // Each queued packet came back to us as host unreachable over loopback.
  assert.equal(mib(a, 'Icmp', 'OutDestUnreachs'), 2);
  assert.equal(mib(a, 'Icmp', 'InDestUnreachs'), 2);
  assert.equal(a.ipNeigh(), '10.0.0.9 dev eth0 FAILED \n');
  assert.equal(
    a.procNetArp(),
    'IP address       HW type     Flags       HW address            Mask     Device\n' +
      '10.0.0.9         0x1         0x0         00:00:00:00:00:00     *        eth0\n',
  );
  // A new packet starts resolution again.
  sendProto(a, C, pattern(20, 3));
  assert.equal(arp_neigh_get(da, C)!.nud_state, NUD_INCOMPLETE);
  assert.equal(fa.length, 4);
});

test('a local UDP sender with IP_RECVERR gets EHOSTUNREACH in its error queue when ARP fails', async () => {
  const { a, clock } = setup();
  const t = a.spawn();
  const fd = t.socket(AF_INET, SOCK_DGRAM, 0);
  t.setsockopt(fd, SOL_IP, IP_RECVERR, 1);
  await t.connect(fd, { family: AF_INET, addr: '10.0.0.9', port: 9 });
  assert.equal(await t.send(fd, new Uint8Array([1, 2, 3])), 3);
  await runFor(clock, 3.5 * SEC);
  const r = await t.recvmsg(fd, { iov: [new Uint8Array(64)], controllen: 256 }, MSG_ERRQUEUE | MSG_DONTWAIT);
  assert.equal(r.n, 3, 'the datagram that could not be delivered comes back');
  const cm = r.control.find((c) => c.level === SOL_IP && c.type === IP_RECVERR);
  assert.ok(cm && cm.data);
  const ee = decodeSockExtendedErr(cm.data);
  assert.equal(ee.ee_errno, 113, 'EHOSTUNREACH');
  assert.equal(ee.ee_origin, SO_EE_ORIGIN_ICMP);
  assert.equal(ee.ee_type, 3);
  assert.equal(ee.ee_code, 1);
  assert.equal(ee.offender?.addr, '10.0.0.1', 'the host unreachable came from ourselves');

  // Without IP_RECVERR the error is soft (icmp_err_convert: host unreachable is not fatal):
  // a connected socket sees nothing, as on Linux (checked: SO_ERROR 0, recv times out).
  const fd2 = t.socket(AF_INET, SOCK_DGRAM, 0);
  await t.connect(fd2, { family: AF_INET, addr: '10.0.0.9', port: 9 });
  assert.equal(await t.send(fd2, new Uint8Array([4])), 1);
  await runFor(clock, 3.5 * SEC);
  assert.equal(t.getsockopt(fd2, SOL_SOCKET, SO_ERROR), 0);
  await assert.rejects(t.recv(fd2, new Uint8Array(8), MSG_DONTWAIT), { code: 'EAGAIN' });
});

test('NUD over time: REACHABLE lapses to STALE; use moves it to DELAY, then PROBE with unicast probes', async () => {
  const { a, b, da, db, clock } = setup();
  listen(b);
  const fa = arpTap(da);
  sendProto(a, B, pattern(10));
  await settleNow(clock);
  const n = arp_neigh_get(da, B)!;
  assert.equal(n.nud_state, NUD_REACHABLE);
  // reachable_time is base_reachable_time (30 s) randomized to 15–45 s.
  const rt = n.parms.reachable_time;
  assert.ok(rt >= 15 * SEC && rt < 45 * SEC, `reachable_time ${rt}`);
  await runFor(clock, rt - 1 * SEC);
  assert.equal(n.nud_state, NUD_REACHABLE);
  await runFor(clock, 2 * SEC);
  assert.equal(n.nud_state, NUD_STALE);
  // A packet on a STALE entry goes at once (the address is probably right) and arms DELAY.
  const sent = fa.length;
  sendProto(a, B, pattern(10, 2));
  assert.equal(n.nud_state, NUD_DELAY);
  assert.equal(fa.length, sent, 'no probe yet');
  await runFor(clock, 5 * SEC + 1);
  // No confirmation within delay_first_probe_time: PROBE, unicast to the cached address.
  assert.equal(n.nud_state, NUD_REACHABLE, 'the unicast probe was answered at once');
  const probe = fa[fa.length - 1];
  assert.equal(probe.dst, mac(db.dev_addr));
  assert.equal(probe.tip, B);

  // The peer goes away: probes go unanswered, FAILED after ucast_solicit (3) of them.
  await runFor(clock, 46 * SEC);
  assert.equal(n.nud_state, NUD_STALE);
  b.ip('ip link set eth0 down');
  sendProto(a, B, pattern(10, 3));
  await runFor(clock, 5 * SEC + 1);
  assert.equal(n.nud_state, NUD_PROBE);
  const before = fa.length;
  await runFor(clock, 3 * SEC);
  assert.equal(n.nud_state, NUD_FAILED);
  assert.deepEqual(
    fa.slice(before - 1).map((f) => f.dst),
    [mac(db.dev_addr), mac(db.dev_addr), mac(db.dev_addr)],
  );
});

test('gratuitous ARP: sent on link up with arp_notify; updates known entries; creates one only with arp_accept', async () => {
  const { a, b, da, db, clock } = setup();
  const fa = arpTap(da);
  // Linux sends nothing on address add or link up by default (arp_notify = 0).
  a.ip('ip addr add 10.0.0.5/24 dev eth0');
  a.ip('ip link set eth0 down');
  a.ip('ip link set eth0 up');
  await settleNow(clock);
  assert.equal(fa.length, 0);
  a.sysctl.write('net.ipv4.conf.eth0.arp_notify', 1);
  a.ip('ip link set eth0 down');
  a.ip('ip link set eth0 up');
  await settleNow(clock);
  assert.deepEqual(
    fa.map((f) => [f.dst, f.op, f.sip, f.tip, f.tha]),
    [
      ['ff:ff:ff:ff:ff:ff', 1, A, A, '00:00:00:00:00:00'],
      ['ff:ff:ff:ff:ff:ff', 1, addr('10.0.0.5'), addr('10.0.0.5'), '00:00:00:00:00:00'],
    ],
  );
  // b had no entry and arp_accept is 0: the announcements taught it nothing.
  assert.equal(arp_neigh_get(db, A), null);
  b.sysctl.write('net.ipv4.conf.eth0.arp_accept', 1);
  arp_send_gratuitous(da, A);
  await settleNow(clock);
  assert.equal(arp_neigh_get(db, A)!.nud_state, NUD_STALE);
  // A known entry follows an announcement of a new address (a moved IP), overriding at once.
  const n = arp_neigh_get(db, A)!;
  da.dev_addr.set([2, 0, 0, 0, 0, 0x42]);
  arp_send_gratuitous(da, A);
  await settleNow(clock);
  assert.equal(mac(n.ha), '02:00:00:00:00:42');
});

/** Deliver a raw Ethernet frame to `dev` as if it came off the wire. */
function injectFrame(dev: NetDevice, frame: Uint8Array): void {
  const skb = netdev_alloc_skb(16, frame.length);
  skb.head.set(frame, skb.data);
  skb.put(frame.length);
  skb.protocol = eth_type_trans(skb, dev);
  netif_rx(skb);
}

function arpFrame(
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  f: {
    hrd?: number;
    pro?: number;
    hln?: number;
    pln?: number;
    op?: number;
    sip: number;
    tip: number;
    len?: number;
  },
): Uint8Array {
  const b = new Uint8Array(14 + (f.len ?? 28));
  b.set(dstMac, 0);
  b.set(srcMac, 6);
  b[12] = 0x08;
  b[13] = 0x06;
  const a = 14;
  const hrd = f.hrd ?? 1;
  const pro = f.pro ?? 0x0800;
  const put = (o: number, v: number, n: number) => {
    for (let i = 0; i < n; i++) b[o + i] = (v >>> (8 * (n - 1 - i))) & 0xff;
  };
  if (b.length >= a + 8) {
    put(a, hrd, 2);
    put(a + 2, pro, 2);
    b[a + 4] = f.hln ?? 6;
    b[a + 5] = f.pln ?? 4;
    put(a + 6, f.op ?? 1, 2);
  }
  if (b.length >= a + 28) {
    b.set(srcMac, a + 8);
    put(a + 14, f.sip, 4);
    put(a + 24, f.tip, 4);
  }
  return b;
}

test('bad ARP packets are dropped and counted; foreign and own-address requests are not answered', async () => {
  const { a, b, da, db, clock } = setup();
  const fb = arpTap(db);
  const st = arp_state(b.netns);
  const bc = new Uint8Array(6).fill(0xff);
  const src = da.dev_addr;
  injectFrame(db, arpFrame(bc, src, { sip: A, tip: B, len: 20 }));
  injectFrame(db, arpFrame(bc, src, { sip: A, tip: B, hln: 8 }));
  injectFrame(db, arpFrame(bc, src, { sip: A, tip: B, pln: 16 }));
  injectFrame(db, arpFrame(bc, src, { sip: A, tip: B, hrd: 0x0200 }));
  injectFrame(db, arpFrame(bc, src, { sip: A, tip: B, pro: 0x86dd }));
  injectFrame(db, arpFrame(bc, src, { sip: A, tip: B, op: 9 }));
  injectFrame(db, arpFrame(bc, src, { sip: A, tip: addr('224.0.0.1') }));
  injectFrame(db, arpFrame(bc, src, { sip: A, tip: addr('127.0.0.1') }));
  await settleNow(clock);
  assert.deepEqual(
    { ...st.drops },
    {
      pkt_too_small: 1,
      bad_addr_len: 2,
      bad_hw_proto: 2,
      bad_op: 1,
      bad_target: 2,
      gratuitous: 0,
      no_in_dev: 0,
      not_answered: 0,
      ignored: 0,
    },
  );
  assert.equal(fb.length, 0);
  // A request for an address that is not b's: no reply, and no entry for the asker.
  injectFrame(db, arpFrame(bc, src, { sip: A, tip: addr('10.0.0.77') }));
  // A request claiming to come from b's own address (a conflict or a spoof): martian source.
  const martian = rt_cache_stat(b.netns).in_martian_src;
  injectFrame(db, arpFrame(bc, src, { sip: B, tip: B }));
  injectFrame(db, arpFrame(bc, src, { sip: B, tip: addr('10.0.0.2') }));
  await settleNow(clock);
  assert.equal(fb.length, 0);
  assert.equal(arp_neigh_get(db, A), null);
  assert.equal(arp_neigh_get(db, B), null);
  assert.ok(rt_cache_stat(b.netns).in_martian_src > martian);
  assert.equal(st.drops.not_answered, 3);
  // An unsolicited reply is ignored with arp_accept = 0.
  injectFrame(db, arpFrame(db.dev_addr, src, { op: 2, sip: A, tip: B }));
  await settleNow(clock);
  assert.equal(arp_neigh_get(db, A), null);
  assert.equal(st.drops.ignored, 1);
  // Nothing reached a's side and nothing threw.
  assert.equal(arp_tbl(a.netns).entries, 0);
});

test('a duplicate address probe (sender 0.0.0.0) for our address is answered to the prober', async () => {
  const { b, da, db, clock } = setup();
  const fb = arpTap(db);
  injectFrame(db, arpFrame(new Uint8Array(6).fill(0xff), da.dev_addr, { sip: 0, tip: B }));
  await settleNow(clock);
  assert.equal(fb.length, 1);
  assert.equal(fb[0].op, 2);
  assert.equal(fb[0].tip, 0);
  assert.equal(fb[0].sip, B);
  assert.equal(arp_tbl(b.netns).entries, 0, 'a prober is not learned');
});

test('arp_ignore=1 answers only for addresses on the incoming interface', async () => {
  const { a, b, da, db, clock } = setup();
  const fb = arpTap(db);
  b.ip('ip addr add 192.168.9.9/32 dev lo');
  injectFrame(db, arpFrame(new Uint8Array(6).fill(0xff), da.dev_addr, { sip: A, tip: addr('192.168.9.9') }));
  await settleNow(clock);
  assert.equal(fb.length, 1, 'arp_ignore=0: any local address is answered');
  b.sysctl.write('net.ipv4.conf.eth0.arp_ignore', 1);
  injectFrame(db, arpFrame(new Uint8Array(6).fill(0xff), da.dev_addr, { sip: A, tip: addr('192.168.9.9') }));
  injectFrame(db, arpFrame(new Uint8Array(6).fill(0xff), da.dev_addr, { sip: A, tip: B }));
  await settleNow(clock);
  assert.equal(fb.length, 2);
  assert.equal(fb[1].sip, B);
  void a;
});

test('ip neigh add/del: permanent entries are used without ARP and survive flushes; the views list them', async () => {
  const { a, b, da, db, clock } = setup();
  const got = listen(b);
  const fa = arpTap(da);
  assert.equal(arp_neigh_add(da, B, db.dev_addr), 0);
  sendProto(a, B, pattern(30));
  await settleNow(clock);
  assert.equal(got.length, 1);
  assert.equal(fa.length, 0);
  assert.equal(arp_neigh_get(da, B)!.nud_state, NUD_PERMANENT);
  assert.equal(a.ipNeigh(), `10.0.0.2 dev eth0 lladdr ${mac(db.dev_addr)} PERMANENT \n`);
  assert.match(a.procNetArp(), /^10\.0\.0\.2 +0x1 +0x6 +/m);
  // A reply cannot change a permanent entry.
  injectFrame(da, arpFrame(da.dev_addr, new Uint8Array([2, 9, 9, 9, 9, 9]), { op: 2, sip: B, tip: A }));
  await settleNow(clock);
  assert.equal(mac(arp_neigh_get(da, B)!.ha), mac(db.dev_addr));
  assert.equal(arp_neigh_del(da, B), 0);
  assert.equal(arp_neigh_del(da, B), -2);
  assert.equal(arp_neigh_get(da, B), null);
  assert.equal(a.ipNeigh(), '');
});

test('a device going down forgets its neighbours', async () => {
  const { a, b, da, clock } = setup();
  listen(b);
  sendProto(a, B, pattern(10));
  await settleNow(clock);
  assert.ok(arp_neigh_get(da, B));
  a.ip('ip link set eth0 down');
  assert.equal(arp_neigh_get(da, B), null);
  assert.equal(arp_tbl(a.netns).entries, 0);
});

test('neighbour sysctls have Linux defaults', () => {
  const { a } = setup();
  const s = (n: string) => a.sysctl.read(n);
  assert.equal(s('net.ipv4.neigh.default.base_reachable_time_ms'), 30000);
  assert.equal(s('net.ipv4.neigh.default.base_reachable_time'), 30);
  assert.equal(s('net.ipv4.neigh.default.delay_first_probe_time'), 5);
  assert.equal(s('net.ipv4.neigh.default.retrans_time_ms'), 1000);
  assert.equal(s('net.ipv4.neigh.default.retrans_time'), 100);
  assert.equal(s('net.ipv4.neigh.default.ucast_solicit'), 3);
  assert.equal(s('net.ipv4.neigh.default.mcast_solicit'), 3);
  assert.equal(s('net.ipv4.neigh.default.app_solicit'), 0);
  assert.equal(s('net.ipv4.neigh.default.gc_stale_time'), 60);
  assert.equal(s('net.ipv4.neigh.default.unres_qlen_bytes'), 212992);
  assert.equal(s('net.ipv4.neigh.default.unres_qlen'), 101);
  assert.equal(s('net.ipv4.neigh.default.proxy_delay'), 80);
  assert.equal(s('net.ipv4.neigh.default.anycast_delay'), 100);
  assert.equal(s('net.ipv4.neigh.default.proxy_qlen'), 64);
  assert.equal(s('net.ipv4.neigh.default.gc_interval'), 30);
  assert.equal(s('net.ipv4.neigh.default.interval_probe_time_ms'), 5000);
  assert.equal(s('net.ipv4.neigh.default.gc_thresh1'), 128);
  assert.equal(s('net.ipv4.neigh.default.gc_thresh2'), 512);
  assert.equal(s('net.ipv4.neigh.default.gc_thresh3'), 1024);
  assert.equal(s('net.ipv4.neigh.default.locktime'), 100);
  assert.equal(s('net.ipv4.neigh.eth0.ucast_solicit'), 3);
  assert.equal(s('net.ipv4.conf.all.arp_ignore'), 0);
  assert.equal(s('net.ipv4.conf.eth0.arp_announce'), 0);
  assert.equal(s('net.ipv4.conf.default.arp_evict_nocarrier'), 1);
  // A default changes every device that did not set the value itself.
  a.sysctl.write('net.ipv4.neigh.default.ucast_solicit', 5);
  assert.equal(s('net.ipv4.neigh.eth0.ucast_solicit'), 5);
  a.sysctl.write('net.ipv4.neigh.eth0.ucast_solicit', 2);
  a.sysctl.write('net.ipv4.neigh.default.ucast_solicit', 7);
  assert.equal(s('net.ipv4.neigh.eth0.ucast_solicit'), 2);
});

test('the table stays within gc_thresh3: forced GC removes failed entries first', async () => {
  const { a, da, clock } = setup();
  void clock;
  a.sysctl.write('net.ipv4.neigh.default.gc_thresh2', 4);
  a.sysctl.write('net.ipv4.neigh.default.gc_thresh3', 8);
  a.sysctl.write('net.ipv4.neigh.default.mcast_solicit', 0);
  // With no probes allowed, each new entry fails at once.
  for (let i = 0; i < 20; i++) sendProto(a, addr(`10.0.0.${100 + i}`), pattern(4));
  await settleNow(clock);
  const tbl = arp_tbl(a.netns);
  assert.ok(tbl.entries <= 8, `entries ${tbl.entries}`);
  assert.ok(tbl.stats.forced_gc_runs > 0);
  void da;
});

export type { Host };

test('a router that cannot resolve the next hop tells the sender: host unreachable from the router', async () => {
  const w = newWorld(31);
  const a = w.addHost('a');
  const r = w.addHost('r');
  const c = w.addHost('c');
  link(a, 'eth0', r, 'eth0', false);
  const [cr] = link(r, 'eth1', c, 'eth0', false);
  a.ip('ip addr add 10.0.0.1/24 dev eth0');
  a.ip('ip route add default via 10.0.0.254');
  r.ip('ip addr add 10.0.0.254/24 dev eth0');
  r.ip('ip addr add 10.1.0.254/24 dev eth1');
  r.sysctl.write('net.ipv4.ip_forward', 1);
  c.ip('ip addr add 10.1.0.2/24 dev eth0');
  const clock = w.clock as VirtualClock;
  const errs: { from: number; type: number; code: number; qdaddr: number; t: number }[] = [];
  inet_add_protocol(a.netns, 200, {
    handler: () => 0,
    err_handler(skb: SkBuff) {
      const h = skb.head;
      errs.push({
        from: get32(h, skb.network_header + 12),
        type: h[skb.transport_header],
        code: h[skb.transport_header + 1],
        qdaddr: get32(h, skb.data + 16),
        t: clock.now(),
      });
      return 0;
    },
  });
  const got = listen(c, 200);
  sendProto(a, addr('10.1.0.2'), pattern(20), { proto: 200 });
  sendProto(a, addr('10.1.0.99'), pattern(20), { proto: 200 });
  await settleNow(clock);
  assert.equal(got.length, 1, 'the reachable host got its datagram through the router');
  assert.equal(arp_neigh_get(cr, addr('10.1.0.99'))!.nud_state, NUD_INCOMPLETE);
  await runFor(clock, 3 * SEC);
  assert.deepEqual(errs, [
    { from: addr('10.0.0.254'), type: 3, code: 1, qdaddr: addr('10.1.0.99'), t: 3 * SEC },
  ]);
  assert.equal(mib(r, 'Icmp', 'OutDestUnreachs'), 1);
});

test('random and mutated ARP frames and ICMP messages: nothing throws, the table stays consistent', async () => {
  const fc = (await import('fast-check')).default;
  const { inject: injectIp, buildIp } = await import('./helpers.js');
  const { a, b, da, db, clock } = setup(51);
  listen(b);
  const addrs = [A, B, C, 0, 0xffffffff, addr('127.0.0.1'), addr('224.0.0.5'), addr('10.0.0.255')];
  const arpArb = fc.record({
    hrd: fc.constantFrom(1, 6, 0x0200, 0),
    pro: fc.constantFrom(0x0800, 0x86dd),
    hln: fc.constantFrom(6, 0, 8, 255),
    pln: fc.constantFrom(4, 0, 16),
    op: fc.integer({ min: 0, max: 12 }),
    sip: fc.constantFrom(...addrs),
    tip: fc.constantFrom(...addrs),
    len: fc.integer({ min: 0, max: 60 }),
    unicast: fc.boolean(),
  });
  const frameArb = fc.oneof(
    arpArb.map((f) => arpFrame(f.unicast ? db.dev_addr : new Uint8Array(6).fill(0xff), da.dev_addr, f)),
    fc.uint8Array({ minLength: 0, maxLength: 80 }).map((p) => {
      const f = new Uint8Array(14 + p.length);
      f.set(db.dev_addr, 0);
      f[12] = 0x08;
      f[13] = 0x06;
      f.set(p, 14);
      return f;
    }),
  );
  const icmpArb = fc.record({
    type: fc.integer({ min: 0, max: 255 }),
    code: fc.integer({ min: 0, max: 20 }),
    body: fc.uint8Array({ minLength: 0, maxLength: 80 }),
    fix: fc.boolean(),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(frameArb, icmpArb), { maxLength: 8 }), async (items) => {
      const before = mib(b, 'Icmp', 'InMsgs');
      let icmps = 0;
      for (const it of items) {
        if (it instanceof Uint8Array) injectFrame(db, it);
        else {
          const m = new Uint8Array(8 + it.body.length);
          m[0] = it.type;
          m[1] = it.code;
          m.set(it.body, 8);
          if (it.fix) {
            let s = 0;
            for (let i = 0; i < m.length; i += 2) s += (m[i] << 8) | (m[i + 1] ?? 0);
            while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
            const c = ~s & 0xffff;
            m[2] = c >> 8;
            m[3] = c & 0xff;
          }
          injectIp(db, buildIp({ saddr: A, daddr: B, proto: 1, payload: m }));
          icmps++;
        }
      }
      await settleNow(clock);
      assert.equal(mib(b, 'Icmp', 'InMsgs'), before + icmps);
      const tbl = arp_tbl(b.netns);
      assert.equal([...tbl].length, tbl.entries);
      for (const n of tbl) assert.ok(n.nud_state !== 0 || n.arp_queue.qlen === 0);
    }),
    { numRuns: 300, seed: 5 },
  );
  void a;
});

test('proxy ARP: a router with proxy_arp answers for hosts it routes to, after a random proxy_delay', async () => {
  const w = newWorld(61);
  const a = w.addHost('a');
  const r = w.addHost('r');
  const c = w.addHost('c');
  const [da, ra] = link(a, 'eth0', r, 'eth0', false);
  link(r, 'eth1', c, 'eth0', false);
  // a believes all of 10/8 is on its link.
  a.ip('ip addr add 10.0.0.1/8 dev eth0');
  r.ip('ip addr add 10.0.0.254/24 dev eth0');
  r.ip('ip addr add 10.1.0.254/24 dev eth1');
  r.sysctl.write('net.ipv4.ip_forward', 1);
  c.ip('ip addr add 10.1.0.2/24 dev eth0');
  c.ip('ip route add default via 10.1.0.254');
  const clock = w.clock as VirtualClock;
  const got = listen(c, 200);
  const fr = arpTap(ra);
  // Without proxy_arp the request goes unanswered.
  sendProto(a, addr('10.1.0.2'), pattern(20), { proto: 200 });
  await runFor(clock, 3.5 * SEC);
  assert.equal(fr.length, 0);
  assert.equal(got.length, 0);
  r.sysctl.write('net.ipv4.conf.eth0.proxy_arp', 1);
  sendProto(a, addr('10.1.0.2'), pattern(20, 2), { proto: 200 });
  await settleNow(clock);
  assert.equal(fr.length, 0, 'a broadcast request waits');
  await runFor(clock, 0.8 * SEC);
  assert.equal(fr.length, 1);
  assert.ok(fr[0].t > 3.5 * SEC && fr[0].t < 4.3 * SEC + 2);
  assert.equal(fr[0].op, 2);
  assert.equal(fr[0].sip, addr('10.1.0.2'));
  assert.equal(fr[0].sha, mac(ra.dev_addr), "the router's own address");
  assert.equal(got.length, 1);
  assert.equal(mac(arp_neigh_get(da, addr('10.1.0.2'))!.ha), mac(ra.dev_addr));
  assert.equal(arp_state(r.netns).proxy_replies, 1);
});
