// TCP packet lines without a kernel TCP: the segments a line injects are read back with the wire
// parser, and hand-made segments stand for what a host sends.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScript } from '../../src/tools/packetdrill/parser.js';
import type { TcpPacket as TcpSpec } from '../../src/tools/packetdrill/ast.js';
import {
  PdSocket,
  aggregate,
  buildInbound,
  claimOutbound,
  describeTcp,
  segmentOf,
  specOptionBytes,
  tcpPacket,
  toScriptSpace,
  verifyFragment,
  verifyOutbound,
  walkOptions,
  type Endpoint,
  type TcpConfig,
} from '../../src/tools/packetdrill/tcp_packets.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import {
  TcpPacket,
  TcpRepr,
  TCPHDR_ACK,
  TCPHDR_FIN,
  TCPHDR_PSH,
  TCPHDR_SYN,
  type TcpReprParse,
} from '../../src/wire/tcp.js';

const LOCAL = 0xc0a80001; // 192.168.0.1
const REMOTE = 0xc0000201; // 192.0.2.1
const CFG: TcpConfig = {
  localIp: LOCAL,
  remoteIp: REMOTE,
  mss: 0,
  tsEcrScaled: false,
  tsTickUsecs: 0,
  strictSegments: false,
};
const VCFG = { ...CFG, toleranceUsecs: 4000, tolerancePercent: 12.5 };

/** The TCP line of a one-line script. */
function line(text: string): TcpSpec {
  const e = parseScript(`0 ${text}\n`).events[0]!;
  if (e.kind !== 'packet' || e.packet.protocol !== 'tcp') throw new Error('not a TCP line');
  return e.packet;
}

/** A child socket as a listener makes one for `< S`. */
function passive(remoteIsn = 0): PdSocket {
  const s = new PdSocket(6);
  s.state = 'packet-received';
  s.local.ip = LOCAL;
  s.local.port = 8080;
  s.remote.ip = REMOTE;
  s.remote.port = 48879;
  s.remoteIsn = remoteIsn;
  return s;
}

function parse(ip: Uint8Array): TcpReprParse & { ip: Ipv4Packet; tcp: TcpPacket } {
  const p = new Ipv4Packet(ip);
  assert.equal(p.check(), null);
  const t = new TcpPacket(ip, p.payloadOff, p.payloadLen);
  const r = TcpRepr.parse(t, p.src, p.dst);
  assert.equal(typeof r, 'object', String(r));
  return { ...(r as TcpReprParse), ip: p, tcp: t };
}

const L: Endpoint = { ip: LOCAL, port: 8080 };
const R: Endpoint = { ip: REMOTE, port: 48879 };

/** A segment the host under test might send. */
function hostSends(f: {
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: string;
  len?: number;
  src?: Endpoint;
  dst?: Endpoint;
}): Uint8Array {
  return tcpPacket(f.src ?? L, f.dst ?? R, {
    seq: f.seq,
    ack: f.ack ?? 0,
    flags: f.flags,
    window: f.window ?? 65535,
    urg: 0,
    options: Buffer.from(f.options ?? '', 'hex'),
    payload: new Uint8Array(f.len ?? 0),
    tos: 0,
    ttl: 64,
  });
}

test('an inbound SYN is sent as written, with its options and checksums', () => {
  const s = passive(0);
  const [pkt, ...more] = buildInbound(
    line('< S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>'),
    s,
    CFG,
  );
  assert.equal(more.length, 0);
  const { repr, ip } = parse(pkt!);
  assert.equal(ip.src, REMOTE);
  assert.equal(ip.dst, LOCAL);
  assert.equal(ip.ttl, 255);
  assert.equal(repr.srcPort, 48879);
  assert.equal(repr.dstPort, 8080);
  assert.equal(repr.seq, 0);
  assert.equal(repr.flags, TCPHDR_SYN);
  assert.equal(repr.window, 32792);
  assert.deepEqual(repr.options, [
    { kind: 'mss', mss: 1000 },
    { kind: 'sack-permitted' },
    { kind: 'nop' },
    { kind: 'nop' },
    { kind: 'nop' },
    { kind: 'wscale', shift: 7 },
  ]);
});

test('passive open: the SYN-ACK teaches the live ISN; later lines are relative to both ISNs', () => {
  const s = passive(1000);
  // `< S 1000:1000(0)`: the remote ISN is the script's.
  const synack = line('> S. 0:0(0) ack 1001 <mss 1460,nop,wscale 8>');
  s.scriptLocalIsn = 0;
  const live = segmentOf(
    hostSends({
      seq: 0x9abcdef0,
      ack: 1001,
      flags: TCPHDR_SYN | TCPHDR_ACK,
      options: '020405b4 01030308'.replace(/ /g, ''),
    }),
  );
  assert.equal(claimOutbound(s, live), true);
  const mapped = toScriptSpace(synack, s, live);
  assert.equal(s.state, 'synack-sent');
  assert.equal(s.liveLocalIsn, 0x9abcdef0);
  assert.equal(verifyOutbound(synack, s, mapped, VCFG, 0), null);
  // The handshake's ACK: seq offset by the remote ISN, ack by the live local ISN.
  const [ack] = buildInbound(line('< . 1:1(0) ack 1 win 257'), s, CFG);
  assert.equal(s.state, 'synack-acked');
  const r = parse(ack!).repr;
  assert.equal(r.seq, 1001);
  assert.equal(r.ackSeq, 0x9abcdef1);
  // Data from the host, mapped back to script space.
  const data = line('> P. 1:1001(1000) ack 1');
  const live2 = segmentOf(
    hostSends({ seq: 0x9abcdef1, ack: 1001, flags: TCPHDR_PSH | TCPHDR_ACK, len: 1000 }),
  );
  assert.equal(claimOutbound(s, live2), true);
  assert.equal(verifyOutbound(data, s, toScriptSpace(data, s, live2), VCFG, 0), null);
});

test('each header field is compared, with packetdrill messages', () => {
  const s = passive(0);
  s.state = 'synack-acked';
  s.liveLocalIsn = 5000;
  const check = (text: string, f: Parameters<typeof hostSends>[0]): string | null => {
    const spec = line(text);
    return verifyOutbound(spec, s, toScriptSpace(spec, s, segmentOf(hostSends(f))), VCFG, 0);
  };
  const ok = { seq: 5001, ack: 1, flags: TCPHDR_ACK, window: 500 };
  assert.equal(check('> . 1:1(0) ack 1 win 500', ok), null);
  assert.equal(check('> . 1:1(0) ack 1', ok), null, 'no win: not checked');
  assert.equal(
    check('> . 1:1(0) ack 2 win 500', ok),
    'live packet field tcp_ack_seq: expected: 2 (0x2) vs actual: 1 (0x1)',
  );
  assert.equal(
    check('> . 2:2(0) ack 1', ok),
    'live packet field tcp_seq: expected: 2 (0x2) vs actual: 1 (0x1)',
  );
  assert.equal(
    check('> . 1:1(0) ack 1 win 501', ok),
    'live packet field tcp_window: expected: 501 (0x1f5) vs actual: 500 (0x1f4)',
  );
  assert.equal(
    check('> P. 1:1(0) ack 1', ok),
    'live packet field tcp_psh: expected: 1 (0x1) vs actual: 0 (0x0)',
  );
  assert.equal(
    check('> F. 1:1(0) ack 1', ok),
    'live packet field tcp_fin: expected: 1 (0x1) vs actual: 0 (0x0)',
  );
  assert.equal(
    check('> R. 1:1(0) ack 1', ok),
    'live packet field tcp_rst: expected: 1 (0x1) vs actual: 0 (0x0)',
  );
  assert.equal(
    check('> . 1:11(10) ack 1', ok),
    'live packet field ipv4_total_length: expected: 50 (0x32) vs actual: 40 (0x28)',
  );
  assert.equal(
    check('> . 1:1(0) ack 1 <nop,nop,TS val 1 ecr 0>', ok),
    'live packet field ipv4_total_length: expected: 52 (0x34) vs actual: 40 (0x28)',
  );
  assert.equal(
    check('> E. 1:1(0) ack 1', ok),
    'live packet field tcp_ece: expected: 1 (0x1) vs actual: 0 (0x0)',
  );
  assert.equal(
    check('> [ect0] . 1:1(0) ack 1', ok),
    'live packet field ip_ecn: expected: 2 (0x2) vs actual: 0 (0x0)',
  );
  // Data must be the zeros the script's buffers hold.
  const spec = line('> P. 1:4(3) ack 1');
  const pkt = hostSends({ seq: 5001, ack: 1, flags: TCPHDR_PSH | TCPHDR_ACK, len: 3 });
  pkt[pkt.length - 1] = 0x41;
  assert.equal(
    verifyOutbound(spec, s, toScriptSpace(spec, s, segmentOf(pkt)), VCFG, 0),
    'incorrect outbound data payload',
  );
});

test('options: layout and values checked, `<...>` skips them, TS val unchecked by default', () => {
  const s = passive(0);
  s.state = 'synack-acked';
  s.liveLocalIsn = 77;
  const opts = '0101080a' + '00001234' + '00000000' + '01010402';
  const check = (text: string, hexOpts: string): string | null => {
    const spec = line(text);
    const pkt = hostSends({ seq: 78, ack: 1, flags: TCPHDR_ACK, options: hexOpts });
    return verifyOutbound(spec, s, toScriptSpace(spec, s, segmentOf(pkt)), VCFG, 0);
  };
  assert.equal(check('> . 1:1(0) ack 1 <nop,nop,TS val 5 ecr 0,nop,nop,sackOK>', opts), null);
  assert.equal(check('> . 1:1(0) ack 1 <...>', opts), null);
  assert.equal(
    check('> . 1:1(0) ack 1 <nop,nop,TS val 5 ecr 0,nop,nop,nop,nop>', opts),
    'bad outbound TCP options',
  );
  assert.equal(
    check('> . 1:1(0) ack 1 <mss 1460,nop,nop,nop,nop,nop,nop,nop,nop>', '020405b4' + '0101010101010101'),
    null,
  );
  assert.equal(
    check('> . 1:1(0) ack 1 <mss 1400,nop,nop,nop,nop,nop,nop,nop,nop>', '020405b4' + '0101010101010101'),
    'bad value in outbound TCP option (kind=2): expected: mss 1400 actual: mss 1460',
  );
  // With --tcp_ts_tick_usecs the TS val (mapped to script space) must be within the tolerance.
  const tick = { ...VCFG, tsTickUsecs: 1000 };
  const spec = line('> . 1:1(0) ack 1 <nop,nop,TS val 100 ecr 0>');
  const mk = (val: number) =>
    toScriptSpace(
      spec,
      s,
      segmentOf(
        hostSends({
          seq: 78,
          ack: 1,
          flags: TCPHDR_ACK,
          options: '0101080a' + val.toString(16).padStart(8, '0') + '00000000',
        }),
      ),
    );
  const s2 = passive(0);
  Object.assign(s2, { state: 'synack-acked', liveLocalIsn: 77 });
  assert.equal(verifyOutbound(spec, s2, mk(9000), tick, 0), null);
  const later = line('> . 1:1(0) ack 1 <nop,nop,TS val 110 ecr 0>');
  const seg2 = toScriptSpace(
    later,
    s2,
    segmentOf(
      hostSends({
        seq: 78,
        ack: 1,
        flags: TCPHDR_ACK,
        options: '0101080a' + (9000 + 20).toString(16).padStart(8, '0') + '00000000',
      }),
    ),
  );
  assert.equal(verifyOutbound(later, s2, seg2, tick, 0), 'bad outbound TCP timestamp value, tolerance 4000');
});

test('TS ecr of inbound lines names the val the host sent; SACK blocks are offset', () => {
  const s = passive(0);
  s.state = 'synack-acked';
  s.liveLocalIsn = 1000000;
  const out = line('> . 1:1(0) ack 1 <nop,nop,TS val 100 ecr 0>');
  const pkt = hostSends({
    seq: 1000001,
    ack: 1,
    flags: TCPHDR_ACK,
    options: '0101080a' + '0000beef' + '00000000',
  });
  assert.equal(verifyOutbound(out, s, toScriptSpace(out, s, segmentOf(pkt)), VCFG, 0), null);
  const [inb] = buildInbound(
    line('< . 1:1(0) ack 1 win 257 <nop,nop,TS val 700 ecr 100,nop,nop,sack 1001:2001>'),
    s,
    CFG,
  );
  const { repr } = parse(inb!);
  assert.deepEqual(repr.options, [
    { kind: 'nop' },
    { kind: 'nop' },
    { kind: 'timestamp', val: 700, ecr: 0xbeef },
    { kind: 'nop' },
    { kind: 'nop' },
    { kind: 'sack', blocks: [{ left: 1001001, right: 1002001 }] },
  ]);
  // An ecr the host never sent: packetdrill's error, unless --tcp_ts_ecr_scaled interpolates.
  assert.throws(
    () => buildInbound(line('< . 1:1(0) ack 1 win 257 <nop,nop,TS val 700 ecr 150>'), s, CFG),
    /unable to infer live TS ecr for script TS ecr 150; {2}no matching or preceding outbound TS val/,
  );
  const [scaled] = buildInbound(line('< . 1:1(0) ack 1 win 257 <nop,nop,TS val 700 ecr 150>'), s, {
    ...CFG,
    tsEcrScaled: true,
  });
  const ts = parse(scaled!).repr.options[2];
  assert.deepEqual(ts, { kind: 'timestamp', val: 700, ecr: 0xbeef + 50 });
});

test('active open: the SYN of a connecting socket is claimed and gives the ISN; SYN-ACK acks are offset', () => {
  const s = new PdSocket(6);
  s.state = 'syn-sent';
  s.remote.ip = REMOTE;
  s.remote.port = 8080;
  s.scriptLocalIsn = 0;
  const other = segmentOf(
    hostSends({ seq: 1, flags: TCPHDR_SYN, src: { ip: LOCAL, port: 40000 }, dst: { ip: REMOTE, port: 9 } }),
  );
  assert.equal(claimOutbound(s, other), false, 'another destination is not ours');
  const syn = segmentOf(
    hostSends({
      seq: 0x11111111,
      flags: TCPHDR_SYN,
      src: { ip: LOCAL, port: 40001 },
      dst: { ip: REMOTE, port: 8080 },
      options: '020405b4',
    }),
  );
  assert.equal(claimOutbound(s, syn), true);
  assert.deepEqual(s.local, { ip: LOCAL, port: 40001 });
  assert.equal(s.liveLocalIsn, 0x11111111);
  const spec = line('> S 0:0(0) <mss 1460>');
  assert.equal(verifyOutbound(spec, s, toScriptSpace(spec, s, syn), VCFG, 0), null);
  const [synack] = buildInbound(line('< S. 0:0(0) ack 1 win 5792 <mss 1460>'), s, CFG);
  assert.equal(s.state, 'syn-acked');
  const r = parse(synack!).repr;
  assert.equal(r.seq, 0);
  assert.equal(r.ackSeq, 0x11111112);
  assert.equal(r.dstPort, 40001);
  assert.equal(r.srcPort, 8080);
});

test('aggregation: contiguous segments make one line; a gap or other flags do not', () => {
  const s = passive(0);
  s.state = 'synack-acked';
  s.liveLocalIsn = 0;
  const spec = line('> P. 1:3001(3000) ack 1');
  const parts = [0, 1, 2].map((k) =>
    toScriptSpace(
      spec,
      s,
      segmentOf(
        hostSends({ seq: 1 + 1000 * k, ack: 1, flags: TCPHDR_ACK | (k === 2 ? TCPHDR_PSH : 0), len: 1000 }),
      ),
    ),
  );
  assert.equal(verifyFragment(parts[1]!, parts[0]!, 1000, 3000), null);
  assert.equal(verifyFragment(parts[2]!, parts[1]!, 2000, 3000), null);
  const agg = aggregate(parts);
  assert.equal(describeTcp(agg), '8080>48879 P. 1:3001(3000) ack 1 win 65535');
  assert.equal(verifyOutbound(spec, s, agg, VCFG, 0), null);
  const gap = toScriptSpace(
    spec,
    s,
    segmentOf(hostSends({ seq: 2001, ack: 1, flags: TCPHDR_ACK, len: 1000 })),
  );
  assert.equal(
    verifyFragment(gap, parts[0]!, 1000, 3000),
    'live packet field tcp_seq: expected: 1001 (0x3e9) vs actual: 2001 (0x7d1)',
  );
  const fin = toScriptSpace(
    spec,
    s,
    segmentOf(hostSends({ seq: 1001, ack: 2, flags: TCPHDR_ACK | TCPHDR_FIN, len: 1000 })),
  );
  assert.equal(
    verifyFragment(fin, parts[0]!, 1000, 3000),
    'live packet field tcp_ack_seq: expected: 1 (0x1) vs actual: 2 (0x2)',
  );
  const short = toScriptSpace(
    spec,
    s,
    segmentOf(hostSends({ seq: 1001, ack: 1, flags: TCPHDR_ACK, len: 500 })),
  );
  assert.match(
    verifyFragment(short, parts[0]!, 1000, 3000)!,
    /^fragment payload: expected 1000 bytes vs actual 500 bytes/,
  );
});

test('--mss splits a large inbound segment into MSS-sized ones, PSH and FIN on the last', () => {
  const s = passive(0);
  s.state = 'synack-acked';
  s.liveLocalIsn = 10;
  const pkts = buildInbound(line('< FP. 1:2501(2500) ack 1 win 257'), s, { ...CFG, mss: 1000 });
  const got = pkts.map((p) => {
    const r = parse(p).repr;
    return [r.seq, r.payloadLen, r.flags];
  });
  assert.deepEqual(got, [
    [1, 1000, TCPHDR_ACK],
    [1001, 1000, TCPHDR_ACK],
    [2001, 500, TCPHDR_ACK | TCPHDR_PSH | TCPHDR_FIN],
  ]);
  assert.equal(buildInbound(line('< P. 1:1001(1000) ack 1 win 257'), s, { ...CFG, mss: 1000 }).length, 1);
});

test('script option bytes: every option form, packetdrill lengths; padding is checked', () => {
  const spec = line(
    '< S 0:0(0) win 1 <mss 1460,sackOK,TS val 1 ecr 2,nop,wscale 7,FO 0011223344556677,eol,eol>',
  );
  const b = specOptionBytes(spec.options!);
  assert.equal(
    Buffer.from(b).toString('hex'),
    '020405b40402080a00000001000000020103030722' + '0a0011223344556677' + '0000',
  );
  const w = walkOptions(b);
  assert.equal(w.error, null);
  assert.deepEqual(
    w.list.map((o) => o.kind),
    [2, 4, 8, 1, 3, 34, 0, 0],
  );
  const md5 = specOptionBytes(
    line('< S 0:0(0) win 1 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>').options!,
  );
  assert.equal(md5.length, 20);
  assert.equal(md5[0], 19);
  assert.equal(md5[1], 18);
  const exp = specOptionBytes(line('< S 0:0(0) win 1 <FOEXP aabbccdd,nop,nop>').options!);
  assert.equal(Buffer.from(exp).toString('hex'), 'fe08f989aabbccdd0101');
  assert.throws(
    () => buildInbound(line('< S 0:0(0) win 1 <mss 1460,nop>'), passive(), CFG),
    /TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: 1 excess bytes/,
  );
  assert.throws(
    () => buildInbound(line('< S 0:0(0)'), passive(), CFG),
    /window must be specified for inbound packets/,
  );
});
