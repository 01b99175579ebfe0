// TCP between two hosts on a link, in virtual time: the three-way handshake seen from both
// ends (states, names, the segments on the wire), data both ways with every byte checked,
// half-close (SHUT_WR, then the peer keeps sending), and simultaneous open (RFC 793 §3.4,
// figure 8: two SYN_SENT sockets that meet each other's SYN).

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { AF_INET, SOCK_STREAM, SHUT_WR, MSG_DONTWAIT } from '../../src/uapi/socket.js';
import type { SockaddrIn } from '../../src/uapi/in.js';
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
  readAll,
  readN,
  pattern,
  segments,
  outcome,
  enc,
  dec,
  haltWorlds,
} from './scenario_helpers.js';

afterEach(haltWorlds);

test('handshake: active and passive open, names, states and the three segments', async () => {
  const { w, a, b, ta, tb } = pair(11, { delay: 10 });
  const cap = a.capture('eth0');
  const l = listenOn(tb, '0.0.0.0', 8080, 16);
  assert.equal(state(tb, l), 'LISTEN');
  assert.deepEqual(tableLines(b), ['LISTEN 0.0.0.0:8080 0.0.0.0:0']);

  const c = ta.socket(AF_INET, SOCK_STREAM, 0);
  assert.equal(state(ta, c), 'CLOSE');
  const t0 = w.now();
  const conn = ta.connect(c, sin('10.0.0.2', 8080));
  await sleep(w, 5);
  assert.equal(state(ta, c), 'SYN_SENT');
  await sleep(w, 10); // the SYN has arrived, the SYN-ACK is on its way back
  assert.ok(
    tableLines(b).some((l) => l.startsWith('NEW_SYN_RECV 10.0.0.2:8080 10.0.0.1:')),
    `a request sock on b: ${tableLines(b).join(', ')}`,
  );
  await conn;
  assert.equal(w.now() - t0, 20, 'connect() returns one round trip after it starts');
  assert.equal(state(ta, c), 'ESTABLISHED');

  const { fd: s, addr } = await tb.accept(l);
  assert.equal(w.now() - t0, 30, 'the child is accepted when the third segment arrives');
  assert.equal(state(tb, s), 'ESTABLISHED');

  const cname = ta.getsockname(c) as SockaddrIn;
  assert.equal(cname.addr, '10.0.0.1');
  assert.ok(cname.port >= 32768 && cname.port <= 60999, `ephemeral port ${cname.port}`);
  assert.deepEqual(ta.getpeername(c), { ...sin('10.0.0.2', 8080), addrlen: 16 });
  assert.deepEqual(tb.getsockname(s), { ...sin('10.0.0.2', 8080), addrlen: 16 });
  assert.deepEqual(tb.getpeername(s), { ...cname, addrlen: 16 });
  assert.equal((addr as SockaddrIn).addr, '10.0.0.1');
  assert.equal((addr as SockaddrIn).port, cname.port);
  // The listener's getpeername is ENOTCONN.
  assert.throws(() => tb.getpeername(l), { code: 'ENOTCONN' });

  // SYN, SYN-ACK, ACK on a's wire: sequence and acknowledgement numbers chain up.
  const segs = segments(cap).filter((x) => x.sport === cname.port || x.dport === cname.port);
  assert.deepEqual(
    segs.slice(0, 3).map((x) => `${x.out ? '>' : '<'} ${x.f}`),
    ['> S', '< S.', '> .'],
  );
  const [syn, synack, ack] = segs;
  assert.equal(synack.ack, (syn.seq + 1) >>> 0);
  assert.equal(ack.seq, (syn.seq + 1) >>> 0);
  assert.equal(ack.ack, (synack.seq + 1) >>> 0);
  assert.equal(syn.len + synack.len + ack.len, 0);

  assert.deepEqual(tableLines(a), [`ESTABLISHED 10.0.0.1:${cname.port} 10.0.0.2:8080`]);
  assert.deepEqual(tableLines(b), [
    `ESTABLISHED 10.0.0.2:8080 10.0.0.1:${cname.port}`,
    'LISTEN 0.0.0.0:8080 0.0.0.0:0',
  ]);
  // TCP_INFO: options negotiated as Linux does by default (timestamps, SACK, window scaling).
  const ia = info(ta, c);
  assert.equal(ia.tcpi_options & 7, 7);
  assert.equal(ia.tcpi_snd_mss, 1448);
});

test('data both ways at once, every byte checked, then an orderly close', async () => {
  const { w, ta, tb } = pair(12, { delay: 3, rate: '100mbit' });
  const l = listenOn(tb, '10.0.0.2', 7000);
  const { c, s } = await connectPair(ta, tb, l, '10.0.0.2', 7000);
  const up = pattern(777_777, 1);
  const down = pattern(555_555, 2);
  const aw = writeAll(ta, c, up, 65536).then(() => ta.shutdown(c, SHUT_WR));
  const bw = writeAll(tb, s, down, 100_000).then(() => tb.shutdown(s, SHUT_WR));
  const [gotB, gotA] = await Promise.all([readAll(tb, s), readAll(ta, c)]);
  await Promise.all([aw, bw]);
  assert.equal(gotB.length, up.length);
  assert.ok(Buffer.from(gotB).equals(Buffer.from(up)), 'b got what a sent');
  assert.equal(gotA.length, down.length);
  assert.ok(Buffer.from(gotA).equals(Buffer.from(down)), 'a got what b sent');
  await sleep(w, 500);
  // As Linux counts them (tcp_snd_una_update / tcp_rcv_nxt_update): the FIN is a byte of
  // sequence space both ways, and the connecting side's bytes_acked counts its SYN too.
  const ia = info(ta, c);
  const ib = info(tb, s);
  assert.equal(ia.tcpi_bytes_received, down.length + 1);
  assert.equal(ib.tcpi_bytes_received, up.length + 1);
  assert.equal(ia.tcpi_bytes_acked, up.length + 2);
  assert.equal(ib.tcpi_bytes_acked, down.length + 1);
  assert.equal(ia.tcpi_total_retrans, 0);
  // Both sent FIN and both saw the other's: the one whose FIN went second is in TIME_WAIT or
  // both are (simultaneous), and neither socket is still open for business.
  for (const st of [state(ta, c), state(tb, s)]) assert.ok(['TIME_WAIT', 'CLOSE'].includes(st), st);
  ta.close(c);
  tb.close(s);
});

test('half-close: after SHUT_WR the peer reads EOF and keeps sending; the closer keeps reading', async () => {
  const { w, a, ta, tb } = pair(13, { delay: 10 });
  const l = listenOn(tb, '10.0.0.2', 7001);
  const { c, s } = await connectPair(ta, tb, l, '10.0.0.2', 7001);
  await writeAll(ta, c, enc('request'));
  ta.shutdown(c, SHUT_WR);
  // b reads the request and then end of file.
  assert.equal(dec(await readN(tb, s, 7)), 'request');
  const buf = new Uint8Array(16);
  assert.equal(await tb.read(s, buf), 0);
  await sleep(w, 300);
  assert.equal(state(ta, c), 'FIN_WAIT2');
  assert.equal(state(tb, s), 'CLOSE_WAIT');
  // a may not send any more.
  assert.equal(await outcome(ta.write(c, enc('x'))), 'EPIPE');
  // b answers at length from CLOSE_WAIT.
  const reply = pattern(300_000, 9);
  await writeAll(tb, s, reply);
  await sleep(w, 2);
  assert.equal(state(tb, s), 'CLOSE_WAIT');
  tb.close(s);
  const got = await readAll(ta, c);
  assert.ok(Buffer.from(got).equals(Buffer.from(reply)), 'the reply arrived whole after the half-close');
  // As on Linux, the FIN in FIN_WAIT2 hands the connection to a TIME_WAIT sock (tcp_time_wait)
  // and the socket the fd holds is left in CLOSE.
  assert.equal(state(ta, c), 'CLOSE');
  assert.deepEqual(
    tableLines(a).map((l) => l.split(' ')[0]),
    ['TIME_WAIT'],
  );
  // A read after end of file keeps returning 0.
  assert.equal(await ta.recv(c, buf, MSG_DONTWAIT), 0);
  ta.close(c);
});

test('simultaneous open: two bound sockets connect to each other at the same instant', async () => {
  const { w, a, b, ta, tb } = pair(14, { delay: 10 });
  const cap = a.capture('eth0');
  const x = ta.socket(AF_INET, SOCK_STREAM, 0);
  const y = tb.socket(AF_INET, SOCK_STREAM, 0);
  ta.bind(x, sin('10.0.0.1', 5000));
  tb.bind(y, sin('10.0.0.2', 6000));
  const cx = ta.connect(x, sin('10.0.0.2', 6000));
  const cy = tb.connect(y, sin('10.0.0.1', 5000));
  await sleep(w, 5);
  assert.equal(state(ta, x), 'SYN_SENT');
  assert.equal(state(tb, y), 'SYN_SENT');
  await sleep(w, 10);
  // Each has received the other's SYN while in SYN_SENT: SYN_RECV, and a SYN-ACK is sent.
  assert.equal(state(ta, x), 'SYN_RECV');
  assert.equal(state(tb, y), 'SYN_RECV');
  assert.deepEqual(await Promise.all([outcome(cx), outcome(cy)]), ['OK', 'OK']);
  assert.equal(state(ta, x), 'ESTABLISHED');
  assert.equal(state(tb, y), 'ESTABLISHED');
  assert.deepEqual(tableLines(a), ['ESTABLISHED 10.0.0.1:5000 10.0.0.2:6000']);
  assert.deepEqual(tableLines(b), ['ESTABLISHED 10.0.0.2:6000 10.0.0.1:5000']);
  const flags = segments(cap).map((s) => `${s.out ? '>' : '<'} ${s.f}`);
  assert.deepEqual(flags.slice(0, 4).sort(), ['< S', '< S.', '> S', '> S.'].sort());
  assert.ok(!flags.includes('> R') && !flags.includes('< R'), `no reset: ${flags.join(' ')}`);
  // The connection carries data both ways.
  await writeAll(ta, x, enc('from a'));
  await writeAll(tb, y, enc('from b'));
  assert.equal(dec(await readN(tb, y, 6)), 'from a');
  assert.equal(dec(await readN(ta, x, 6)), 'from b');
  ta.close(x);
  tb.close(y);
});
