// RFC 5961 on an established connection: an off-path attacker who knows the 4-tuple but not the
// exact sequence numbers injects RSTs, SYNs and data. Only a RST at exactly rcv_nxt may end the
// connection (§3.2); any other in-window RST or any SYN draws a challenge ACK (§3.2, §4.2);
// data with a wrong sequence or an unacceptable ACK (§5.2) is dropped. The bytes the
// application reads are exactly what the peer sent.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { TCPHDR_ACK, TCPHDR_RST, TCPHDR_SYN, TCPHDR_PSH } from '../../src/uapi/tcp.js';
import type { SockaddrIn } from '../../src/uapi/in.js';
import {
  pair,
  sleep,
  state,
  tableLines,
  listenOn,
  connectPair,
  writeAll,
  readN,
  pattern,
  segments,
  outcome,
  mib,
  forgeIp,
  injectIp,
  enc,
  dec,
  haltWorlds,
  type Seg,
  type Forge,
} from './scenario_helpers.js';

afterEach(haltWorlds);

const PORT = 443;

async function victim(seed: number) {
  const p = pair(seed, { delay: 10 });
  const l = listenOn(p.tb, '10.0.0.2', PORT);
  const { c, s } = await connectPair(p.ta, p.tb, l, '10.0.0.2', PORT);
  const cap = p.b.capture('eth0');
  // Traffic both ways so both sides have data in flight history.
  const up = pattern(50_000, seed);
  await writeAll(p.ta, c, up);
  assert.ok(Buffer.from(await readN(p.tb, s, up.length)).equals(Buffer.from(up)));
  await writeAll(p.tb, s, enc('ok'));
  assert.equal(dec(await readN(p.ta, c, 2)), 'ok');
  await sleep(p.w, 1_000);
  const cport = (p.ta.getsockname(c) as SockaddrIn).port;

  /** b's view now: rcv_nxt (what it expects from a next), snd_nxt, and the latest timestamps. */
  const view = () => {
    const segs = segments(cap);
    const fromA = segs.filter((x: Seg) => !x.out && x.sport === cport && !(x.flags & TCPHDR_RST));
    const fromB = segs.filter((x: Seg) => x.out && x.dport === cport);
    const la = fromA[fromA.length - 1];
    const lb = fromB[fromB.length - 1];
    return {
      rcvNxt: (la.seq + la.len) >>> 0,
      sndNxt: (lb.seq + lb.len) >>> 0,
      tsA: la.ts!.val,
      tsB: lb.ts!.val,
    };
  };
  // b's view before any injection (the attacker's guesses are relative to it).
  const base = view();
  /** Put a segment "from a" on b's wire, with a plausible timestamp. */
  const inject = (f: Omit<Forge, 'src' | 'dst' | 'sport' | 'dport'>): void => {
    const v = base;
    injectIp(
      p.link.b,
      forgeIp({
        src: '10.0.0.1',
        dst: '10.0.0.2',
        sport: cport,
        dport: PORT,
        options: [
          { kind: 'nop' },
          { kind: 'nop' },
          { kind: 'timestamp', val: (v.tsA + 1) >>> 0, ecr: v.tsB },
        ],
        ...f,
      }),
    );
  };
  /** What b sent to a since `since` (ns). */
  const sentSince = (since: number) =>
    segments(cap).filter((x) => x.out && x.dport === cport && x.tNs >= since);
  return { ...p, l, c, s, cport, cap, view: () => base, inject, sentSince };
}

test('an in-window RST not at rcv_nxt draws a challenge ACK and the connection lives', async () => {
  const v = await victim(51);
  const { w, b, ta, tb, c, s } = v;
  const before = v.view();
  const challenges = mib(b, 'TcpExt', 'TCPChallengeACK');
  const t0 = w.clock.now();
  v.inject({ seq: (before.rcvNxt + 1000) >>> 0, flags: TCPHDR_RST });
  await sleep(w, 20); // b's answer has left through the link's 10 ms delay
  assert.equal(state(tb, s), 'ESTABLISHED');
  assert.equal(mib(b, 'TcpExt', 'TCPChallengeACK'), challenges + 1);
  const ch = v.sentSince(t0);
  assert.equal(ch.length, 1, 'one challenge ACK');
  assert.equal(ch[0].f, '.');
  assert.equal(ch[0].seq, before.sndNxt);
  assert.equal(ch[0].ack, before.rcvNxt, 'it acknowledges rcv_nxt, telling the real peer where we are');
  // The connection carries on both ways.
  await writeAll(ta, c, enc('still here'));
  assert.equal(dec(await readN(tb, s, 10)), 'still here');
  await writeAll(tb, s, enc('me too'));
  assert.equal(dec(await readN(ta, c, 6)), 'me too');
  assert.equal(state(ta, c), 'ESTABLISHED');
});

test('a RST outside the window is dropped without an answer', async () => {
  const v = await victim(52);
  const { w, b, tb, s } = v;
  const before = v.view();
  const challenges = mib(b, 'TcpExt', 'TCPChallengeACK');
  const t0 = w.clock.now();
  v.inject({ seq: (before.rcvNxt + 0x40000000) >>> 0, flags: TCPHDR_RST });
  v.inject({ seq: (before.rcvNxt - 0x40000000) >>> 0, flags: TCPHDR_RST });
  await sleep(w, 1_000);
  assert.equal(state(tb, s), 'ESTABLISHED');
  assert.equal(mib(b, 'TcpExt', 'TCPChallengeACK'), challenges);
  assert.equal(v.sentSince(t0).length, 0);
});

test('a SYN on an established connection draws a challenge ACK and changes nothing', async () => {
  const v = await victim(53);
  const { w, b, ta, tb, c, s } = v;
  const before = v.view();
  const t0 = w.clock.now();
  for (const seq of [before.rcvNxt, (before.rcvNxt + 5000) >>> 0, (before.rcvNxt + 0x7000_0000) >>> 0]) {
    v.inject({ seq, flags: TCPHDR_SYN, options: [{ kind: 'mss', mss: 536 }] });
    await sleep(w, 1_000); // beyond tcp_invalid_ratelimit (500 ms) between challenge ACKs
  }
  assert.equal(state(tb, s), 'ESTABLISHED');
  assert.equal(mib(b, 'TcpExt', 'TCPSYNChallenge'), 3);
  const acks = v.sentSince(t0);
  assert.equal(acks.length, 3, 'a challenge ACK for each SYN');
  for (const x of acks) {
    assert.equal(x.f, '.');
    assert.equal(x.ack, before.rcvNxt);
  }
  await writeAll(ta, c, enc('after syn'));
  assert.equal(dec(await readN(tb, s, 9)), 'after syn');
  await writeAll(tb, s, enc('fine'));
  assert.equal(dec(await readN(ta, c, 4)), 'fine');
});

test('data with a wrong sequence number or an unacceptable ACK never reaches the application', async () => {
  const v = await victim(54);
  const { w, b, ta, tb, c, s } = v;
  const before = v.view();
  const evil = enc('EVIL-EVIL-EVIL-EVIL');
  // Entirely old data (already received), data far beyond the window, data at rcv_nxt whose
  // ACK is too old (more than max_window below snd_una, RFC 5961 §5.2) and data acknowledging
  // bytes b never sent.
  const cases: [number, number][] = [
    [(before.rcvNxt - 30_000) >>> 0, before.sndNxt],
    [(before.rcvNxt + 0x2000_0000) >>> 0, before.sndNxt],
    [before.rcvNxt, (before.sndNxt - 0x4000_0000) >>> 0],
    [before.rcvNxt, (before.sndNxt + 0x10_0000) >>> 0],
  ];
  for (const [seq, ack] of cases) {
    v.inject({ seq, ack, flags: TCPHDR_ACK | TCPHDR_PSH, data: evil });
    await sleep(w, 1_000);
  }
  assert.equal(state(tb, s), 'ESTABLISHED');
  assert.equal(tb.ioctl(s, 0x541b /* FIONREAD */), 0, 'nothing queued for reading');
  assert.ok(mib(b, 'TcpExt', 'TCPChallengeACK') >= 1, 'the too-old ACK drew a challenge ACK');
  // The real stream continues exactly where it was.
  const more = pattern(100_000, 540);
  await writeAll(ta, c, more);
  const got = await readN(tb, s, more.length);
  assert.ok(Buffer.from(got).equals(Buffer.from(more)), 'no injected byte in the stream');
  await writeAll(tb, s, enc('clean'));
  assert.equal(dec(await readN(ta, c, 5)), 'clean');
});

test('a RST at exactly rcv_nxt ends the connection: ECONNRESET', async () => {
  const v = await victim(55);
  const { b, tb, s } = v;
  const before = v.view();
  const pending = outcome(tb.read(s, new Uint8Array(16)));
  v.inject({ seq: before.rcvNxt, flags: TCPHDR_RST });
  assert.equal(await pending, 'ECONNRESET');
  assert.equal(state(tb, s), 'CLOSE');
  assert.deepEqual(tableLines(b), [`LISTEN 10.0.0.2:${PORT} 0.0.0.0:0`]);
  assert.equal(mib(b, 'Tcp', 'EstabResets'), 1);
});
