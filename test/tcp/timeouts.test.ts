// TCP giving up, in virtual time, against Linux's defaults: a connect into a black hole
// (tcp_syn_retries = 6 plus tcp_syn_linear_timeouts = 4 linear retries), ICMP errors that end a
// connect (EHOSTUNREACH from a router or from the host's own neighbour resolution,
// ECONNREFUSED from a port unreachable), keepalive against a peer that vanished
// (idle + cnt × intvl), and TCP_USER_TIMEOUT on unacknowledged data.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { World } from '../../src/index.js';
import { AF_INET, SOCK_STREAM, SOL_SOCKET, SO_KEEPALIVE, SOL_TCP } from '../../src/uapi/socket.js';
import { TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT } from '../../src/uapi/tcp.js';
import { ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, ICMP_PORT_UNREACH } from '../../src/uapi/in.js';
import {
  pair,
  sin,
  sleep,
  state,
  info,
  tableLines,
  listenOn,
  connectPair,
  writeAll,
  readN,
  segments,
  outcome,
  mib,
  enc,
  forgeIcmpError,
  macText,
  injectIp,
  haltWorlds,
  newWorld,
} from './scenario_helpers.js';

afterEach(haltWorlds);

/**
 * Two hosts where a believes 10.0.0.3 lives at b's MAC: b, not a router, drops what it gets for
 * 10.0.0.3 without a word. a's frames still leave its device, so a capture there sees them.
 */
function blackHole(seed: number): ReturnType<typeof pair> {
  const p = pair(seed, { delay: 10 });
  p.a.ip(`ip neigh add 10.0.0.3 lladdr ${macText(p.link.b.dev_addr)} dev eth0 nud permanent`);
  return p;
}

test('connect into a black hole: SYNs at 0,1,2,3,4,5,7,11,19,35,67 s, ETIMEDOUT at 131 s', async () => {
  // Linux 6.18 on this machine (tcp_syn_retries=6, tcp_syn_linear_timeouts=4), measured with a
  // veth whose peer answers nothing: SYNs at 0, 1.02, 2.04, 3.07, 4.10, 5.12, 7.13, 11.36,
  // 19.55, 35.68, 68.19 s and ETIMEDOUT at 133.7 s — the nominal schedule plus timer slack:
  // RTO 1 s for the first SYN and four linear retries, then 2, 4, 8, 16, 32, 64 s.
  const { w, a, ta } = blackHole(31);
  assert.equal(a.sysctl.read('net.ipv4.tcp_syn_retries'), 6);
  assert.equal(a.sysctl.read('net.ipv4.tcp_syn_linear_timeouts'), 4);
  const cap = a.capture('eth0');
  const c = ta.socket(AF_INET, SOCK_STREAM, 0);
  const t0 = w.now();
  const r = await outcome(ta.connect(c, sin('10.0.0.3', 80)));
  const took = w.now() - t0;
  assert.equal(r, 'ETIMEDOUT');
  const syns = segments(cap)
    .filter((x) => x.out && x.f === 'S')
    .map((x) => x.tNs / 1e6 - t0);
  const expected = [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67].map((s) => s * 1000);
  assert.equal(syns.length, expected.length, `SYNs at ${syns.join(', ')} ms`);
  syns.forEach((t, i) =>
    assert.ok(Math.abs(t - expected[i]) <= 20, `SYN ${i} at ${t} ms, expected ${expected[i]}`),
  );
  assert.ok(Math.abs(took - 131_000) <= 50, `ETIMEDOUT after ${took} ms, expected 131000`);
  assert.equal(state(ta, c), 'CLOSE');
  assert.deepEqual(tableLines(a), []);
  // Every firing of the retransmission timer counts, the last one (which gives up) too: 11 on
  // Linux for this schedule.
  assert.equal(mib(a, 'TcpExt', 'TCPTimeouts'), 11);
  assert.equal(mib(a, 'Tcp', 'AttemptFails'), 1);
});

/** a 10.0.1.2 — r — c 10.0.2.2, ARP on everywhere. */
function routed(seed: number): {
  w: World;
  a: ReturnType<World['addHost']>;
  r: ReturnType<World['addHost']>;
} {
  const w = newWorld(seed);
  const a = w.addHost('a');
  const r = w.addHost('r');
  const c = w.addHost('c');
  w.link(a, r, { delay: 5 });
  w.link(r, c, { delay: 5 });
  a.ip('ip addr add 10.0.1.2/24 dev eth0');
  a.ip('ip route add default via 10.0.1.1');
  r.ip('ip addr add 10.0.1.1/24 dev eth0');
  r.ip('ip addr add 10.0.2.1/24 dev eth1');
  r.sysctl.write('net.ipv4.ip_forward', 1);
  c.ip('ip addr add 10.0.2.2/24 dev eth0');
  c.ip('ip route add default via 10.0.2.1');
  return { w, a, r };
}

test('EHOSTUNREACH: the router cannot resolve the destination and says so with ICMP', async () => {
  const { w, a } = routed(32);
  const cap = a.capture('eth0');
  const ta = a.spawn();
  const c = ta.socket(AF_INET, SOCK_STREAM, 0);
  const t0 = w.now();
  assert.equal(await outcome(ta.connect(c, sin('10.0.2.99', 80))), 'EHOSTUNREACH');
  const took = w.now() - t0;
  // The router gives up on ARP after 3 probes 1 s apart (mcast_solicit, retrans_time).
  assert.ok(took >= 2_900 && took <= 4_000, `EHOSTUNREACH after ${took} ms`);
  const icmp = cap.frames.filter((f) => !f.outgoing && f.data[23] === 1).map((f) => f.data);
  assert.ok(icmp.length >= 1, 'an ICMP error reached a');
  assert.deepEqual([icmp[0][34], icmp[0][35]], [ICMP_DEST_UNREACH, ICMP_HOST_UNREACH]);
  assert.deepEqual([...icmp[0].subarray(26, 30)], [10, 0, 1, 1], 'from the router');
  assert.equal(state(ta, c), 'CLOSE');
  assert.deepEqual(tableLines(a), []);
});

test('EHOSTUNREACH: a neighbour on the link that never answers ARP', async () => {
  const { w, a, ta } = pair(33, { delay: 5 }, true);
  const c = ta.socket(AF_INET, SOCK_STREAM, 0);
  const t0 = w.now();
  assert.equal(await outcome(ta.connect(c, sin('10.0.0.77', 80))), 'EHOSTUNREACH');
  const took = w.now() - t0;
  assert.ok(took >= 2_900 && took <= 4_000, `EHOSTUNREACH after ${took} ms`);
  assert.deepEqual(tableLines(a), []);
});

test('ECONNREFUSED from an ICMP port unreachable quoting the SYN', async () => {
  const { w, a, ta, link } = blackHole(34); // nothing comes back but what we inject
  const cap = a.capture('eth0');
  const c = ta.socket(AF_INET, SOCK_STREAM, 0);
  const conn = outcome(ta.connect(c, sin('10.0.0.3', 80)));
  await sleep(w, 100);
  const syn = segments(cap).find((x) => x.out && x.f === 'S')!;
  assert.ok(syn, 'a SYN was sent');
  // A port unreachable quoting a sequence number a never sent is ignored (tcp_v4_err checks
  // that the quoted seq lies in snd_una..snd_nxt).
  const bogus = syn.ip.slice();
  bogus[24] ^= 0x80;
  injectIp(link.a, forgeIcmpError('10.0.0.3', '10.0.0.1', ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, bogus));
  await sleep(w, 10);
  assert.equal(state(ta, c), 'SYN_SENT');
  injectIp(link.a, forgeIcmpError('10.0.0.3', '10.0.0.1', ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, syn.ip));
  assert.equal(await conn, 'ECONNREFUSED');
  assert.ok(w.now() < 200, 'at once, not after the SYN retries');
  assert.equal(state(ta, c), 'CLOSE');
  assert.deepEqual(tableLines(a), []);
});

test('an ICMP host unreachable on an established connection is a soft error: the connection lives', async () => {
  const { w, a, ta, tb, link } = pair(35, { delay: 10 });
  const cap = a.capture('eth0');
  const l = listenOn(tb, '10.0.0.2', 80);
  const { c, s } = await connectPair(ta, tb, l, '10.0.0.2', 80);
  await writeAll(ta, c, enc('hello'));
  await sleep(w, 10); // the segment has left (after the link's delay)
  const seg = segments(cap).find((x) => x.out && x.len === 5)!;
  injectIp(link.a, forgeIcmpError('10.0.0.2', '10.0.0.1', ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, seg.ip));
  await sleep(w, 50);
  assert.equal(state(ta, c), 'ESTABLISHED');
  assert.equal(new TextDecoder().decode(await readN(tb, s, 5)), 'hello');
  await writeAll(tb, s, enc('world'));
  assert.equal(new TextDecoder().decode(await readN(ta, c, 5)), 'world');
  assert.deepEqual(
    tableLines(a).map((x) => x.split(' ')[0]),
    ['ESTABLISHED'],
  );
});

test('keepalive: probes every intvl after idle; a vanished peer is declared dead after idle + cnt × intvl', async () => {
  const { w, a, ta, tb, link } = pair(36, { delay: 10 });
  const l = listenOn(tb, '10.0.0.2', 80);
  const { c, s } = await connectPair(ta, tb, l, '10.0.0.2', 80);
  ta.setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, 1);
  ta.setsockopt(c, SOL_TCP, TCP_KEEPIDLE, 10);
  ta.setsockopt(c, SOL_TCP, TCP_KEEPINTVL, 5);
  ta.setsockopt(c, SOL_TCP, TCP_KEEPCNT, 3);
  assert.equal(ta.getsockopt(c, SOL_TCP, TCP_KEEPIDLE), 10);
  const cap = a.capture('eth0');
  // With the peer there, each probe is answered and the connection stays up indefinitely.
  await sleep(w, 35_000);
  assert.equal(state(ta, c), 'ESTABLISHED');
  const probes = segments(cap).filter((x) => x.out && x.len === 0 && x.f === '.');
  assert.ok(probes.length >= 3, `${probes.length} probes in 35 s of idle`);
  const answered = segments(cap).filter((x) => !x.out);
  assert.ok(answered.length >= probes.length, 'every probe answered');
  assert.ok(mib(a, 'TcpExt', 'TCPKeepAlive') >= 3);

  // The peer vanishes (no RST, nothing): a notices after 10 + 3 × 5 s of silence.
  await sleep(w, 2_000);
  link.partition();
  const lastIn =
    segments(cap)
      .filter((x) => !x.out)
      .pop()!.tNs / 1e6;
  const probesBefore = mib(a, 'TcpExt', 'TCPKeepAlive');
  const r = outcome(ta.read(c, new Uint8Array(16)));
  const seen: number[] = [];
  for (const at of [9_900, 10_100, 15_100, 20_100, 24_900]) {
    await sleep(w, lastIn + at - w.now());
    seen.push(info(ta, c).tcpi_probes);
  }
  assert.deepEqual(seen, [0, 1, 2, 3, 3], 'tcpi_probes: one probe at idle, then one per interval');
  assert.equal(mib(a, 'TcpExt', 'TCPKeepAlive') - probesBefore, 3);
  assert.equal(await r, 'ETIMEDOUT');
  const deadAt = w.now() - lastIn;
  assert.ok(Math.abs(deadAt - 25_000) <= 20, `ETIMEDOUT ${deadAt} ms after the last segment from the peer`);
  assert.equal(state(ta, c), 'CLOSE');
  assert.deepEqual(tableLines(a), []);
  assert.equal(mib(a, 'TcpExt', 'TCPAbortOnTimeout'), 1);
  tb.close(s);
});

test('TCP_USER_TIMEOUT: unacknowledged data is given up after the user timeout, not after tcp_retries2', async () => {
  const { w, a, ta, tb, link } = pair(37, { delay: 10 });
  const l = listenOn(tb, '10.0.0.2', 80);
  const { c } = await connectPair(ta, tb, l, '10.0.0.2', 80);
  ta.setsockopt(c, SOL_TCP, TCP_USER_TIMEOUT, 5000);
  assert.equal(ta.getsockopt(c, SOL_TCP, TCP_USER_TIMEOUT), 5000);
  await sleep(w, 1000);
  link.set({ partition: true }, 'b->a'); // nothing comes back from b
  const cap = a.capture('eth0');
  const t0 = w.now();
  assert.equal(await ta.write(c, enc('into the void')), 13);
  const pending = outcome(ta.read(c, new Uint8Array(16)));
  await sleep(w, 4_900);
  assert.equal(state(ta, c), 'ESTABLISHED');
  // RTO 220 ms (20 ms RTT + tcp_rto_min). A tail loss probe goes first, at min(PTO, RTO) =
  // 0.22 s; then RTO retransmissions at 0.44, 0.88, 1.76, 3.52 s.
  assert.equal(info(ta, c).tcpi_retransmits, 4);
  assert.equal(await pending, 'ETIMEDOUT');
  const took = w.now() - t0;
  // The user timeout counts from the first RTO retransmission (tcp_retransmit_skb stamps
  // retrans_stamp with the skb's send time after resending it; the loss probe does not), and
  // tcp_clamp_rto_to_user_timeout() cuts the last RTO so the deadline is met: 440 + 5000 ms.
  // (Linux 6.18 over a veth, RTO 204 ms: resends at 0.21, 0.42, 0.85, 1.69, 3.35 s, ETIMEDOUT
  // at 5.45–5.66 s with its timer slack.)
  assert.ok(Math.abs(took - 5_440) <= 10, `ETIMEDOUT after ${took} ms, expected 5440`);
  const tx = segments(cap)
    .filter((x) => x.out && x.len === 13)
    .map((x) => Math.round(x.tNs / 1e6 - t0));
  // Each leaves after the link's 10 ms; nothing is sent when the clamped timer expires.
  assert.deepEqual(tx, [10, 230, 450, 890, 1770, 3530]);
  assert.equal(state(ta, c), 'CLOSE');
  assert.deepEqual(tableLines(a), []);
  assert.equal(mib(a, 'TcpExt', 'TCPAbortOnTimeout'), 1);
});

test('without TCP_USER_TIMEOUT the same data is retransmitted for many minutes (tcp_retries2 = 15)', async () => {
  const { w, ta, tb, link } = pair(38, { delay: 10 });
  const l = listenOn(tb, '10.0.0.2', 80);
  const { c } = await connectPair(ta, tb, l, '10.0.0.2', 80);
  await sleep(w, 1000);
  assert.equal(info(ta, c).tcpi_rto, 220_000, 'RTO from the handshake RTT sample: 20 ms + tcp_rto_min');
  link.partition();
  const t0 = w.now();
  await ta.write(c, enc('into the void'));
  const r = await outcome(ta.read(c, new Uint8Array(16)));
  const took = w.now() - t0;
  assert.equal(r, 'ETIMEDOUT');
  // Linux: tcp_retries2 = 15 means 924.6 s (tcp_model_timeout: RTO 200 ms doubled to 120 s)
  // from the first RTO retransmission, checked when the retransmission timer fires. Here: a loss
  // probe at 0.22 s, RTO firings at 0.44 s and then 0.22 × 2^k later up to 0.22 + 0.22 ×
  // (2^10 − 1) = 225.28 s, then every 120 s: the first firing past 0.44 + 924.6 s is 945.28 s.
  assert.ok(Math.abs(took - 945_280) <= 50, `gave up after ${took} ms, expected 945280`);
});
