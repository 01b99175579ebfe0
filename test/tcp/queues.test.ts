// TCP's queues under pressure, in virtual time: a receiver that stops reading (zero window,
// window probes, the sender blocked until the reader drains), a listener whose accept queue is
// full (backlog + 1 children, further SYNs dropped and retried), a SYN flood from spoofed
// addresses that SYN cookies survive, and TIME_WAIT reuse on loopback (tcp_tw_reuse = 2).

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { set_local_port_range } from '../../src/net/ipv4/ipv4_init.js';
import type { Host } from '../../src/index.js';
import { AF_INET, SOCK_STREAM, SOL_SOCKET, SO_RCVBUF } from '../../src/uapi/socket.js';
import { TCPHDR_SYN } from '../../src/uapi/tcp.js';
import type { SockaddrIn } from '../../src/uapi/in.js';
import {
  pair,
  sin,
  sleep,
  settle,
  state,
  info,
  tableLines,
  listenOn,
  boundPorts,
  connectPair,
  writeAll,
  readAll,
  readN,
  pattern,
  segments,
  outcome,
  mib,
  forgeIp,
  injectIp,
  haltWorlds,
  newWorld,
} from './scenario_helpers.js';

afterEach(haltWorlds);

test('zero window: the reader stops, the sender blocks and probes, and resumes when the reader drains', async () => {
  const { w, a, b, ta, tb } = pair(41, { delay: 10 });
  const l = listenOn(tb, '10.0.0.2', 80);
  const { c, s } = await connectPair(ta, tb, l, '10.0.0.2', 80);
  const cap = a.capture('eth0');
  const data = pattern(1 << 20, 41);
  let written = false;
  const writer = writeAll(ta, c, data).then(() => {
    written = true;
  });
  await sleep(w, 10_000);
  assert.equal(written, false, 'the writer is blocked: the receiver reads nothing');
  const segs = segments(cap);
  const fromB = segs.filter((x) => !x.out);
  assert.ok(
    fromB.some((x) => x.win === 0),
    'b advertised a zero window',
  );
  assert.equal(mib(b, 'TcpExt', 'TCPToZeroWindowAdv') > 0, true);
  // After the window closed, a sends zero-window probes: no data, one below snd_una.
  const zeroAt = fromB.find((x) => x.win === 0)!;
  const probes = segs.filter(
    (x) => x.out && x.len === 0 && x.tNs > zeroAt.tNs && x.seq === (zeroAt.ack - 1) >>> 0,
  );
  assert.ok(probes.length >= 3, `${probes.length} window probes in 10 s`);
  // Exponential backoff: each gap at least the one before.
  for (let i = 2; i < probes.length; i++)
    assert.ok(
      probes[i].tNs - probes[i - 1].tNs >= probes[i - 1].tNs - probes[i - 2].tNs - 1e6,
      'probes back off',
    );
  assert.ok(mib(a, 'TcpExt', 'TCPWinProbe') >= 3);
  // Each probe answered with a zero window backs the probe timer off (tcp_send_probe0); the
  // answer itself resets tcpi_probes.
  assert.ok(info(ta, c).tcpi_backoff >= 3, `tcpi_backoff ${info(ta, c).tcpi_backoff}`);
  assert.equal(info(ta, c).tcpi_snd_wnd, 0);
  assert.equal(info(tb, s).tcpi_rcv_wnd, 0);
  assert.equal(state(ta, c), 'ESTABLISHED');
  assert.equal(state(tb, s), 'ESTABLISHED');
  // Probes are answered, so the connection survives a long stall.
  await sleep(w, 120_000);
  assert.equal(written, false);
  assert.equal(state(ta, c), 'ESTABLISHED');

  // The reader drains: the window opens and everything arrives.
  const reader = readN(tb, s, data.length);
  const got = await reader;
  await writer;
  assert.ok(Buffer.from(got).equals(Buffer.from(data)), 'every byte, in order');
  assert.ok(mib(b, 'TcpExt', 'TCPFromZeroWindowAdv') > 0);
  ta.close(c);
  tb.close(s);
});

test('a receiver out of memory (SO_RCVBUF lowered on an open connection) advertises a zero window', async () => {
  // Linux 6.18 over a veth, SO_RCVBUF 16384 set after accept(), the peer writing: after 3 s
  // the receiver's tcpi_rcv_wnd is 0 and the sender's tcpi_snd_wnd is 0 (backoff growing).
  const { w, ta, tb } = pair(47, { delay: 10 });
  const l = listenOn(tb, '10.0.0.2', 80);
  const { c, s } = await connectPair(ta, tb, l, '10.0.0.2', 80);
  tb.setsockopt(s, SOL_SOCKET, SO_RCVBUF, 16384);
  const data = pattern(1 << 20, 47);
  const writer = writeAll(ta, c, data);
  await sleep(w, 3_000);
  assert.equal(info(tb, s).tcpi_rcv_wnd, 0, 'the receiver advertises a zero window');
  assert.equal(info(ta, c).tcpi_snd_wnd, 0, 'the sender sees it');
  // Draining the receiver must bring the transfer to an end well before any retransmission
  // timeout gives up.
  const t = w.now();
  const got = await readN(tb, s, data.length);
  await writer;
  assert.ok(Buffer.from(got).equals(Buffer.from(data)));
  assert.ok(w.now() - t < 60_000, `drained in ${w.now() - t} ms`);
});

test('listen backlog: backlog + 1 children wait for accept; further SYNs are dropped and retried', async () => {
  // Linux 6.18, listen(fd, 2) on lo and five non-blocking connects one after another: states
  // [ESTABLISHED ×3, SYN_SENT ×2], ListenOverflows 2, ListenDrops 2; after three accept()s the
  // last two connect on their SYN retransmission, 1 s after their first SYN.
  const { w, b, ta, tb } = pair(42);
  const l = listenOn(tb, '10.0.0.2', 80, 2);
  const cs: number[] = [];
  const conns: Promise<string>[] = [];
  for (let i = 0; i < 5; i++) {
    const c = ta.socket(AF_INET, SOCK_STREAM, 0);
    cs.push(c);
    conns.push(outcome(ta.connect(c, sin('10.0.0.2', 80))));
    await settle(w);
  }
  await sleep(w, 300);
  assert.deepEqual(
    cs.map((c) => state(ta, c)),
    ['ESTABLISHED', 'ESTABLISHED', 'ESTABLISHED', 'SYN_SENT', 'SYN_SENT'],
  );
  assert.equal(mib(b, 'TcpExt', 'ListenOverflows'), 2);
  assert.equal(mib(b, 'TcpExt', 'ListenDrops'), 2);
  const li = info(tb, l);
  assert.equal(li.tcpi_unacked, 3, 'TCP_INFO of a listener: the accept queue length');
  assert.equal(li.tcpi_sacked, 2, 'and its backlog');
  const accepted: SockaddrIn[] = [];
  for (let i = 0; i < 3; i++) accepted.push((await tb.accept(l)).addr as SockaddrIn);
  assert.deepEqual(
    accepted.map((x) => x.port),
    cs.slice(0, 3).map((c) => (ta.getsockname(c) as SockaddrIn).port),
    'accepted in order of arrival',
  );
  const t = w.now();
  assert.deepEqual(await Promise.all(conns), ['OK', 'OK', 'OK', 'OK', 'OK']);
  assert.ok(w.now() - t <= 1000, 'the dropped ones got in with their first SYN retransmission');
  for (let i = 0; i < 2; i++) await tb.accept(l);
  assert.deepEqual(
    cs.map((c) => state(ta, c)),
    Array(5).fill('ESTABLISHED'),
  );
});

async function flood(seed: number, syncookies: number) {
  const { w, a, b, ta, tb, link } = pair(seed, { delay: 5 });
  b.sysctl.write('net.ipv4.tcp_syncookies', syncookies);
  const l = listenOn(tb, '10.0.0.2', 80, 8);
  // Spoofed SYNs from addresses on b's link that will never answer the SYN-ACK.
  let sent = 0;
  let stop = false;
  const flooder = (async () => {
    while (!stop) {
      for (let i = 0; i < 20; i++, sent++) {
        const syn = forgeIp({
          src: `10.0.0.${100 + (sent % 100)}`,
          dst: '10.0.0.2',
          sport: 1024 + (sent % 50000),
          dport: 80,
          seq: Math.imul(sent + 1, 2654435761) >>> 0,
          flags: TCPHDR_SYN,
          options: [{ kind: 'mss', mss: 1460 }],
        });
        injectIp(link.b, syn);
      }
      await sleep(w, 10);
    }
  })();
  await sleep(w, 500); // the queue is full by now
  const c = ta.socket(AF_INET, SOCK_STREAM, 0);
  const conn = outcome(ta.connect(c, sin('10.0.0.2', 80)));
  const accepted = tb.accept(l);
  const r = await Promise.race([conn, sleep(w, 5_000).then(() => 'still connecting')]);
  return {
    w,
    a,
    b,
    ta,
    tb,
    l,
    c,
    conn,
    accepted,
    r,
    sent,
    stopFlood: async () => ((stop = true), await flooder),
  };
}

test('SYN flood from spoofed addresses: SYN cookies keep a legitimate connect working', async () => {
  const f = await flood(43, 1);
  const { w, b, ta, tb } = f;
  assert.equal(f.r, 'OK', 'the legitimate connect completes during the flood');
  const { fd: s } = await f.accepted;
  assert.ok(mib(b, 'TcpExt', 'SyncookiesSent') > 100, `SyncookiesSent ${mib(b, 'TcpExt', 'SyncookiesSent')}`);
  assert.equal(mib(b, 'TcpExt', 'SyncookiesRecv'), 1, 'the legitimate ACK carried a valid cookie');
  assert.equal(mib(b, 'TcpExt', 'SyncookiesFailed'), 0);
  assert.ok(mib(b, 'TcpExt', 'TCPReqQFullDoCookies') > 100);
  const reqs = tableLines(b).filter((x) => x.startsWith('NEW_SYN_RECV')).length;
  assert.ok(reqs >= 8 && reqs <= 9, `${reqs} request socks: the SYN queue is held at the backlog`);
  // The cookie carried the options (timestamps on: wscale and SACK are encoded in TSval).
  const opts = info(ta, f.c).tcpi_options;
  assert.equal(opts & 7, 7, `tcpi_options ${opts}`);
  // The connection works both ways, while the flood goes on.
  const up = pattern(200_000, 1);
  const down = pattern(150_000, 2);
  const wa = writeAll(ta, f.c, up).then(() => ta.shutdown(f.c, 1));
  const wb = writeAll(tb, s, down).then(() => tb.shutdown(s, 1));
  const [gotB, gotA] = await Promise.all([readAll(tb, s), readAll(ta, f.c)]);
  await Promise.all([wa, wb]);
  assert.ok(Buffer.from(gotB).equals(Buffer.from(up)));
  assert.ok(Buffer.from(gotA).equals(Buffer.from(down)));
  await f.stopFlood();
  ta.close(f.c);
  tb.close(s);
  // The flood's request socks give up after tcp_synack_retries (63 s); then only the listener
  // and the TIME_WAIT of the closed connection are left, and that goes too.
  await sleep(w, 125_000);
  assert.deepEqual(tableLines(b), ['LISTEN 10.0.0.2:80 0.0.0.0:0']);
  assert.deepEqual(tableLines(f.a), []);
});

test('the same flood without SYN cookies shuts the legitimate client out', async () => {
  const f = await flood(44, 0);
  assert.equal(f.r, 'still connecting', 'its SYNs are dropped while the queue is full');
  assert.equal(state(f.ta, f.c), 'SYN_SENT');
  assert.ok(mib(f.b, 'TcpExt', 'TCPReqQFullDrop') > 100);
  assert.equal(mib(f.b, 'TcpExt', 'SyncookiesSent'), 0);
  await f.stopFlood();
  // Once the flood stops and its request socks expire, a SYN retransmission gets through.
  assert.equal(await f.conn, 'OK');
  await f.accepted;
});

/** net.ipv4.ip_local_port_range = "low high" (through the kernel's setter if the entry is missing). */
function portRange(h: Host, low: number, high: number): void {
  if (h.sysctl.names().includes('net.ipv4.ip_local_port_range'))
    h.sysctl.writeText('net.ipv4.ip_local_port_range', `${low} ${high}`);
  else assert.equal(set_local_port_range(h.netns, low, high), 0);
}

/** A host that connects to its own listener on loopback from port 40000 only. */
function loopbackReuse(seed: number) {
  const w = newWorld(seed);
  const h = w.addHost('h');
  const t = h.spawn();
  portRange(h, 40000, 40000);
  const l = listenOn(t, '127.0.0.1', 80, 8);
  /** Connect, accept, close the client first (its side goes to TIME_WAIT), then the server. */
  const once = async (): Promise<string> => {
    const c = t.socket(AF_INET, SOCK_STREAM, 0);
    const r = await outcome(t.connect(c, sin('127.0.0.1', 80)));
    if (r !== 'OK') {
      t.close(c);
      return r;
    }
    const { fd: s } = await t.accept(l);
    const port = (t.getsockname(c) as SockaddrIn).port;
    t.close(c);
    await sleep(w, 50);
    t.close(s);
    await sleep(w, 50);
    return String(port);
  };
  return { w, h, once };
}

const TW = 'TIME_WAIT 127.0.0.1:40000 127.0.0.1:80';
const LISTEN = 'LISTEN 127.0.0.1:80 0.0.0.0:0';

test('TIME_WAIT reuse on loopback: tcp_tw_reuse=2 lets connect() take a TIME_WAIT port after 1 s', async () => {
  // Linux 6.18 with ip_local_port_range "40000 40000": reconnecting right after an active close
  // gives EADDRNOTAVAIL; 1.1 s later it succeeds on port 40000 with tcp_tw_reuse=2 (and fails
  // with 0).
  const { w, h, once } = loopbackReuse(45);
  await sleep(w, 5_000); // see the next test for connections in the world's first second
  assert.equal(h.sysctl.read('net.ipv4.tcp_tw_reuse'), 2);
  assert.equal(await once(), '40000');
  assert.deepEqual(tableLines(h), [LISTEN, TW]);
  assert.equal(await once(), 'EADDRNOTAVAIL', 'too soon: tcp_tw_reuse_delay is 1 s');
  h.sysctl.write('net.ipv4.tcp_tw_reuse', 0);
  await sleep(w, 1_100);
  assert.equal(await once(), 'EADDRNOTAVAIL', 'tcp_tw_reuse=0: the TIME_WAIT holds the port');
  h.sysctl.write('net.ipv4.tcp_tw_reuse', 2);
  assert.equal(await once(), '40000', 'reused');
  assert.deepEqual(tableLines(h), [LISTEN, TW]);
});

test('TIME_WAIT reuse works for connections made in the first second of the world too', async () => {
  const { w, h, once } = loopbackReuse(48);
  assert.equal(await once(), '40000');
  await sleep(w, 1_100);
  assert.equal(await once(), '40000', 'reused');
  assert.deepEqual(tableLines(h), [LISTEN, TW]);
});

test('after a TIME_WAIT reuse the port stays bound: the new TIME_WAIT holds it in turn', async () => {
  const { w, h, once } = loopbackReuse(49);
  await sleep(w, 5_000);
  assert.equal(await once(), '40000');
  await sleep(w, 1_100);
  assert.equal(await once(), '40000', 'reused');
  assert.deepEqual(boundPorts(h), [80, 40000], 'the new TIME_WAIT holds port 40000 in the bind hash');
  h.sysctl.write('net.ipv4.tcp_tw_reuse', 0);
  await sleep(w, 1_100);
  assert.equal(await once(), 'EADDRNOTAVAIL');
  assert.deepEqual(tableLines(h), [LISTEN, TW]);
});

test('TIME_WAIT reuse with tcp_tw_reuse=2 is for loopback only', async () => {
  const { w, a, ta, tb } = pair(46);
  portRange(a, 40000, 40000);
  const l = listenOn(tb, '10.0.0.2', 80, 8);
  await sleep(w, 5_000);
  const { c, s } = await connectPair(ta, tb, l, '10.0.0.2', 80);
  ta.close(c);
  await sleep(w, 50);
  tb.close(s);
  await sleep(w, 1_100);
  assert.deepEqual(tableLines(a), ['TIME_WAIT 10.0.0.1:40000 10.0.0.2:80']);
  const c2 = ta.socket(AF_INET, SOCK_STREAM, 0);
  assert.equal(await outcome(ta.connect(c2, sin('10.0.0.2', 80))), 'EADDRNOTAVAIL');
  a.sysctl.write('net.ipv4.tcp_tw_reuse', 1);
  const c3 = ta.socket(AF_INET, SOCK_STREAM, 0);
  const acc = tb.accept(l);
  assert.equal(await outcome(ta.connect(c3, sin('10.0.0.2', 80))), 'OK', 'tcp_tw_reuse=1: any interface');
  assert.equal((ta.getsockname(c3) as SockaddrIn).port, 40000);
  await acc;
});
