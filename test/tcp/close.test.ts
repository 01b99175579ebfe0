// Every way a TCP connection ends, watched from both hosts in virtual time: the active closer's
// FIN_WAIT1 → FIN_WAIT2 → TIME_WAIT for 60 s (TCP_TIMEWAIT_LEN) and then nothing; the passive
// side's CLOSE_WAIT → LAST_ACK → CLOSE; simultaneous close through CLOSING; an orphan in
// FIN_WAIT2 given up after tcp_fin_timeout; and the resets: a connect to a port nobody listens
// on, a close with unread data (RFC 2525 §2.17), SO_LINGER {1, 0}.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { AF_INET, SOCK_STREAM, SHUT_WR, SOL_SOCKET, SO_LINGER } from '../../src/uapi/socket.js';
import type { SockaddrIn } from '../../src/uapi/in.js';
import {
  pair,
  sin,
  sleep,
  state,
  tableLines,
  boundPorts,
  listenOn,
  connectPair,
  writeAll,
  readN,
  segments,
  outcome,
  mib,
  enc,
  dec,
  type Pair,
  haltWorlds,
} from './scenario_helpers.js';

afterEach(haltWorlds);

const PORT = 8000;

async function established(seed: number): Promise<Pair & { l: number; c: number; s: number; cport: number }> {
  const p = pair(seed, { delay: 10 });
  const l = listenOn(p.tb, '10.0.0.2', PORT);
  const { c, s } = await connectPair(p.ta, p.tb, l, '10.0.0.2', PORT);
  // Some data both ways, all read, so nothing is pending when the closing starts.
  await writeAll(p.ta, c, enc('ping'));
  assert.equal(dec(await readN(p.tb, s, 4)), 'ping');
  await writeAll(p.tb, s, enc('pong'));
  assert.equal(dec(await readN(p.ta, c, 4)), 'pong');
  await sleep(p.w, 500); // every ACK delivered, delayed ones too
  return { ...p, l, c, s, cport: (p.ta.getsockname(c) as SockaddrIn).port };
}

test('active close: FIN_WAIT1, FIN_WAIT2, TIME_WAIT for 60 s, then the port is free', async () => {
  const { w, a, b, ta, tb, c, s, cport } = await established(21);
  const conn = `10.0.0.1:${cport} 10.0.0.2:${PORT}`;
  ta.close(c);
  await sleep(w, 5); // the FIN is on the wire
  assert.deepEqual(tableLines(a), [`FIN_WAIT1 ${conn}`]);
  await sleep(w, 300); // acknowledged
  assert.deepEqual(tableLines(a), [`FIN_WAIT2 ${conn}`]);
  assert.equal(state(tb, s), 'CLOSE_WAIT');
  assert.equal(await tb.read(s, new Uint8Array(8)), 0, 'the passive side reads end of file');

  tb.close(s);
  const closedAt = w.now();
  await sleep(w, 5);
  assert.deepEqual(tableLines(b), [
    `LAST_ACK 10.0.0.2:${PORT} 10.0.0.1:${cport}`,
    `LISTEN 10.0.0.2:${PORT} 0.0.0.0:0`,
  ]);
  await sleep(w, 10); // b's FIN has reached a
  assert.deepEqual(tableLines(a), [`TIME_WAIT ${conn}`]);
  const twAt = closedAt + 10;
  await sleep(w, 10); // a's ACK has reached b: b's side is gone
  assert.deepEqual(tableLines(b), [`LISTEN 10.0.0.2:${PORT} 0.0.0.0:0`]);

  // TIME_WAIT holds the 4-tuple and the port for 60 s.
  await sleep(w, twAt + 59_900 - w.now());
  assert.deepEqual(tableLines(a), [`TIME_WAIT ${conn}`]);
  assert.deepEqual(boundPorts(a), [cport]);
  await sleep(w, 200);
  assert.deepEqual(tableLines(a), [], 'TIME_WAIT ends after 60 s');
  assert.deepEqual(boundPorts(a), [], 'and the port is released');
});

test('passive close: CLOSE_WAIT until the application closes, LAST_ACK until the ACK, then CLOSE', async () => {
  const { w, a, b, ta, tb, c, s, cport } = await established(22);
  ta.shutdown(c, SHUT_WR);
  await sleep(w, 5);
  assert.equal(state(ta, c), 'FIN_WAIT1');
  await sleep(w, 10); // the FIN arrived
  assert.equal(state(tb, s), 'CLOSE_WAIT');
  // CLOSE_WAIT lasts as long as the application wants.
  await sleep(w, 120_000);
  assert.equal(state(tb, s), 'CLOSE_WAIT');
  assert.equal(state(ta, c), 'FIN_WAIT2', 'a socket that is not orphaned waits in FIN_WAIT2 for ever');
  tb.shutdown(s, SHUT_WR);
  await sleep(w, 5);
  assert.equal(state(tb, s), 'LAST_ACK');
  await sleep(w, 10); // the FIN reached a, which acknowledges at once
  assert.equal(state(ta, c), 'CLOSE');
  assert.deepEqual(tableLines(a), [`TIME_WAIT 10.0.0.1:${cport} 10.0.0.2:${PORT}`]);
  await sleep(w, 10); // a's ACK reached b
  assert.equal(state(tb, s), 'CLOSE');
  assert.deepEqual(tableLines(b), [`LISTEN 10.0.0.2:${PORT} 0.0.0.0:0`]);
  tb.close(s);
  ta.close(c);
  assert.deepEqual(tableLines(b), [`LISTEN 10.0.0.2:${PORT} 0.0.0.0:0`]);
});

test('simultaneous close: both FIN_WAIT1, both CLOSING, both TIME_WAIT, then nothing', async () => {
  const { w, a, b, ta, tb, c, s, cport } = await established(23);
  const ca = `10.0.0.1:${cport} 10.0.0.2:${PORT}`;
  const cb = `10.0.0.2:${PORT} 10.0.0.1:${cport}`;
  ta.shutdown(c, SHUT_WR);
  tb.shutdown(s, SHUT_WR);
  await sleep(w, 5);
  assert.deepEqual([state(ta, c), state(tb, s)], ['FIN_WAIT1', 'FIN_WAIT1']);
  await sleep(w, 10); // each has the other's FIN, its own not yet acknowledged
  assert.deepEqual([state(ta, c), state(tb, s)], ['CLOSING', 'CLOSING']);
  await sleep(w, 10); // the ACKs of the FINs arrived
  assert.deepEqual([state(ta, c), state(tb, s)], ['CLOSE', 'CLOSE']);
  assert.deepEqual(tableLines(a), [`TIME_WAIT ${ca}`]);
  assert.deepEqual(tableLines(b), [`LISTEN 10.0.0.2:${PORT} 0.0.0.0:0`, `TIME_WAIT ${cb}`]);
  ta.close(c);
  tb.close(s);
  await sleep(w, 59_000);
  assert.deepEqual(tableLines(a), [`TIME_WAIT ${ca}`]);
  await sleep(w, 1_100);
  assert.deepEqual(tableLines(a), []);
  assert.deepEqual(tableLines(b), [`LISTEN 10.0.0.2:${PORT} 0.0.0.0:0`]);
});

test('an orphan in FIN_WAIT2 is given up after tcp_fin_timeout; the peer then gets a reset', async () => {
  const { w, a, b, ta, tb, c, s, cport } = await established(24);
  w.hosts.get('a')!.sysctl.write('net.ipv4.tcp_fin_timeout', 30);
  ta.close(c);
  await sleep(w, 300);
  assert.deepEqual(tableLines(a), [`FIN_WAIT2 10.0.0.1:${cport} 10.0.0.2:${PORT}`]);
  await sleep(w, 29_000);
  assert.equal(tableLines(a).length, 1);
  await sleep(w, 1_000);
  assert.deepEqual(tableLines(a), [], 'the FIN_WAIT2 orphan is gone after 30 s');
  // b, still in CLOSE_WAIT, now writes to a connection a has forgotten: a answers RST.
  assert.equal(state(tb, s), 'CLOSE_WAIT');
  const rsts = mib(a, 'Tcp', 'OutRsts');
  await tb.write(s, enc('late'));
  await sleep(w, 30);
  assert.equal(mib(a, 'Tcp', 'OutRsts'), rsts + 1);
  assert.equal(state(tb, s), 'CLOSE');
  assert.equal(await outcome(tb.write(s, enc('again'))), 'EPIPE');
  assert.deepEqual(tableLines(b), [`LISTEN 10.0.0.2:${PORT} 0.0.0.0:0`]);
});

test('connect to a port with no listener: RST, ECONNREFUSED, nothing left behind', async () => {
  const { w, a, b, ta, tb } = pair(25, { delay: 10 });
  const cap = a.capture('eth0');
  // A socket bound to the port but not listening refuses too.
  const bound = tb.socket(AF_INET, SOCK_STREAM, 0);
  tb.bind(bound, sin('10.0.0.2', 9));
  const c = ta.socket(AF_INET, SOCK_STREAM, 0);
  const t0 = w.now();
  assert.equal(await outcome(ta.connect(c, sin('10.0.0.2', 9))), 'ECONNREFUSED');
  assert.equal(w.now() - t0, 20, 'refused after one round trip');
  assert.equal(state(ta, c), 'CLOSE');
  const segs = segments(cap).map((x) => `${x.out ? '>' : '<'} ${x.f}`);
  assert.deepEqual(segs, ['> S', '< R.']);
  const [syn, rst] = segments(cap);
  assert.equal(rst.seq, 0);
  assert.equal(rst.ack, (syn.seq + 1) >>> 0);
  assert.equal(mib(b, 'Tcp', 'OutRsts'), 1);
  assert.equal(mib(a, 'Tcp', 'AttemptFails'), 1);
  assert.deepEqual(tableLines(a), []);
  assert.deepEqual(boundPorts(a), []);
  // The socket may connect again, to a listener this time.
  ta.close(c);
  const l = listenOn(tb, '10.0.0.2', 10);
  const c2 = ta.socket(AF_INET, SOCK_STREAM, 0);
  const acc = tb.accept(l);
  assert.equal(await outcome(ta.connect(c2, sin('10.0.0.2', 10))), 'OK');
  await acc;
});

test('close with unread data sends RST instead of FIN; the peer reads ECONNRESET', async () => {
  const { w, a, b, ta, tb, c, s, cport } = await established(26);
  const cap = a.capture('eth0');
  await writeAll(ta, c, enc('never read'));
  await sleep(w, 300);
  const pending = ta.read(c, new Uint8Array(64)); // a waits for an answer
  tb.close(s); // ten bytes b never read
  await sleep(w, 1);
  assert.deepEqual(tableLines(b), [`LISTEN 10.0.0.2:${PORT} 0.0.0.0:0`], 'no FIN_WAIT, no TIME_WAIT on b');
  assert.equal(mib(b, 'TcpExt', 'TCPAbortOnClose'), 1);
  assert.equal(await outcome(pending), 'ECONNRESET');
  assert.equal(state(ta, c), 'CLOSE');
  assert.deepEqual(tableLines(a), []);
  const last = segments(cap).filter((x) => !x.out && x.dport === cport);
  assert.equal(last[last.length - 1].f, 'R.');
  assert.ok(!last.some((x) => x.flags & 1), 'b sent no FIN');
  // The error is reported once; then the connection is simply shut.
  assert.equal(await outcome(ta.write(c, enc('x'))), 'EPIPE');
  assert.equal(mib(a, 'Tcp', 'EstabResets'), 1);
});

test('SO_LINGER {1, 0}: close() aborts with RST, no TIME_WAIT, the peer gets ECONNRESET', async () => {
  const { a, b, ta, tb, c, s, cport } = await established(27);
  const cap = b.capture('eth0');
  ta.setsockopt(c, SOL_SOCKET, SO_LINGER, { l_onoff: 1, l_linger: 0 });
  assert.deepEqual(ta.getsockopt(c, SOL_SOCKET, SO_LINGER), { l_onoff: 1, l_linger: 0 });
  const pending = tb.read(s, new Uint8Array(64));
  ta.close(c);
  assert.deepEqual(tableLines(a), [], 'gone at once: no FIN_WAIT, no TIME_WAIT');
  assert.deepEqual(boundPorts(a), []);
  assert.equal(mib(a, 'TcpExt', 'TCPAbortOnData'), 1);
  assert.equal(await outcome(pending), 'ECONNRESET');
  assert.equal(state(tb, s), 'CLOSE');
  const fromA = segments(cap).filter((x) => !x.out && x.sport === cport);
  assert.equal(fromA[fromA.length - 1].f, 'R.');
  assert.ok(!fromA.some((x) => x.flags & 1), 'a sent no FIN');
  assert.deepEqual(tableLines(b), [`LISTEN 10.0.0.2:${PORT} 0.0.0.0:0`]);
  tb.close(s);
});
